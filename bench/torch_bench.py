#!/usr/bin/python3
"""Trains the same CNN in the project (C++ libtorch, the `cnn` family) and in python3-torch.

    nice -n 5 /usr/bin/python3 bench/torch_bench.py [--build DIR] [--data DIR] [--epochs N]
                                                     [--threads N] [--batch N] [--target ACC] [--seeds N]
                                                     [--json FILE]

Both sides train the network of bench/cnn_bench_main.cpp on DIR/train.csv (pixels
scaled by the training maximum) with the same batch size, AdamW setting, epochs and
threads, twice each:

1. training only, for images per second (epochs x training rows / seconds);
2. with DIR/test.csv scored after every epoch, for the accuracy curve and the
   seconds until the test accuracy first reaches --target (default 0.97).

The project side is DIR_BUILD/bench/cnn_bench (`cmake --build DIR --target cnn_bench`);
runs one after the other with the python side on the same machine, for each of
--seeds seeds (the project first for even seeds, python first for odd ones). Prints
a row per seed and side, the median ratio project / python3-torch of images per
second (> 1: the project is faster), and each side's median time to --target (one
seed's time hangs on an epoch or two). Python's own overhead per batch is part of
what is timed, as it is part of any training loop written in Python.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_images(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [r for r in reader]
    label_at = header.index("label")
    pixels = [i for i, h in enumerate(header) if h.startswith("pixel_")]
    side = int(round(len(pixels) ** 0.5))
    x = np.array([[float(r[i]) for i in pixels] for r in rows], dtype=np.float32)
    y = [r[label_at] for r in rows]
    return x, y, side


class Net(nn.Module):
    """2 stages of 3x3 conv (32, 64) + batch norm + ReLU + 2x2 max pool, dense 128 head."""

    def __init__(self, side, classes):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.norm0 = nn.BatchNorm2d(32)
        self.conv1 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.norm1 = nn.BatchNorm2d(64)
        s = side // 2 // 2
        self.dense = nn.Linear(64 * s * s, 128)
        self.out = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.norm0(self.conv0(x))), 2)
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        x = F.dropout(x.flatten(1), 0.25, self.training)
        x = F.dropout(F.relu(self.dense(x)), 0.25, self.training)
        return self.out(x)


def accuracy(model, x, y):
    model.eval()
    right = 0
    with torch.no_grad():
        for b in range(0, len(x), 512):
            right += (model(x[b:b + 512]).argmax(1) == y[b:b + 512]).sum().item()
    return right / len(x)


def train(x, y, side, classes, epochs, batch, seed, test=None, target=0.97):
    torch.manual_seed(seed)
    model = Net(side, classes)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
    n = len(x)
    acc, at = [], []
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(n)
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            if len(idx) < 2:
                continue
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        if test is not None:
            acc.append(accuracy(model, *test))
            at.append(time.perf_counter() - start)
    seconds = time.perf_counter() - start
    to_target = next((t for a, t in zip(acc, at) if a >= target), None)
    return model, seconds, acc, at, to_target


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build folder holding bench/cnn_bench (default: build)")
    ap.add_argument("--data", default="../shared/datasets/opencv_digits")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--seeds", type=int, default=1, help="seeds to run on both sides, one after the other; "
                    "times to the target are reported as medians (default 1)")
    ap.add_argument("--target", type=float, default=0.97)
    ap.add_argument("--json", help="also write both result lines to this file")
    args = ap.parse_args()

    binary = os.path.join(args.build, "bench", "cnn_bench")
    if not os.access(binary, os.X_OK):
        sys.exit(f"torch_bench: no {binary}; build it with: cmake --build {args.build} --target cnn_bench")

    torch.set_num_threads(args.threads)
    xtr, ytr, side = read_images(os.path.join(args.data, "train.csv"))
    xte, yte, _ = read_images(os.path.join(args.data, "test.csv"))
    classes = sorted(set(ytr))
    code = {c: i for i, c in enumerate(classes)}
    scale = float(xtr.max()) or 1.0  # the training maximum, as the project's image encoding
    to_tensor = lambda a: torch.from_numpy(a / scale).view(-1, 1, side, side)
    xtr_t, xte_t = to_tensor(xtr), to_tensor(xte)
    ytr_t = torch.tensor([code[c] for c in ytr])
    yte_t = torch.tensor([code.get(c, -1) for c in yte])

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print(f"{args.data}: {len(xtr)} training images {side}x{side}, {args.epochs} epochs, batch {args.batch}, "
          f"{args.threads} threads, seeds {args.seed}..{args.seed + args.seeds - 1}")
    print(f"| seed | peer | images/s (train only) | train-only s | test acc | best test acc (per-epoch run) "
          f"| s to {args.target} |")
    print("|---|---|---|---|---|---|---|")
    results = []  # (ours, theirs) per seed, run one after the other
    for seed in range(args.seed, args.seed + args.seeds):
        cmd = [binary, args.data, "--epochs", str(args.epochs), "--threads", str(args.threads), "--batch",
               str(args.batch), "--seed", str(seed), "--target", str(args.target)]
        project = lambda: json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        if seed % 2 == 0:  # who goes first alternates, so neither side always gets the cooler machine
            ours = project()
        model, only_s, _, _, _ = train(xtr_t, ytr_t, side, len(classes), args.epochs, args.batch, seed)
        only_acc = accuracy(model, xte_t, yte_t)
        _, _, acc, at, to_target = train(xtr_t, ytr_t, side, len(classes), args.epochs, args.batch, seed,
                                         (xte_t, yte_t), args.target)
        if seed % 2 == 1:
            ours = project()
        theirs = {"peer": "python3-torch " + torch.__version__, "seed": seed, "train_rows": len(xtr),
                  "epochs": args.epochs, "batch_size": args.batch, "threads": args.threads, "train_only_s": only_s,
                  "images_per_s": len(xtr) * args.epochs / only_s, "train_only_test_accuracy": only_acc,
                  "valid_accuracy": acc, "epoch_end_s": at, "target_accuracy": args.target,
                  "seconds_to_target": to_target}
        ours["seed"] = seed
        results.append((ours, theirs))
        for r in (ours, theirs):
            print(f"| {seed} | {r['peer']} | {r['images_per_s']:.0f} | {r['train_only_s']:.2f} | "
                  f"{r['train_only_test_accuracy']:.4f} | {max(r['valid_accuracy']):.4f} | "
                  f"{fmt(r['seconds_to_target'], '.2f')} |", flush=True)

    def median_time(rs):
        """Median seconds to the target; a run that never reached it counts as infinitely slow."""
        v = sorted(r["seconds_to_target"] if r["seconds_to_target"] is not None else float("inf") for r in rs)
        return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2

    ours_all, theirs_all = [o for o, _ in results], [t for _, t in results]
    ratios = sorted(o["images_per_s"] / t["images_per_s"] for o, t in results)
    print(f"median ratio images/s project / python3-torch: {ratios[len(ratios) // 2]:.3f}")
    print(f"median s to test accuracy {args.target}: project {median_time(ours_all):.2f}, "
          f"python3-torch {median_time(theirs_all):.2f} (reached in "
          f"{sum(r['seconds_to_target'] is not None for r in ours_all)} and "
          f"{sum(r['seconds_to_target'] is not None for r in theirs_all)} of {len(results)} seeds)")
    if args.json:
        with open(args.json, "w") as f:
            for pair in results:
                for r in pair:
                    f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()

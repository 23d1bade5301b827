#!/usr/bin/python3
"""Does the memory promise hold? Runs `automl-gpt run` on each shared dataset at a short
budget, and on a generated 5,000,000-row table at several --memory limits, and reports
the peak resident memory of the whole process (GNU time's maximum RSS) against the
limit, beside the run's own estimate and what it left out or subsampled.

  /usr/bin/python3 bench/memory.py [--bin build/automl-gpt] [--datasets ../shared/datasets]
      [--budget 10] [--big-rows 5000000] [--big-budget 60] [--limits 1GB 2GB 4GB default]
      [--skip-datasets] [--skip-big] [--big-file FILE] [--out bench/results/memory-DATE.md]

The large table (8 numeric columns, a 10-level and a 100-level category, a binary
target) is written with numpy into a temporary folder and removed afterwards; it is
never kept in git (--big-file reuses one written by write_table with the same rows). Runs use --threads 2 and a store in the temporary folder.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_table(path, n, seed=5):
    """n rows: x1..x8 normal, c1 (10 levels), c2 (100 levels), y yes/no from a noisy rule."""
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("x1,x2,x3,x4,x5,x6,x7,x8,c1,c2,y\n")
        step = 500_000
        for s in range(0, n, step):
            m = min(step, n - s)
            x = rng.normal(size=(m, 8)).round(4)
            c1 = rng.integers(0, 10, m)
            c2 = rng.integers(0, 100, m)
            z = x[:, 0] - 0.5 * x[:, 1] * x[:, 2] + 0.3 * (c1 % 3) + rng.normal(scale=0.8, size=m)
            cols = [np.char.mod("%.4f", x[:, j]) for j in range(8)]
            cols += [np.char.add("k", c1.astype(str)), np.char.add("g", c2.astype(str)), np.where(z > 0, "yes", "no")]
            rows = cols[0]
            for c in cols[1:]:
                rows = np.char.add(np.char.add(rows, ","), c)
            f.write("\n".join(rows.tolist()))
            f.write("\n")


def run_once(binary, train, target, budget, limit, workdir, tag):
    out = os.path.join(workdir, f"out-{tag}")
    cmd = ["/usr/bin/time", "-f", "%M", binary, "run", train, "--target", target, "--budget", f"{budget:g}s",
           "--threads", "2", "--quiet", "--out", out, "--store", os.path.join(workdir, "store.sqlite")]
    if limit != "default":
        cmd += ["--memory", limit]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    err = p.stderr.strip().splitlines()
    peak_mb = float(err[-1]) / 1024 if err and err[-1].strip().isdigit() else float("nan")
    summary = {}
    try:
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        pass
    m = summary.get("memory", {})
    error = next((line for line in err if line.startswith("automl-gpt: error:")), "")
    left = ", ".join(f["family"] for f in m.get("families_left_out", []))
    sub = m.get("subsampled_rows")
    return {"wall": wall, "peak_mb": peak_mb, "exit": p.returncode, "limit_mb": m.get("limit_mb", float("nan")),
            "estimate_mb": m.get("estimate_mb", float("nan")), "after_read_mb": m.get("after_read_mb", float("nan")),
            "left_out": left, "rows_kept": f"{sub['kept']:,} of {sub['of']:,}" if sub else "all",
            "error": error}


def row(name, budget, limit, r):
    ratio = r["peak_mb"] / r["limit_mb"] if r["limit_mb"] == r["limit_mb"] and r["limit_mb"] else float("nan")
    note = r["error"].replace("|", "/") if r["error"] else ""
    return (f"| {name} | {budget:g} | {limit} | {r['limit_mb']:.0f} | {r['after_read_mb']:.0f} | {r['estimate_mb']:.0f} "
            f"| {r['peak_mb']:.0f} | {ratio:.3f} | {r['wall']:.1f} | {r['wall'] / budget:.3f} | {r['left_out'] or '-'} "
            f"| {r['rows_kept']} | {r['exit']} | {note} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--bin", default=os.path.join(here, "..", "build", "automl-gpt"))
    ap.add_argument("--datasets", default=os.path.join(here, "..", "..", "shared", "datasets"))
    ap.add_argument("--budget", type=float, default=10)
    ap.add_argument("--big-rows", type=int, default=5_000_000)
    ap.add_argument("--big-budget", type=float, default=60)
    ap.add_argument("--limits", nargs="+", default=["1GB", "2GB", "4GB", "default"])
    ap.add_argument("--skip-datasets", action="store_true")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--big-file", default="", help="an existing table written by write_table (same rows and seed)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    lines = ["| data | budget s | --memory | limit MB | after read MB | estimate MB | peak MB | peak / limit | wall s "
             "| wall / budget | left out | rows kept | exit | error |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | --- |"]
    results = []
    with tempfile.TemporaryDirectory(prefix="automl-memory-bench-") as d:
        if not args.skip_datasets:
            for name in sorted(os.listdir(args.datasets)):
                folder = os.path.join(args.datasets, name)
                if not os.path.exists(os.path.join(folder, "card.json")):
                    continue
                with open(os.path.join(folder, "card.json")) as f:
                    target = json.load(f)["target"]
                r = run_once(binary, os.path.join(folder, "train.csv"), target, args.budget, "default", d, name)
                results.append(("dataset", r))
                lines.append(row(name, args.budget, "default", r))
                print(lines[-1], flush=True)
        if not args.skip_big:
            big = args.big_file or os.path.join(d, "big.csv")
            if not args.big_file:
                t0 = time.monotonic()
                write_table(big, args.big_rows)
                print(f"wrote {args.big_rows:,} rows ({os.path.getsize(big) / 2**20:.0f} MB) in "
                      f"{time.monotonic() - t0:.0f}s", flush=True)
            name = f"generated {args.big_rows:,} rows ({os.path.getsize(big) / 2**20:.0f} MB)"
            for limit in args.limits:
                r = run_once(binary, big, "y", args.big_budget, limit, d, f"big-{limit}")
                results.append(("big", r))
                lines.append(row(name, args.big_budget, limit, r))
                print(lines[-1], flush=True)
    over = [r for _, r in results if r["exit"] == 0 and r["peak_mb"] > r["limit_mb"]]
    late = [r for _, r in results if r["exit"] == 0 and r["wall"] > 1.02 * (args.big_budget if _ == "big" else args.budget)]
    lines.append("")
    lines.append(f"- finished runs with peak above the limit: {len(over)} of "
                 f"{sum(1 for _, r in results if r['exit'] == 0)}; over 1.02 of the budget: {len(late)}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# Peak memory against the limit (bench/memory.py)\n\n"
                    f"`/usr/bin/python3 bench/memory.py {' '.join(sys.argv[1:])}`\n\n"
                    "Peak MB is the whole process's maximum resident set (GNU time); limit, after-read and estimate "
                    "are summary.json's `memory` (estimate = the table as read plus what the kept families need). "
                    "Wall seconds are the whole process.\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())

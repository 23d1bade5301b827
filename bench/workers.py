#!/usr/bin/env python3
"""One study, trained by this process and by 1 and 2 local workers, side by side.

For each data set and each --workers value (0 = the run trains its own trials), runs
`automl-gpt run` on the set's train.csv with the same budget, seed and threads, on a
fresh SQLite store, and reports the trials recorded per minute of the study and the test
score, as a Markdown table on stdout. Run it under `nice -n 10` (the machine is shared):

    nice -n 10 /usr/bin/python3 bench/workers.py --budget 60 --datasets pima,adult \
        > bench/results/workers-60s-DATE.md

The load average at each run's start is reported too: on a shared machine it moves the
numbers more than anything else.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def run(binary, ds_dir, budget, workers, threads, seed):
    card = json.load(open(os.path.join(ds_dir, "card.json")))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run")
        store = os.path.join(tmp, "store.sqlite")
        cmd = [binary, "run", os.path.join(ds_dir, "train.csv"), "--target", card["target"], "--test",
               os.path.join(ds_dir, "test.csv"), "--budget", f"{budget}s", "--seed", str(seed), "--threads",
               str(threads), "--out", out, "--store", store, "--workers", str(workers), "--quiet"]
        load = os.getloadavg()[0]
        t0 = time.time()
        p = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.time() - t0
        if p.returncode != 0:
            return {"error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"exit {p.returncode}"}
        summary = json.load(open(os.path.join(out, "summary.json")))
        trials = summary.get("n_trials", 0)
        t = summary.get("time", {})
        search_s = t.get("search", wall) + t.get("tail", 0.0)
        return {"trials": trials, "per_min": 60.0 * trials / max(search_s, 1e-9), "search_s": search_s,
                "score": summary.get("test_score"), "metric": summary.get("metric"), "load": load, "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/automl-gpt")
    ap.add_argument("--datasets", default="pima,adult")
    ap.add_argument("--root", default="../shared/datasets")
    ap.add_argument("--budget", type=float, default=60)
    ap.add_argument("--workers", default="0,1,2")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    print(f"# One study, {a.budget:.0f} s, {a.threads} threads, seed {a.seed}: trained in-process and by local workers\n")
    print(f"Machine: {os.cpu_count()} cores, shared; `nice -n 10`. Trials per minute count the trials the study "
          "recorded over its search time (summary.json's time.search plus time.tail).\n")
    print("The ratios compare each row with the same data set's first row (the first --workers value), "
          "measured in the same invocation.\n")
    print("| data set | workers | trials | trials/min | trials/min ratio | test score | score minus first | metric | "
          "load at start |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name in a.datasets.split(","):
        first = None
        for w in a.workers.split(","):
            r = run(a.binary, os.path.join(a.root, name), a.budget, int(w), a.threads, a.seed)
            if "error" in r:
                print(f"| {name} | {w} | error: {r['error']} | | | | | | |")
            else:
                first = first or r
                score = "" if r["score"] is None else f"{r['score']:.4f}"
                ratio = r["per_min"] / first["per_min"] if first["per_min"] > 0 else float("nan")
                delta = ("" if r["score"] is None or first["score"] is None
                         else f"{r['score'] - first['score']:+.4f}")
                print(f"| {name} | {w} | {r['trials']} | {r['per_min']:.1f} | {ratio:.2f} | {score} | {delta} | "
                      f"{r['metric']} | {r['load']:.1f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()

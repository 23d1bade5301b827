#!/usr/bin/env python3
"""Does the budget hold on hostile input? Runs the successful cases of the bad-input
corpus (tests/bad_input) at each budget and reports the wall-clock seconds of the whole
process (start-up, reading and saving included) against the budget, with peak memory.

  python3 bench/bad_input_budget.py [--bin build/automl-gpt] [--budgets 5 10] [--out FILE.md]

The files are generated into a temporary folder: infinities in a numeric column, an
all-missing column, mixed line endings, a 1,000,000-level categorical over 1,000,000
rows, a 10 MB cell, and a path with spaces and non-ASCII characters.
"""
import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time


def rows(n, seed=7):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        a = rng.uniform(-2, 2)
        out.append(f"{a:.4f},{rng.choice('pq')},{rng.randrange(10)},{'yes' if a + rng.uniform(-0.5, 0.5) > 0 else 'no'}")
    return out


def make_cases(d):
    cases = {}
    body = rows(2000)
    for i, odd in enumerate(["inf", "-inf", "1e308", "-Infinity"]):
        body[i * 10] = odd + body[i * 10][body[i * 10].index(","):]
    cases["infinities"] = ("infinite.csv", "a,b,c,y\n" + "\n".join(body) + "\n")
    body = [r[: r.rindex(",")] + ",," + r[r.rindex(",") + 1:] for r in rows(2000)]
    cases["all-missing column"] = ("empty-col.csv", "a,b,c,m,y\n" + "\n".join(body) + "\n")
    body = rows(2000)
    cases["mixed line endings"] = ("eol.csv", "a,b,c,y\r\n" + "".join(r + ("\n" if i % 2 else "\r\n") for i, r in enumerate(body)))
    body = rows(100)
    body[5] = '0.2,"' + "x" * (10 << 20) + '",4,yes'
    cases["10 MB cell"] = ("big-cell.csv", "a,b,c,y\n" + "\n".join(body) + "\n")
    os.makedirs(os.path.join(d, "dossier données"), exist_ok=True)
    cases["path with spaces, non-ASCII"] = (os.path.join("dossier données", "entraînement 1.csv"),
                                            "a,b,c,y\n" + "\n".join(rows(2000)) + "\n")
    rng = random.Random(3)
    lines = ["id,x,y"]
    for i in range(1_000_000):
        x = rng.random()
        lines.append(f"u{i},{x:.5f},{'yes' if x + 0.3 * rng.randrange(3) > 0.8 else 'no'}")
    cases["1,000,000-level categorical"] = ("levels.csv", "\n".join(lines) + "\n")
    for name, (file, text) in cases.items():
        with open(os.path.join(d, file), "w", encoding="utf-8", newline="") as f:
            f.write(text)
    return {name: file for name, (file, _) in cases.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(__file__), "..", "build", "automl-gpt"))
    ap.add_argument("--budgets", type=float, nargs="+", default=[5, 10])
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    lines = ["| case | budget s | wall s | wall / budget | run's own s | peak MB | exit |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    with tempfile.TemporaryDirectory(prefix="automl-bad-budget-") as d:
        cases = make_cases(d)
        for budget in args.budgets:
            for name, file in cases.items():
                out = os.path.join(d, f"out-{len(ratios)}")
                cmd = ["/usr/bin/time", "-f", "%M", binary, "run", file, "--target", "y", "--budget", f"{budget:g}s",
                       "--quiet", "--out", out, "--store", os.path.join(d, "store.sqlite")]
                t0 = time.monotonic()
                p = subprocess.run(cmd, cwd=d, capture_output=True, text=True)
                wall = time.monotonic() - t0
                peak_mb = float(p.stderr.strip().splitlines()[-1]) / 1024 if p.stderr.strip() else float("nan")
                own = float("nan")
                try:
                    with open(os.path.join(out, "summary.json")) as f:
                        own = json.load(f)["seconds"]
                except (OSError, KeyError, ValueError):
                    pass
                ratios.append(wall / budget)
                lines.append(f"| {name} | {budget:g} | {wall:.2f} | {wall / budget:.3f} | {own:.2f} | {peak_mb:.0f} | "
                             f"{p.returncode} |")
                print(lines[-1], flush=True)
    over = [r for r in ratios if r > 1.02]
    lines.append("")
    lines.append(f"- wall / budget: mean {sum(ratios) / len(ratios):.3f}, max {max(ratios):.3f}; "
                 f"over 1.02: {len(over)} of {len(ratios)}.")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write("# The budget on hostile input (bench/bad_input_budget.py)\n\n"
                    f"`python3 bench/bad_input_budget.py --budgets {' '.join(f'{b:g}' for b in args.budgets)}`\n\n"
                    "Wall seconds are the whole process as a user times it (start-up, reading, saving); the run's own "
                    "seconds are summary.json's.\n\n" + text)


if __name__ == "__main__":
    sys.exit(main())

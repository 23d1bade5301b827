#!/usr/bin/python3
"""The data-processing design applied or not: `automl-gpt bench` with and without
--fixed-preprocessing, side by side.

For every selected data set under --datasets (train.csv, test.csv, card.json; the tabular
ones unless --only names others), the script runs, one after the other and never
concurrently, under `nice -n 5`:

  automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNS/DATASET-design
  automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNS/DATASET-fixed --fixed-preprocessing

With --untyped each data set is first copied into RUNS/untyped/ with the card's
"feature_types" left out, as a user without a card would run it: integer columns are then
read by the run itself (the Data Card's open choices), which is where the design matters most.

Each JSON line is appended to --out as soon as it arrives (with "variant": "design" or
"fixed"; for the design run, whether the saved pipeline applies a design, read from its
model folder), so an interrupted run continues with --resume. At the end a Markdown table:
both test scores, their ratio oriented so that > 1 means the design is better (score ratio
for roc_auc and accuracy, inverse for rmse), the design the saved pipeline applies, and
summary lines, including the number of sets where the design changed the chosen pipeline
(the saved model, or one of its members, applies a design beyond the family's fixed
encoding).

  /usr/bin/python3 bench/design.py --budget 30 --out bench/results/design-30s.jsonl
  /usr/bin/python3 bench/design.py --budget 30 --untyped --out bench/results/design-untyped-30s.jsonl
  /usr/bin/python3 bench/design.py --table-only bench/results/design-30s.jsonl
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import ensemble  # bench/ensemble.py: data set selection, ratio and number formats
import suite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VARIANTS = ["design", "fixed"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def untyped_copy(args, name):
    """The data set without the card's feature types, in RUNS/untyped/NAME."""
    src = os.path.join(args.datasets, name)
    dst = os.path.join(args.runs, "untyped", name)
    os.makedirs(dst, exist_ok=True)
    for f in ("train.csv", "test.csv"):
        if not os.path.exists(os.path.join(dst, f)):
            shutil.copyfile(os.path.join(src, f), os.path.join(dst, f))
    with open(os.path.join(src, "card.json"), encoding="utf-8") as f:
        card = json.load(f)
    card.pop("feature_types", None)
    with open(os.path.join(dst, "card.json"), "w", encoding="utf-8") as f:
        json.dump(card, f, indent=1)
    return dst


def applied_design(model_dir):
    """The columns the saved pipeline (or any ensemble member) treats beyond its fixed encoding."""
    out = {}
    for root, _, files in os.walk(model_dir):
        if "pipeline.json" not in files:
            continue
        with open(os.path.join(root, "pipeline.json"), encoding="utf-8") as f:
            p = json.load(f)
        for column, ops in (p.get("preprocessor") or {}).get("design", {}).items():
            for op in ops:
                out.setdefault(column, set()).add(op)
    return {c: sorted(v) for c, v in sorted(out.items())}


def run_one(args, name, variant):
    data = untyped_copy(args, name) if args.untyped else os.path.join(args.datasets, name)
    run_dir = os.path.join(args.runs, f"{name}-{variant}")
    if os.path.exists(run_dir):
        run_dir += f"-{int(time.time())}"
    cmd = ["nice", "-n", "5", args.bin, "bench", data, "--budget", f"{args.budget:g}s", "--seed", str(args.seed),
           "--threads", str(args.threads), "--out", run_dir, "--store", os.path.join(args.runs, "store.sqlite")]
    if variant == "fixed":
        cmd.append("--fixed-preprocessing")
    log(f"design-bench: {name} {variant}")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.budget * 2 + 60)
    except subprocess.TimeoutExpired:
        return {"dataset": name, "variant": variant, "score": None, "error": "timeout"}
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if p.returncode != 0 or not lines:
        return {"dataset": name, "variant": variant, "score": None,
                "error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    row = json.loads(lines[-1])
    row["variant"] = variant
    row["untyped"] = args.untyped
    row["applied_design"] = applied_design(os.path.join(run_dir, "model"))
    return row


def table(rows, names):
    out = ["| dataset | metric | design | fixed encodings | ratio | design in the saved pipeline |",
           "| --- | --- | ---: | ---: | ---: | --- |"]
    ratios, wins, ties, losses, changed = [], 0, 0, 0, 0
    for name in names:
        d, x = rows.get((name, "design")), rows.get((name, "fixed"))
        if not d or not x:
            continue
        metric = d.get("metric") or x.get("metric")
        r = ensemble.ratio(d.get("score"), x.get("score"), metric)
        if r is not None:
            ratios.append(r)
            wins += r > 1 + 1e-9
            ties += abs(r - 1) <= 1e-9
            losses += r < 1 - 1e-9
        applied = d.get("applied_design") or {}
        changed += bool(applied)
        shown = "; ".join(f"{c}: {', '.join(ops)}" for c, ops in list(applied.items())[:4])
        if len(applied) > 4:
            shown += f"; and {len(applied) - 4} more columns"
        out.append(f"| {name} | {metric} | {ensemble.fmt(d.get('score'))} | {ensemble.fmt(x.get('score'))} | "
                   f"{'-' if r is None else f'{r:.4f}'} | {shown or '-'} |")
    out.append("")
    if ratios:
        below = sum(1 for r in ratios if r < 0.99)
        out.append(f"- Mean ratio (design / fixed, > 1 = the design is better): {sum(ratios) / len(ratios):.4f} over "
                   f"{len(ratios)} data sets; better on {wins}, equal on {ties}, worse on {losses} "
                   f"({below} by more than 1%).")
    out.append(f"- The design changed the chosen pipeline on {changed} of {len(ratios)} sets (the saved model or one "
               "of its members applies it).")
    untyped = any((rows.get((n, "design")) or {}).get("untyped") for n in names)
    out.append("- Cards' feature types left out (--untyped)." if untyped else "- Cards as shipped (types declared).")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "automl-gpt"))
    ap.add_argument("--budget", type=float, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="design-bench.jsonl")
    ap.add_argument("--runs", default=os.path.join("/tmp", "automl-design-bench"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--untyped", action="store_true", help="leave the cards' feature types out")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--table-only", metavar="FILE")
    args = ap.parse_args()
    if args.table_only:
        rows = {(r["dataset"], r["variant"]): r for r in suite.read_rows(args.table_only, key="variant")}
        print(table(rows, sorted({d for d, _ in rows})))
        return
    os.makedirs(args.runs, exist_ok=True)
    rows = {(r["dataset"], r["variant"]): r for r in suite.read_rows(args.out, key="variant")} if args.resume else {}
    datasets = ensemble.select(args)
    for name, _ in datasets:
        for variant in VARIANTS:
            if (name, variant) in rows and rows[(name, variant)].get("score") is not None:
                continue
            row = run_one(args, name, variant)
            rows[(name, variant)] = row
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            log(f"design-bench: {name} {variant}: {row.get('score')} {row.get('error', '')}")
    print(table(rows, [n for n, _ in datasets]))


if __name__ == "__main__":
    main()

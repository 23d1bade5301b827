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
import json
import os
import shutil

import ensemble  # bench/ensemble.py: data set selection, the paired runs, ratio and number formats

VARIANTS = ["design", "fixed"]


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
        pre = p.get("preprocessor") or {}
        dropped = set(pre.get("near_constant", []))
        for column, ops in pre.get("design", {}).items():
            for op in ops:
                # Variance selection changes the pipeline only where it left a column out.
                if op != "drop_if_near_constant" or column in dropped:
                    out.setdefault(column, set()).add(op)
    return {c: sorted(v) for c, v in sorted(out.items())}


def run_one(args, name, variant):
    data = untyped_copy(args, name) if args.untyped else os.path.join(args.datasets, name)
    extra = ["--fixed-preprocessing"] if variant == "fixed" else []
    row, run_dir = ensemble.bench_run(args, data, name, variant, extra, "design-bench")
    if row.get("score") is None:
        return row
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
    ap = ensemble.paired_arguments(__doc__, "design")
    ap.add_argument("--untyped", action="store_true", help="leave the cards' feature types out")
    args = ap.parse_args()
    if args.table_only:
        rows = ensemble.read_rows(args.table_only)
        print(table(rows, sorted({d for d, _ in rows})))
        return
    datasets = ensemble.select(args)
    rows = ensemble.run_variants(args, datasets, VARIANTS, run_one, "design-bench")
    print(table(rows, [n for n, _ in datasets]))


if __name__ == "__main__":
    main()

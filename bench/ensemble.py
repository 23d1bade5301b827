#!/usr/bin/python3
"""Ensembles on or off: the test score of `automl-gpt bench` with and without --no-ensemble.

For every selected data set under --datasets (train.csv, test.csv, card.json; the tabular
ones unless --only names others), the script runs, one after the other and never
concurrently, under `nice -n 5`:

  automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNS/DATASET-ensemble
  automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNS/DATASET-single --no-ensemble

Each JSON line is appended to --out as soon as it arrives (with "variant": "ensemble" or
"single" and, from the run's summary.json, which ensemble was kept and saved), so an
interrupted run continues with --resume. At the end a Markdown table: both test scores,
their ratio oriented so that > 1 means ensembles are better (score ratio for roc_auc and
accuracy, inverse for rmse), what the ensemble run saved, and summary lines.

  /usr/bin/python3 bench/ensemble.py --budget 30 --out bench/results/ensemble-30s.jsonl
  /usr/bin/python3 bench/ensemble.py --budget 30 --out e.jsonl --only iris wine --resume
  /usr/bin/python3 bench/ensemble.py --table-only bench/results/ensemble-30s.jsonl
"""
import argparse
import json
import os
import subprocess
import sys
import time

import suite  # bench/suite.py, beside this file

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOWER_IS_BETTER = {"rmse", "log_loss", "mae"}
VARIANTS = ["ensemble", "single"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def read_rows(path):
    """The rows of a results file by (dataset, variant); the last row wins."""
    return {(row["dataset"], row["variant"]): row for row in suite.read_rows(path, key="variant")}


def select(args):
    names = args.only or sorted(os.listdir(args.datasets))
    out = []
    for name in names:
        card_path = os.path.join(args.datasets, name, "card.json")
        if not os.path.exists(card_path):
            continue
        with open(card_path, encoding="utf-8") as f:
            card = json.load(f)
        if not args.only and card.get("modality", "tabular") != "tabular":
            continue
        out.append((name, card))
    return out


def run_one(args, name, variant):
    extra = ["--no-ensemble"] if variant == "single" else []
    row, run_dir = bench_run(args, os.path.join(args.datasets, name), name, variant, extra, "ensemble-bench")
    if row.get("score") is None:
        return row
    summary_path = os.path.join(run_dir, "summary.json")
    if os.path.exists(summary_path):
        with open(summary_path, encoding="utf-8") as f:
            s = json.load(f)
        e = s.get("ensemble") or {}
        row["ensemble_kept"] = e.get("kept")
        row["ensemble_used"] = e.get("used", False)
        row["ensemble_refit"] = e.get("refit")
        if e.get("used"):
            row["ensemble_members"] = len(s["model"].get("members", []))
    return row


def bench_run(args, data, name, variant, extra, label):
    """`automl-gpt bench DATA` (under nice, with a timeout) and its JSON line, tagged with the
    variant; the run folder is RUNS/NAME-VARIANT. Returns (row, run folder); a failed run's row
    has score None and the error."""
    run_dir = os.path.join(args.runs, f"{name}-{variant}")
    if os.path.exists(run_dir):
        run_dir += f"-{int(time.time())}"
    cmd = ["nice", "-n", "5", args.bin, "bench", data, "--budget", f"{args.budget:g}s", "--seed", str(args.seed),
           "--threads", str(args.threads), "--out", run_dir, "--store", os.path.join(args.runs, "store.sqlite")] + extra
    log(f"{label}: {name} {variant}")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.budget * 2 + 60)
    except subprocess.TimeoutExpired:
        return {"dataset": name, "variant": variant, "score": None, "error": "timeout"}, run_dir
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if p.returncode != 0 or not lines:
        return {"dataset": name, "variant": variant, "score": None,
                "error": (p.stderr.strip().splitlines() or ["no output"])[-1][:300]}, run_dir
    row = json.loads(lines[-1])
    row["variant"] = variant
    return row, run_dir


def ratio(ens, single, metric):
    if ens is None or single is None:
        return None
    if metric in LOWER_IS_BETTER:
        return single / ens if ens > 0 else None
    return ens / single if single > 0 else None


def fmt(x):
    if x is None:
        return "-"
    return f"{x:.1f}" if abs(x) >= 1000 else f"{x:.4f}"


def table(rows, names):
    out = ["| dataset | metric | with ensembles | without | ratio | saved model | members |",
           "| --- | --- | ---: | ---: | ---: | --- | ---: |"]
    ratios, wins, ties, losses = [], 0, 0, 0
    by_metric = {}
    for name in names:
        e, s = rows.get((name, "ensemble")), rows.get((name, "single"))
        if not e or not s:
            continue
        metric = e.get("metric") or s.get("metric")
        r = ratio(e.get("score"), s.get("score"), metric)
        if r is not None:
            ratios.append(r)
            wins += r > 1 + 1e-9
            ties += abs(r - 1) <= 1e-9
            losses += r < 1 - 1e-9
            m = by_metric.setdefault(metric, [[], []])
            m[0].append(e["score"])
            m[1].append(s["score"])
        saved = str(e.get("model", "-"))
        if e.get("ensemble_kept") and not e.get("ensemble_used"):
            saved += f" ({e['ensemble_kept']} won, not refit)"
        out.append(f"| {name} | {metric} | {fmt(e.get('score'))} | {fmt(s.get('score'))} | "
                   f"{'-' if r is None else f'{r:.4f}'} | {saved} | {e.get('ensemble_members', '-')} |")
    out.append("")
    if ratios:
        out.append(f"- Mean ratio (with / without, > 1 = ensembles better): {sum(ratios) / len(ratios):.4f} over "
                   f"{len(ratios)} data sets; better on {wins}, equal on {ties}, worse on {losses}.")
    for metric, (es, ss) in sorted(by_metric.items()):
        out.append(f"- Mean {metric} over {len(es)} sets: {sum(es) / len(es):.4f} with ensembles, "
                   f"{sum(ss) / len(ss):.4f} without.")
    used = sum(1 for n in names if (rows.get((n, "ensemble")) or {}).get("ensemble_used"))
    out.append(f"- An ensemble was saved on {used} of {len(ratios)} sets (kept only when its cross-fitted score beats "
               "the best single trial's, judged the same way).")
    return "\n".join(out)


def paired_arguments(doc, name):
    """The command line both paired benchmarks (this one, design.py) take; `name` names the
    default results file and runs folder."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "automl-gpt"))
    ap.add_argument("--budget", type=float, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=f"{name}-bench.jsonl")
    ap.add_argument("--runs", default=os.path.join("/tmp", f"automl-{name}-bench"))
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--table-only", metavar="FILE")
    return ap


def main():
    args = paired_arguments(__doc__, "ensemble").parse_args()
    if args.table_only:
        rows = read_rows(args.table_only)
        names = []
        for d, _ in rows:
            if d not in names:
                names.append(d)
        print(table(rows, sorted(names)))
        return
    datasets = select(args)
    rows = run_variants(args, datasets, VARIANTS, run_one, "ensemble-bench")
    print(table(rows, [n for n, _ in datasets]))


def run_variants(args, datasets, variants, run_one, label):
    """Every (data set, variant) pair, one after the other: rows already in args.out are kept
    with --resume; each new row is appended as soon as it arrives. Returns the rows by pair."""
    os.makedirs(args.runs, exist_ok=True)
    rows = read_rows(args.out) if args.resume else {}
    for name, _ in datasets:
        for variant in variants:
            if (name, variant) in rows and rows[(name, variant)].get("score") is not None:
                continue
            row = run_one(args, name, variant)
            rows[(name, variant)] = row
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            log(f"{label}: {name} {variant}: {row.get('score')} {row.get('model', '')} {row.get('error', '')}")
    return rows


if __name__ == "__main__":
    main()

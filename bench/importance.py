#!/usr/bin/python3
"""What feature importance costs a run: its seconds, their share of the budget, and how
much of the work (columns, repeats, rows) fitted in its time box.

For every selected data set under --datasets (train.csv, test.csv, card.json; the tabular
ones unless --only names others), one after the other under `nice -n 5`:

  automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNS/DATASET

then summary.json's `feature_importance` and `time` are read. One JSON line per set is
appended to --out; at the end a Markdown table, with the machine's load average at the
start of each run (the box is 3% of the budget, so a loaded machine measures less).

  /usr/bin/python3 bench/importance.py --budget 20 --out bench/results/importance-20s.jsonl --only adult iris
  /usr/bin/python3 bench/importance.py --table-only bench/results/importance-20s.jsonl
"""
import argparse
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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
        out.append(name)
    return out


def run_one(args, name):
    run_dir = os.path.join(args.runs, name)
    subprocess.run(["rm", "-rf", run_dir], check=True)
    load = os.getloadavg()[0]
    cmd = ["nice", "-n", "5", args.binary, "bench", os.path.join(args.datasets, name), "--budget", f"{args.budget}s",
           "--seed", str(args.seed), "--threads", str(args.threads), "--out", run_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    row = {"dataset": name, "budget_s": args.budget, "load_avg_1m": round(load, 2)}
    summary_path = os.path.join(run_dir, "summary.json")
    if proc.returncode != 0 or not os.path.exists(summary_path):
        row["error"] = (proc.stderr.strip().splitlines() or ["no summary"])[-1]
        return row
    with open(summary_path, encoding="utf-8") as f:
        s = json.load(f)
    fi = s.get("feature_importance", {})
    family = s["model"]["family"]
    row.update({
        "model": family if isinstance(family, str) else str(family),
        "columns": fi.get("columns"),
        "columns_measured": fi.get("columns_measured"),
        "repeats": fi.get("repeats"),
        "rows": fi.get("rows"),
        "shap_rows": fi.get("shap_rows"),
        "importance_s": s["time"].get("feature_importance"),
        "importance_share": s["time"].get("feature_importance", 0) / args.budget,
        "time_used_share": s.get("time_used_share"),
        "cut": fi.get("cut", ""),
    })
    return row


def table(rows):
    lines = ["| data set | load | model | columns measured | repeats | rows | SHAP rows | seconds | share of budget | run's share used |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | {r['load_avg_1m']} | error: {r['error']} | | | | | | | |")
            continue
        lines.append(f"| {r['dataset']} | {r['load_avg_1m']} | {r['model']} | {r['columns_measured']}/{r['columns']} | "
                     f"{r['repeats']} | {r['rows']} | {r['shap_rows']} | {r['importance_s']:.3f} | "
                     f"{100 * r['importance_share']:.1f}% | {r['time_used_share']:.3f} |")
    ok = [r for r in rows if "error" not in r]
    if ok:
        full = sum(1 for r in ok if r["columns_measured"] == r["columns"])
        worst = max(r["time_used_share"] for r in ok)
        lines.append("")
        lines.append(f"Every column measured on {full} of {len(ok)} sets; mean share of the budget "
                     f"{100 * sum(r['importance_share'] for r in ok) / len(ok):.2f}%; highest share of the budget a "
                     f"run used {worst:.3f}.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--only", nargs="*", help="data set names (default: every tabular set)")
    ap.add_argument("--budget", type=float, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "automl-gpt"))
    ap.add_argument("--runs", default=os.path.join(REPO, "runs", "importance"))
    ap.add_argument("--out", help="JSON lines file to append to")
    ap.add_argument("--table-only", help="print the table of an existing results file")
    args = ap.parse_args()
    if args.table_only:
        with open(args.table_only, encoding="utf-8") as f:
            print(table([json.loads(line) for line in f if line.strip()]))
        return
    rows = []
    for name in select(args):
        print(f"{name} ...", file=sys.stderr, flush=True)
        row = run_one(args, name)
        rows.append(row)
        if args.out:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The offline brain, measured leaving each data set out of the knowledge base in turn.

For every selected data set under --datasets (train.csv, test.csv, card.json) and every
budget in --budgets, one after the other on this machine:

  1. `automl-gpt bench DATASET --budget B` with the shipped knowledge base; `bench` leaves the
     data set's own experience out, so the brain has never seen it (leave-one-dataset-out);
  2. the same with `--knowledge none`: the core's plain search (portfolio, random settings,
     successive halving), the reference the brain must beat;
  3. `peers.py DATASET --peer optuna-xgb --budget B` (Optuna TPE over XGBoost).

From each brain run's folder it computes:
  * the Spearman rank correlation between the predicted final validation score
    (leaderboard.csv, predicted_score) and the real one (validation_score), over the trials
    that have both; pruned trials are left out (their final score was never observed);
  * the mean absolute error of the predicted curves: for each trial whose executor logs the
    run's metric (auc for roc_auc, rmse, logloss for log_loss), |predicted - real| at each
    predicted checkpoint within the real curve, the real value being the mean over folds.

Rows go to --out (JSON lines) as they arrive; a Markdown table and summary lines are printed
at the end (ratios > 1 mean the brain is better: score/ref for roc_auc and accuracy, ref/score
for rmse).

  /usr/bin/python3 bench/brain.py --budgets 30 --out bench/results/brain-30s.jsonl
  /usr/bin/python3 bench/brain.py --budgets 10,60 --only adult pima credit_data
  /usr/bin/python3 bench/brain.py --budgets 60 --no-core --out b.jsonl   # brain and optuna-xgb only
  /usr/bin/python3 bench/brain.py --budgets 15 --no-peers --out b.jsonl  # then: brain at 15 s vs optuna at 60 s
  /usr/bin/python3 bench/brain.py --table-only bench/results/brain-30s.jsonl
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOWER = {"rmse", "log_loss", "mae"}
SAME_SCALE = {("auc", "roc_auc"), ("rmse", "rmse"), ("logloss", "log_loss"), ("mlogloss", "log_loss"), ("mae", "mae")}


def ranks(a):
    order = sorted(range(len(a)), key=lambda i: a[i])
    r = [0.0] * len(a)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and a[order[j + 1]] == a[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(x, y):
    if len(x) < 3:
        return None
    rx, ry = ranks(x), ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    c = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    return c / (vx * vy) ** 0.5 if vx > 0 and vy > 0 else None


def read_run(folder, metric):
    """Spearman and curve MAE of one run folder."""
    pred, real, baseline, scores = [], [], None, []
    with open(os.path.join(folder, "leaderboard.csv")) as f:
        for row in csv.DictReader(f):
            if row["family"] in ("ensemble", "stacking"):
                continue  # built from the trials after the search, never predicted
            if row["validation_score"]:
                scores.append(float(row["validation_score"]))
                if row["family"] == "constant" and baseline is None:
                    baseline = float(row["validation_score"])
            if row["validation_score"] and row["predicted_score"] and not row["reason"].startswith("pruned"):
                pred.append(float(row["predicted_score"]))
                real.append(float(row["validation_score"]))
    best = (min(scores) if metric in LOWER else max(scores)) if scores else None
    span = abs(best - baseline) if best is not None and baseline is not None else None
    curves = {}
    with open(os.path.join(folder, "training_logs.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            if (j["metric"], metric) in SAME_SCALE:
                curves.setdefault(j["trial_id"], []).append(j["valid"])
    errors = []
    with open(os.path.join(folder, "predicted_logs.jsonl")) as f:
        for line in f:
            j = json.loads(line)
            folds = curves.get(j["trial_id"])
            p = j.get("predicted") or {}
            if not folds or not p.get("checkpoints"):
                continue
            for it, v in zip(p["checkpoints"], p["metric"]):
                vals = [c[it - 1] for c in folds if len(c) >= it and c[it - 1] is not None]
                if vals:
                    errors.append(abs(v - sum(vals) / len(vals)))
    mae = sum(errors) / len(errors) if errors else None
    return {"spearman": spearman(pred, real), "n_trials": len(pred), "curve_mae": mae, "curve_points": len(errors),
            # on a common scale: the share of the run's climb from the baseline to its best
            "curve_mae_rel": mae / span if mae is not None and span else None}


def run(cmd, timeout):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        return None, (out.stderr.strip().splitlines() or ["exit %d" % out.returncode])[-1]
    return json.loads(lines[-1]), None


def record(name, peer, budget, line, err):
    """One result row from a run's JSON line, or its error."""
    row = {"dataset": name, "peer": peer, "budget_s": budget}
    if line:
        row.update({k: line.get(k) for k in ("metric", "score", "fit_s", "trials", "model") if k in line})
    else:
        row["error"] = err
    return row


def ratio(metric, score, ref):
    if score is None or ref is None:
        return None
    if metric in LOWER:
        return ref / score if score else None
    return score / ref if ref else None


def table(rows):
    by = {}
    for r in rows:
        by.setdefault((r["dataset"], r["budget_s"]), {})[r["peer"]] = r
    print("| dataset | budget | metric | brain | core search | optuna-xgb | brain/core | brain/optuna | spearman | trials | curve MAE (share of climb) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    summary = {}
    for (name, budget), peers in sorted(by.items()):
        b, c, o = peers.get("automl-gpt"), peers.get("core-search"), peers.get("optuna-xgb")
        metric = (b or c or o or {}).get("metric", "")
        sb = b.get("score") if b else None
        sc = c.get("score") if c else None
        so = o.get("score") if o else None
        rc, ro = ratio(metric, sb, sc), ratio(metric, sb, so)
        sp = b.get("spearman") if b else None
        mae = b.get("curve_mae_rel") if b else None
        fmt = lambda v, d=4: "-" if v is None else ("%.*f" % (d, v))
        print("| %s | %ds | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            name, budget, metric, fmt(sb), fmt(sc), fmt(so), fmt(rc, 3), fmt(ro, 3), fmt(sp, 2),
            b.get("n_trials", "-") if b else "-", fmt(mae)))
        s = summary.setdefault(budget, {"rc": [], "ro": [], "sp": [], "mae": []})
        if rc is not None:
            s["rc"].append(rc)
        if ro is not None:
            s["ro"].append(ro)
        if sp is not None:
            s["sp"].append(sp)
        if mae is not None:
            s["mae"].append(mae)
    print()
    for budget, s in sorted(summary.items()):
        wins = sum(1 for v in s["ro"] if v >= 1.0)
        print("- %ds: mean brain/optuna-xgb %.4f (brain >= optuna on %d of %d); mean brain/core search %.4f (>= on %d of %d); "
              "median Spearman %.2f over %d sets; median curve MAE %s of the climb from baseline to best" % (
                  budget, statistics.mean(s["ro"]) if s["ro"] else float("nan"), wins, len(s["ro"]),
                  statistics.mean(s["rc"]) if s["rc"] else float("nan"), sum(1 for v in s["rc"] if v >= 1.0), len(s["rc"]),
                  statistics.median(s["sp"]) if s["sp"] else float("nan"), len(s["sp"]),
                  "%.4f" % statistics.median(s["mae"]) if s["mae"] else "-"))
    # The brain at a short budget against optuna-xgb at a longer one (e.g. 15 s vs 60 s).
    brain = {(r["dataset"], r["budget_s"]): r for r in rows if r["peer"] == "automl-gpt" and r.get("score") is not None}
    optuna = {(r["dataset"], r["budget_s"]): r for r in rows if r["peer"] == "optuna-xgb" and r.get("score") is not None}
    for short in sorted({b for _, b in brain}):
        for long in sorted({b for _, b in optuna}):
            if long <= short:
                continue
            rs = [ratio(brain[(d, short)]["metric"], brain[(d, short)]["score"], optuna[(d, long)]["score"])
                  for d, b in optuna if b == long and (d, short) in brain]
            rs = [v for v in rs if v is not None]
            if rs:
                print("- brain at %ds vs optuna-xgb at %ds: mean ratio %.4f, brain >= optuna on %d of %d" % (
                    short, long, statistics.mean(rs), sum(1 for v in rs if v >= 1.0), len(rs)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(REPO, "..", "shared", "datasets"))
    ap.add_argument("--only", nargs="*", help="data set names (default: every tabular set)")
    ap.add_argument("--budgets", default="30", help="comma-separated seconds (default 30)")
    ap.add_argument("--binary", default=os.path.join(REPO, "build", "automl-gpt"))
    ap.add_argument("--peers", default=os.path.join(REPO, "..", "shared", "bench", "peers.py"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", default=os.path.join(REPO, "runs", "brain"))
    ap.add_argument("--out", default="brain.jsonl")
    ap.add_argument("--no-peers", action="store_true", help="only the brain (for Spearman and curve MAE)")
    ap.add_argument("--no-core", action="store_true", help="leave out the core search (--knowledge none)")
    ap.add_argument("--table-only", metavar="JSONL", nargs="+",
                    help="print the table of earlier results files (several: their rows together, e.g. one "
                         "pass at 15 s and one at 60 s for the cross-budget ratios) and run nothing")
    a = ap.parse_args()
    if a.table_only:
        rows = [json.loads(l) for f in a.table_only for l in open(f) if l.strip()]
        for r in rows:  # a row written before the measures existed gets them from its run folder under --runs
            folder = os.path.join(a.runs, "%s-%ds-%s" % (r["dataset"], r["budget_s"], r["peer"]))
            if (r["peer"] == "automl-gpt" and "spearman" not in r and r.get("metric")
                    and os.path.exists(os.path.join(folder, "leaderboard.csv"))):
                r.update(read_run(folder, r["metric"]))
        table(rows)
        return
    names = a.only or sorted(
        d for d in os.listdir(a.datasets)
        if os.path.exists(os.path.join(a.datasets, d, "card.json"))
        and json.load(open(os.path.join(a.datasets, d, "card.json"))).get("modality", "tabular") == "tabular")
    rows = []
    out = open(a.out, "a")

    def keep(row):
        """A row goes to the table, to --out at once, and to the console."""
        rows.append(row)
        out.write(json.dumps(row) + "\n")
        out.flush()
        print(json.dumps(row), file=sys.stderr)
    for budget in [int(b) for b in a.budgets.split(",")]:
        for name in names:
            ds = os.path.join(a.datasets, name)
            for peer, extra in [("automl-gpt", []), ("core-search", ["--knowledge", "none"])]:
                if peer == "core-search" and (a.no_peers or a.no_core):
                    continue
                folder = os.path.join(a.runs, "%s-%ds-%s" % (name, budget, peer))
                subprocess.run(["rm", "-rf", folder])
                line, err = run([a.binary, "bench", ds, "--budget", "%ds" % budget, "--threads", str(a.threads),
                                 "--out", folder, "--store", os.path.join(a.runs, "store.sqlite")] + extra,
                                budget * 2 + 60)
                row = record(name, peer, budget, line, err)
                if line and peer == "automl-gpt":
                    row.update(read_run(folder, line["metric"]))
                keep(row)
            if not a.no_peers:
                line, err = run(["/usr/bin/python3", a.peers, ds, "--peer", "optuna-xgb", "--budget", str(budget),
                                 "--threads", str(a.threads)], budget * 3 + 120)
                keep(record(name, "optuna-xgb", budget, line, err))
    table(rows)


if __name__ == "__main__":
    main()

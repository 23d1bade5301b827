#!/usr/bin/python3
"""The Python package's overhead against the command line, on the same data and budget.

For each data set (train.csv, test.csv, card.json under --datasets) and each repeat, one
after the other and never concurrently:

  cli:    automl-gpt run train.csv --target T --test test.csv --budget Ns --seed S --quiet
          (wall seconds of the whole process; the test score from summary.json)
  python: pandas.read_csv(train.csv) -> AutoML(budget=N, seed=S, name=NAME).fit(X, y)
          -> predict_proba / predict on pandas.read_csv(test.csv) -> the card's metric
          (wall seconds from before read_csv to after the predictions, split into
          reading, conversion to the library's table, fit and predict)

Both paths run the same library with the same budget, seed, knowledge base and data
set name; the budget covers the reading inside the CLI and only the fit in Python (the
Python path reads with pandas before its budget starts, shown as its own column).
Results: one JSON line per run in --out, and a Markdown table beside it (.md); a
reading of the 20 s table is appended to bench/results/python-overhead-20s-2026-11-30.md.

  PYTHONPATH=build/python /usr/bin/python3 bench/python_overhead.py --budget 20 \
      --only pima,credit_data,adult --out bench/results/python-overhead-20s.jsonl
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def test_score(metric, classes, y, proba_or_pred):
    if metric == "roc_auc":
        positive = 1
        return roc_auc_score(np.asarray(y) == classes[positive], proba_or_pred[:, positive])
    if metric == "accuracy":
        return accuracy_score(np.asarray(y), np.asarray(classes)[np.argmax(proba_or_pred, axis=1)])
    if metric == "log_loss":
        return log_loss(np.asarray(y), proba_or_pred, labels=classes)
    if metric == "rmse":
        return float(np.sqrt(mean_squared_error(np.asarray(y, dtype=float), proba_or_pred)))
    raise ValueError(f"metric {metric} not handled by this script")


def run_cli(args, name, card, work):
    data = os.path.join(args.datasets, name)
    out = os.path.join(work, f"{name}-cli")
    cmd = [args.binary, "run", os.path.join(data, "train.csv"), "--target", card["target"], "--test",
           os.path.join(data, "test.csv"), "--budget", f"{args.budget}s", "--seed", str(args.seed), "--threads",
           str(args.threads), "--out", out, "--store", os.path.join(work, "store.sqlite"), "--quiet"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    summary = json.load(open(os.path.join(out, "summary.json")))
    return {"path": "cli", "wall_s": wall, "test_score": summary.get("test_score"), "metric": summary["metric"],
            "run_s": summary["seconds"], "trials": summary["n_trials"]}


def run_python(args, name, card, work):
    import automl_gpt
    from automl_gpt import _frames
    data = os.path.join(args.datasets, name)
    t0 = time.perf_counter()
    train = pd.read_csv(os.path.join(data, "train.csv"))
    test = pd.read_csv(os.path.join(data, "test.csv"))
    t_read = time.perf_counter()
    X, y = train.drop(columns=[card["target"]]), train[card["target"]]
    # The conversion fit does first, timed on its own (fit repeats it).
    _frames.fit_table(_frames.as_frame(X))
    t_convert = time.perf_counter()
    model = automl_gpt.AutoML(budget=args.budget, seed=args.seed, threads=args.threads, name=name,
                              runs_dir=os.path.join(work, "py-runs"), progress=lambda line: None)
    model.fit(X, y)
    t_fit = time.perf_counter()
    X_test = test.drop(columns=[card["target"]])
    out = model.predict_proba(X_test) if model.task_ != "regression" else model.predict(X_test)
    t_predict = time.perf_counter()
    metric = model.metric_
    classes = list(model.classes_) if model.task_ != "regression" else None
    return {"path": "python", "wall_s": t_predict - t0, "read_s": t_read - t0, "convert_s": t_convert - t_read,
            "fit_s": t_fit - t_convert, "predict_s": t_predict - t_fit, "metric": metric,
            "test_score": test_score(metric, classes, test[card["target"]], out),
            "run_s": model.summary_["seconds"], "trials": model.summary_["n_trials"]}


def table(rows):
    by = {}
    for r in rows:
        by.setdefault(r["dataset"], {}).setdefault(r["path"], []).append(r)
    lines = ["| data set | rows | metric | CLI wall s | Python wall s | ratio | Python: read / convert / fit / predict s "
             "| CLI test | Python test | CLI trials | Python trials |",
             "|---|---:|---|---:|---:|---:|---|---:|---:|---:|---:|"]
    ratios = []
    for name, paths in by.items():
        if "cli" not in paths or "python" not in paths:
            continue
        c, p = paths["cli"], paths["python"]
        mean = lambda rs, k: statistics.mean(r[k] for r in rs)
        ratio = mean(p, "wall_s") / mean(c, "wall_s")
        ratios.append(ratio)
        lines.append(
            f"| {name} | {c[0]['rows']} | {c[0]['metric']} | {mean(c, 'wall_s'):.2f} | {mean(p, 'wall_s'):.2f} "
            f"| {ratio:.3f} | {mean(p, 'read_s'):.2f} / {mean(p, 'convert_s'):.3f} / {mean(p, 'fit_s'):.2f} / "
            f"{mean(p, 'predict_s'):.3f} | {mean(c, 'test_score'):.4f} | {mean(p, 'test_score'):.4f} "
            f"| {mean(c, 'trials'):.0f} | {mean(p, 'trials'):.0f} |")
    if ratios:
        lines.append("")
        lines.append(f"Mean wall-clock ratio Python / CLI: {statistics.mean(ratios):.3f} over {len(ratios)} data sets.")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=os.path.join(ROOT, "..", "shared", "datasets"))
    ap.add_argument("--only", default="pima,credit_data,adult")
    ap.add_argument("--budget", type=float, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "automl-gpt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "python-overhead.jsonl"))
    args = ap.parse_args()
    # The package's import (numpy, pandas, scikit-learn, the C++ module and its libraries),
    # once per process, as the CLI loads its libraries once per run.
    t0 = time.perf_counter()
    import automl_gpt  # noqa: F401
    import_s = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory(prefix="py-overhead-") as work, open(args.out, "w") as out:
        for name in args.only.split(","):
            card = json.load(open(os.path.join(args.datasets, name, "card.json")))
            for rep in range(args.repeats):
                for runner in (run_cli, run_python):
                    r = runner(args, name, card, work)
                    r.update({"dataset": name, "rows": card.get("rows_train"), "budget_s": args.budget,
                              "repeat": rep})
                    rows.append(r)
                    out.write(json.dumps(r) + "\n")
                    out.flush()
                    print(json.dumps(r), file=sys.stderr)
    md = table(rows)
    with open(os.path.splitext(args.out)[0] + ".md", "w") as f:
        f.write(f"# Python package vs CLI, {args.budget:g} s budget, seed {args.seed}, {args.threads} threads\n\n")
        f.write("Made by `bench/python_overhead.py` (see its docstring). Wall seconds: the CLI process from start "
                "to exit (reading, run, test scoring); Python from pandas.read_csv to the test predictions. "
                f"Importing automl_gpt took {import_s:.2f} s once per process (not in the table).\n\n")
        f.write(md + "\n")
    print(md)


if __name__ == "__main__":
    main()

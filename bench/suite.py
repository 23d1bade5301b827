#!/usr/bin/python3
"""Benchmark suite: automl-gpt against the reference peers, side by side, one data set at a time.

For every selected data set under --datasets (a folder holding train.csv, test.csv and
card.json) the suite runs, one after the other and never concurrently (each uses every
thread it is given):

  1. `automl-gpt bench DATASET --budget Ns --seed S --threads T --out RUNDIR --store STORE`,
     with its progress (stderr) going to RUNS_DIR/logs/DATASET.automl-gpt.log and a timeout
     of budget*2+60 seconds;
  2. `peers.py DATASET --peer NAME ... --budget N --seed S --threads T` (the shared reference
     peers; --budget is the search time of optuna-xgb, the same as the project's budget).

Every JSON line (project and peers) is appended to --out as soon as it arrives, so a long run
can be watched with `tail -f` and continued with --resume. Each line carries a "budget" field:
the seconds of the project's run and of optuna-xgb's search, null for the peers whose result
does not depend on the budget (xgb-default, hgb-default, rf-default, linear). At the end one
Markdown table is printed: the scores, the project's ratio to the best peer, to optuna-xgb and
to xgb-default (oriented so that > 1 means automl-gpt is better: score/ref for roc_auc and
accuracy, ref/score for rmse, log_loss and mae), the project's seconds, trials, chosen model and
peak memory, followed by summary lines.

Budget sweep (--budgets 10,30,60,300, which replaces --budget): for each data set the project
runs once per budget and optuna-xgb once per budget, while the budget-independent peers run
once per data set; one results file holds the whole sweep. At the end, for each budget, the
table above (the peers for budget B are the budget-independent peers plus optuna-xgb at B) and
a summary block: the mean ratio to the best peer, the data sets below 0.98 of the best peer,
the share of runs whose chosen model was the constant baseline, and the project's seconds
(fit_s, else wall_s) over the budget (mean, min, max, and the runs below 0.9 or above 1.02 of
it), the median Spearman of the log prediction per modality and its ranking ceiling
(leaderboard_ceiling); then an overview table across the budgets and one cross-budget line: the project at 15 s
(or the smallest budget of the sweep) against the best peer at 60 s (budget-independent peers
plus optuna-xgb at 60 s), with the data sets where it matches (ratio >= 0.995).

Examples (from the repository root):

  /usr/bin/python3 bench/suite.py --budget 60 --out bench-60s.jsonl
  /usr/bin/python3 bench/suite.py --budget 60 --out bench-60s.jsonl --resume
  /usr/bin/python3 bench/suite.py --only iris wine --budget 5 --peers xgb-default,linear
  /usr/bin/python3 bench/suite.py --budget 60 --reuse-peers ../shared/bench/peers-public-60s.jsonl
  /usr/bin/python3 bench/suite.py --table-only bench-60s.jsonl
  /usr/bin/python3 bench/suite.py --modality all --budgets 10,30,60,300 --out bench/results/sweep.jsonl
  /usr/bin/python3 bench/suite.py --table-only bench/results/sweep.jsonl
  /usr/bin/python3 bench/suite.py --table-only bench/results/sweep.jsonl --budgets 15,60

Notes:
  * --only NAME ... runs exactly those sets, whatever their modality, unless --modality is
    also given; without --only, --modality (default tabular) picks the sets.
  * --resume skips (dataset, peer, budget) triples that already have a row in --out (a
    budget-independent peer's row counts for every budget), except rows that record a failure
    of the run itself (timeout, crash, unreadable output), which are retried. Rows written
    before the "budget" field existed get their budget from "budget_s".
  * --reuse-peers FILE takes peer rows from FILE instead of running the peers; peers missing
    from FILE for a data set are run, and so is optuna-xgb when FILE has no row of it at the
    same budget. Reused rows are copied to --out with "reused_from" set, and the table footer
    then says that those peers were not run side by side.
  * --table-only FILE prints one table per budget (the sweep layout) when FILE holds more than
    one budget; --budgets picks budgets (and the sweep layout), --budget one budget.
  * A peer that has no score on a set (the tree peers sit out text-only sets) shows "-" and
    that set is left out of the summaries involving that peer.
"""
import argparse
import csv
import datetime
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from brain import spearman  # bench/brain.py: Spearman's rank correlation, ties averaged

PROJECT = "automl-gpt"
ALL_PEERS = ["xgb-default", "hgb-default", "rf-default", "linear", "optuna-xgb"]
DEFAULT_PEERS = "xgb-default,hgb-default,linear,optuna-xgb"
BUDGET_PEERS = {"optuna-xgb"}  # the peers whose result depends on the budget
LOWER_IS_BETTER = {"rmse", "log_loss", "mae"}
TIE = 1e-9
MATCH = 0.995   # cross-budget line: the short budget "matches" the 60 s best peer at this ratio
BELOW = 0.98    # sweep summary: data sets below this ratio to the best peer
TIME_LOW, TIME_HIGH = 0.9, 1.02  # sweep summary: runs outside these shares of the budget
CROSS_SHORT, CROSS_LONG = 15, 60

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------------------------------
# Results file

def read_rows(path, key="peer"):
    """All JSON objects of a .jsonl file that name a dataset and `key`, skipping blank or broken
    lines (a run killed mid-write)."""
    rows = []
    if not path or not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                print(f"suite: {path}:{number}: skipping a line that is not JSON", file=sys.stderr)
                continue
            if isinstance(row, dict) and "dataset" in row and key in row:
                rows.append(row)
    return rows


def budget_value(seconds):
    """Seconds as written to the "budget" field: 60 rather than 60.0."""
    if seconds is None:
        return None
    seconds = float(seconds)
    return int(seconds) if seconds.is_integer() else seconds


def key_budget(peer, budget):
    """The budget a (peer, budget) pair is stored under: None for budget-independent peers."""
    return budget_value(budget) if peer == PROJECT or peer in BUDGET_PEERS else None


def row_budget(row):
    """The budget a row belongs to: its "budget" field, else (rows written before that field
    existed) its "budget_s"; always None for budget-independent peers."""
    if row["peer"] != PROJECT and row["peer"] not in BUDGET_PEERS:
        return None
    b = row.get("budget", row.get("budget_s"))
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        return budget_value(b)
    return None


def fmt_budget(b):
    return f"{b:g} s"


class Results:
    """Rows kept in memory (last row per dataset/peer/budget wins) and appended to the .jsonl
    file."""

    def __init__(self, path):
        self.path = path
        self.rows = {}
        self.order = []

    def load(self, rows):
        for row in rows:
            self._keep(row)

    def add(self, row):
        self._keep(row)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
            f.flush()

    def _keep(self, row):
        key = (row["dataset"], row["peer"], row_budget(row))
        if key not in self.rows:
            self.order.append(key)
        self.rows[key] = row

    def has(self, dataset, peer, budget):
        row = self.rows.get((dataset, peer, key_budget(peer, budget)))
        return row is not None and not row.get("suite_error")


# ----------------------------------------------------------------------------------------
# Running

def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fmt_num(x):
    if x is None:
        return "-"
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    if abs(x) >= 1000:
        return f"{x:.1f}"
    return f"{x:.4f}"


def failure_row(name, card, peer, error, **extra):
    row = {"dataset": name, "peer": peer, "metric": card.get("metric"), "score": None,
           "error": error[:500], "suite_error": True}
    row.update(extra)
    return row


def tail(path, lines=5):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return " | ".join(l.rstrip() for l in f.readlines()[-lines:])
    except OSError:
        return ""


def unique_dir(parent, stem):
    path = os.path.join(parent, stem)
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(parent, f"{stem}-{n}")
    return path


def leaderboard_spearman(run_dir):
    """The Spearman correlation between the predicted and the real validation scores of a
    run's trials (leaderboard.csv; ensembles, which are never predicted, left out), or None."""
    path = os.path.join(run_dir or "", "leaderboard.csv")
    if not run_dir or not os.path.exists(path):
        return None
    pred, real = [], []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r.get("family") in ("ensemble", "stacking"):
                continue
            try:
                p, v = float(r["predicted_score"]), float(r["validation_score"])
            except (KeyError, TypeError, ValueError):
                continue
            if math.isfinite(p) and math.isfinite(v):
                pred.append(p)
                real.append(v)
    return spearman(pred, real)


def leaderboard_ceiling(run_dir, splits=20):
    """About the highest Spearman any prediction could reach against a run's real validation
    scores, given their own fold-to-fold noise, or None (a holdout run, or fewer than three
    trials with every fold): the trials' scores on a random half of the folds are ranked against
    their scores on the other half (the mean Spearman over `splits` seeded halvings), stepped up
    to all folds by the Spearman-Brown formula, and its square root taken (the attenuation bound:
    no predictor correlates with a measurement better than the measurement with its own repeat).
    Trials with fewer folds than the run's most (cut by the deadline) are left out."""
    path = os.path.join(run_dir or "", "leaderboard.csv")
    if not run_dir or not os.path.exists(path):
        return None
    folds = []
    with open(path, newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r.get("family") in ("ensemble", "stacking"):
                continue
            try:
                float(r["predicted_score"]), float(r["validation_score"])
                scores = [float(v) for v in (r.get("fold_scores") or "").split()]
            except (KeyError, TypeError, ValueError):
                continue
            if scores and all(math.isfinite(v) for v in scores):
                folds.append(scores)
    k = max((len(v) for v in folds), default=0)
    folds = [v for v in folds if len(v) == k]
    if k < 2 or len(folds) < 3:
        return None
    rng = random.Random(0)
    rhos = []
    for _ in range(splits):
        order = list(range(k))
        rng.shuffle(order)
        a, b = order[:k // 2], order[k // 2:]
        rho = spearman([sum(v[i] for i in a) / len(a) for v in folds], [sum(v[i] for i in b) / len(b) for v in folds])
        if rho is not None:
            rhos.append(rho)
    if not rhos:
        return None
    half = sum(rhos) / len(rhos)
    reliability = 2 * half / (1 + half) if half > -1 else 0.0
    return max(reliability, 0.0) ** 0.5


def recorded_or_read(row, field, read):
    """A project row's `field` when recorded in it, else `read` of its run folder (None without a row)."""
    if row is None:
        return None
    if isinstance(row.get(field), (int, float)):
        return float(row[field])
    return read(row.get("run_folder"))


def spearman_of(row):
    """A project row's Spearman (leaderboard_spearman)."""
    return recorded_or_read(row, "spearman", leaderboard_spearman)


def ceiling_of(row):
    """A project row's ranking ceiling (leaderboard_ceiling)."""
    return recorded_or_read(row, "ranking_ceiling", leaderboard_ceiling)


def run_project(args, name, ds_dir, card, results, budget):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = f"{name}-{budget:g}s-{stamp}" if args.budgets else f"{name}-{stamp}"
    run_dir = unique_dir(args.runs_dir, stem)
    log_path = os.path.join(args.runs_dir, "logs", f"{name}.{PROJECT}.log")
    cmd = [args.bin, "bench", ds_dir, "--budget", f"{budget:g}s", "--seed", str(args.seed),
           "--threads", str(args.threads), "--out", run_dir,
           "--store", os.path.join(args.runs_dir, "store.sqlite")]
    timeout = budget * 2 + 60
    b = budget_value(budget)
    log(f"  {PROJECT}: {' '.join(cmd)}")
    start = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as err:
        err.write(f"$ {' '.join(cmd)}\n")
        err.flush()
        try:
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, timeout=timeout,
                                  text=True, cwd=REPO)
        except subprocess.TimeoutExpired:
            wall = time.perf_counter() - start
            results.add(failure_row(name, card, PROJECT, f"timeout after {timeout:g} s",
                                    wall_s=round(wall, 3), log=log_path, budget=b))
            log(f"  {PROJECT}: TIMEOUT after {timeout:g} s (log: {log_path})")
            return
    wall = time.perf_counter() - start
    row = None
    for line in reversed(proc.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                row = json.loads(line)
                break
            except json.JSONDecodeError:
                pass
    if proc.returncode != 0 or row is None or "dataset" not in row:
        error = f"exit code {proc.returncode}" + ("" if row else ", no JSON line on stdout")
        results.add(failure_row(name, card, PROJECT, f"{error}: {tail(log_path, 3)}",
                                wall_s=round(wall, 3), log=log_path, budget=b))
        log(f"  {PROJECT}: FAILED ({error}; log: {log_path})")
        return
    row.setdefault("peer", PROJECT)
    row["dataset"] = name if row.get("dataset") in (None, "") else row["dataset"]
    row["wall_s"] = round(wall, 3)
    row["log"] = log_path
    row["budget"] = b
    row["modality"] = card.get("modality", "tabular")
    rho = leaderboard_spearman(row.get("run_folder"))
    if rho is not None:
        row["spearman"] = round(rho, 4)
    ceiling = leaderboard_ceiling(row.get("run_folder"))
    if ceiling is not None:
        row["ranking_ceiling"] = round(ceiling, 4)
    results.add(row)
    log(f"  {PROJECT}: {row.get('metric')} = {fmt_num(row.get('score'))}  model {row.get('model')}, "
        f"{row.get('trials')} trials, {wall:.1f} s, peak {row.get('peak_rss_mb') or 0:.1f} MB")


def run_peers(args, name, ds_dir, card, peers, results, budget):
    """Runs the peers in one peers.py call with --budget `budget`; the rows of budget-dependent
    peers get "budget": budget, the others "budget": null."""
    log_path = os.path.join(args.runs_dir, "logs", f"{name}.peers.log")
    cmd = [args.python, args.peers_script, ds_dir]
    for p in peers:
        cmd += ["--peer", p]
    cmd += ["--budget", f"{budget:g}", "--seed", str(args.seed), "--threads", str(args.threads)]
    # optuna-xgb searches for --budget seconds and then refits; the others take seconds
    timeout = (budget * 2 + 120 if "optuna-xgb" in peers else 0) + 120 * len(peers)
    log(f"  peers: {' '.join(cmd)}")
    seen = set()
    start = time.perf_counter()
    with open(log_path, "a", encoding="utf-8") as err:
        err.write(f"$ {' '.join(cmd)}\n")
        err.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, cwd=REPO)
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            for line in proc.stdout:  # one JSON line per peer, as each finishes
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if row.get("peer") not in peers:
                    continue
                row["dataset"] = row.get("dataset") or name
                row["budget"] = key_budget(row["peer"], budget)
                seen.add(row["peer"])
                results.add(row)
                note = row.get("skipped") or row.get("error") or ""
                log(f"  {row['peer']}: {row.get('metric')} = {fmt_num(row.get('score'))}"
                    + (f"  ({note})" if note else f"  {row.get('fit_s', 0):.1f} s"))
            proc.wait()
        finally:
            timer.cancel()
    wall = time.perf_counter() - start
    for p in peers:
        if p not in seen:
            why = (f"timeout after {timeout:g} s" if timed_out.is_set()
                   else f"peers.py exit code {proc.returncode}, no row for this peer")
            results.add(failure_row(name, card, p, f"{why}: {tail(log_path, 3)}",
                                    wall_s=round(wall, 3), log=log_path,
                                    budget=key_budget(p, budget)))
            log(f"  {p}: FAILED ({why}; log: {log_path})")


def load_card(ds_dir):
    try:
        with open(os.path.join(ds_dir, "card.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError):
        return None


def select_datasets(args):
    if not os.path.isdir(args.datasets):
        sys.exit(f"suite: no datasets folder {args.datasets} (give --datasets DIR)")
    if args.only:
        names = list(dict.fromkeys(args.only))
        modality = args.modality  # only when given explicitly
    else:
        names = sorted(n for n in os.listdir(args.datasets)
                       if os.path.isfile(os.path.join(args.datasets, n, "card.json")))
        modality = args.modality or "tabular"
    chosen = []
    for n in names:
        card = load_card(os.path.join(args.datasets, n))
        if card is None:
            sys.exit(f"suite: {os.path.join(args.datasets, n)} has no readable card.json")
        card.setdefault("name", n)
        if modality and modality != "all" and card.get("modality", "tabular") != modality:
            if args.only:
                log(f"suite: skipping {n}: modality {card.get('modality')} is not {modality}")
            continue
        chosen.append((n, card))
    if not chosen:
        sys.exit("suite: no data set selected")
    return chosen


def run_suite(args, peers):
    datasets = select_datasets(args)
    budgets = args.budgets or [args.budget]
    results = Results(args.out)
    if args.resume:
        results.load(read_rows(args.out))
    reuse = {}
    if args.reuse_peers:
        for row in read_rows(args.reuse_peers):
            if row["peer"] in peers:
                reuse[(row["dataset"], row["peer"], row_budget(row))] = row

    need_project = any(not (args.resume and results.has(n, PROJECT, b))
                       for n, _ in datasets for b in budgets)
    if need_project and not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
        sys.exit(f"suite: no executable {args.bin} (build it, or give --bin PATH)")
    if peers and not os.path.isfile(args.peers_script):
        sys.exit(f"suite: no peers script {args.peers_script} (give --peers-script PATH)")

    log(f"suite: {len(datasets)} data set(s), budget{'s' * (len(budgets) > 1)} "
        f"{', '.join(f'{b:g}' for b in budgets)} s, {args.threads} threads, "
        f"seed {args.seed}; peers {', '.join(peers) or 'none'}")
    log(f"suite: results -> {args.out}; run folders and logs -> {args.runs_dir}")
    suite_start = time.perf_counter()
    for i, (name, card) in enumerate(datasets, 1):
        ds_dir = os.path.join(args.datasets, name)
        log(f"[{i}/{len(datasets)}] {name} ({card.get('task')}, {card.get('metric')}, "
            f"{card.get('rows_train', '?')} train rows)")
        tried = set()  # budget-independent peers run (or skipped) at an earlier budget
        for budget in budgets:
            at = f" at {budget:g} s" if args.budgets else ""
            if args.resume and results.has(name, PROJECT, budget):
                log(f"  {PROJECT}{at}: already in {args.out}, skipped")
            else:
                run_project(args, name, ds_dir, card, results, budget)
            to_run = []
            for p in peers:
                kb = key_budget(p, budget)
                if kb is None and p in tried:
                    continue
                tried.add(p)
                p_at = at if kb is not None else ""
                if args.resume and results.has(name, p, budget):
                    log(f"  {p}{p_at}: already in {args.out}, skipped")
                elif (name, p, kb) in reuse:
                    row = dict(reuse[(name, p, kb)])
                    row["reused_from"] = os.path.abspath(args.reuse_peers)
                    row["budget"] = kb
                    results.add(row)
                    log(f"  {p}{p_at}: {row.get('metric')} = {fmt_num(row.get('score'))}  (reused "
                        f"from {args.reuse_peers})")
                else:
                    to_run.append(p)
            if to_run:
                run_peers(args, name, ds_dir, card, to_run, results, budget)
    log(f"suite: done in {time.perf_counter() - suite_start:.0f} s; results in {args.out}")
    names = [n for n, _ in datasets]
    return [results.rows[k] for k in results.order if k[0] in names], names


# ----------------------------------------------------------------------------------------
# Table

def ratio(project, ref, metric):
    """> 1 means the project is better."""
    if project is None or ref is None:
        return None
    if metric in LOWER_IS_BETTER:
        if project == 0:
            return math.inf if ref > 0 else 1.0
        return ref / project
    if ref == 0:
        return math.inf if project > 0 else 1.0
    return project / ref


def at_least(project, ref, metric):
    if metric in LOWER_IS_BETTER:
        return project <= ref + TIE
    return project >= ref - TIE


def best_of(scores, metric):
    scores = [s for s in scores if s is not None]
    if not scores:
        return None
    return min(scores) if metric in LOWER_IS_BETTER else max(scores)


def score_of(row):
    if row is None:
        return None
    s = row.get("score")
    if isinstance(s, (int, float)) and not isinstance(s, bool) and not math.isnan(s):
        return float(s)
    return None


def fmt_ratio(r):
    if r is None:
        return "-"
    if math.isinf(r):
        return "inf"
    return f"{r:.3f}"


def mean(values):
    values = [v for v in values if v is not None and not math.isinf(v)]
    return (sum(values) / len(values), len(values)) if values else (None, 0)


def peers_of(rows):
    """The peers named in rows, in the usual column order."""
    found = {row["peer"] for row in rows}
    peers = [p for p in ALL_PEERS if p in found]
    return peers + sorted(p for p in found if p not in peers and p != PROJECT)


def index(rows, datasets=None):
    """Rows by (dataset, peer), the last one winning, and the data sets in order."""
    by = {}
    order = []
    for row in rows:
        by[(row["dataset"], row["peer"])] = row
        if row["dataset"] not in order:
            order.append(row["dataset"])
    if datasets is not None:
        order = [d for d in datasets if d in order]
    return by, order


def metric_of(by, d, peers):
    return next((by[(d, p)].get("metric") for p in [PROJECT] + peers
                 if (d, p) in by and by[(d, p)].get("metric")), "?")


def vs_best_peer(by, d, peers):
    """(metric, the project's score, the best peer's score, their ratio) on data set d."""
    metric = metric_of(by, d, peers)
    ps = score_of(by.get((d, PROJECT)))
    best = best_of([score_of(by.get((d, p))) for p in peers], metric)
    return metric, ps, best, ratio(ps, best, metric)


NOTES = ("Ratios are oriented so that > 1 means automl-gpt is better (score/peer for "
         "roc_auc and accuracy, peer/score for rmse); \"-\" means no score (the tree peers "
         "sit out text-only sets), and such sets are left out of that peer's summaries. "
         "s = automl-gpt's fit_s, peak MB = its peak RSS.")


def table(rows, peers=None, datasets=None, notes=True):
    """The Markdown table and summary lines for rows (last row per dataset/peer wins); notes=False
    leaves out the paragraph that explains the columns."""
    by, order = index(rows, datasets)
    if peers is None:
        peers = peers_of(rows)

    head = ["dataset", "metric", PROJECT] + peers + [
        "vs best peer", "vs optuna-xgb", "vs xgb-default", "s", "trials", "model", "peak MB"]
    lines = ["| " + " | ".join(head) + " |",
             "| " + " | ".join(["---", "---"] + ["---:"] * (len(head) - 4) + ["---", "---:"]) + " |"]
    vs_best, vs_optuna, vs_xgb = [], [], []
    wins = n_xgb = 0
    adult = None
    failures = []
    reused, side_by_side = set(), set()
    budgets, threads, peer_budgets = set(), set(), set()
    for d in order:
        proj = by.get((d, PROJECT))
        metric = metric_of(by, d, peers)
        ps = score_of(proj)
        if proj is None:
            failures.append(f"{d}: no {PROJECT} row")
        elif ps is None:
            failures.append(f"{d}: {PROJECT} {proj.get('error', 'no score')}")
        else:
            budgets.add(proj.get("budget_s"))
            threads.add(proj.get("threads"))
        peer_scores = {}
        for p in peers:
            row = by.get((d, p))
            peer_scores[p] = score_of(row)
            if row is not None:
                (reused if row.get("reused_from") else side_by_side).add(p)
                if p == "optuna-xgb" and isinstance(row.get("budget_s"), (int, float)):
                    peer_budgets.add(row["budget_s"])
                if row.get("suite_error") or (row.get("error") and peer_scores[p] is None):
                    failures.append(f"{d}: {p} {row.get('error')}")
        best = best_of(peer_scores.values(), metric)
        r_best = ratio(ps, best, metric)
        r_opt = ratio(ps, peer_scores.get("optuna-xgb"), metric)
        r_xgb = ratio(ps, peer_scores.get("xgb-default"), metric)
        if best is not None and ps is not None:
            vs_best.append(r_best)
        if r_opt is not None:
            vs_optuna.append(r_opt)
        xs = peer_scores.get("xgb-default")
        if xs is not None:
            n_xgb += 1
            if ps is not None and at_least(ps, xs, metric):
                wins += 1
        if d == "adult" and ps is not None:
            adult = (metric, ps, peer_scores.get("optuna-xgb"), r_opt)
        proj = proj or {}
        cells = [d, metric, fmt_num(ps)] + [fmt_num(peer_scores[p]) for p in peers] + [
            fmt_ratio(r_best), fmt_ratio(r_opt), fmt_ratio(r_xgb),
            f"{proj['fit_s']:.1f}" if isinstance(proj.get("fit_s"), (int, float)) else "-",
            str(proj.get("trials", "-")), str(proj.get("model") or "-"),
            f"{proj['peak_rss_mb']:.1f}" if isinstance(proj.get("peak_rss_mb"), (int, float)) else "-"]
        lines.append("| " + " | ".join(cells) + " |")

    lines.append("")
    if n_xgb:
        lines.append(f"- {PROJECT} >= xgb-default on {wins} of {n_xgb} data set{'s' * (n_xgb != 1)} "
                     f"({100.0 * wins / n_xgb:.0f}%; ties within {TIE:g} count as >=).")
    else:
        lines.append(f"- {PROJECT} >= xgb-default: n/a (no xgb-default scores).")
    m, n = mean(vs_optuna)
    lines.append(f"- Mean ratio to optuna-xgb: {fmt_ratio(m)} over {n} data set{'s' * (n != 1)}." if n
                 else "- Mean ratio to optuna-xgb: n/a (no optuna-xgb scores).")
    if adult is not None:
        metric, ps, os_, r = adult
        if os_ is not None:
            lines.append(f"- adult ({metric}): {PROJECT} {ps:.4f} vs optuna-xgb {os_:.4f}, "
                         f"ratio {fmt_ratio(r)}.")
        else:
            lines.append(f"- adult ({metric}): {PROJECT} {ps:.4f}; no optuna-xgb score.")
    m, n = mean(vs_best)
    lines.append(f"- Mean ratio to the best peer: {fmt_ratio(m)} over {n} data set{'s' * (n != 1)}." if n
                 else "- Mean ratio to the best peer: n/a (no peer scores).")
    lines.append("")
    if notes:
        lines.append(NOTES)
    setting = []
    if budgets - {None}:
        setting.append("budget " + ", ".join(f"{b:g} s" for b in sorted(budgets - {None})))
    if threads - {None}:
        setting.append("threads " + ", ".join(str(t) for t in sorted(threads - {None})))
    if peer_budgets:
        setting.append("optuna-xgb budget " + ", ".join(f"{b:g} s" for b in sorted(peer_budgets)))
    if reused:
        files = sorted({by[k].get("reused_from") for k in by if by[k].get("reused_from")})
        lines.append(f"Peer rows for {', '.join(p for p in peers if p in reused)} were taken from "
                     f"{', '.join(files)}: those peers were NOT run side by side with {PROJECT} "
                     "in this run (other time and machine load), so compare with care"
                     + (f" ({PROJECT} {', '.join(setting)})." if setting else "."))
    elif side_by_side and budgets:
        lines.append(f"All peers were run side by side with {PROJECT} on the same machine, one "
                     "after the other" + (f" ({', '.join(setting)})." if setting else "."))
    if failures:
        lines.append("")
        lines.append("Failures:")
        lines.extend(f"- {f}" for f in failures)
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------
# Budget sweep

def budgets_of(rows):
    """The budgets of the budget-dependent rows (the project's and optuna-xgb's), ascending."""
    return sorted({b for b in map(row_budget, rows) if b is not None})


def at_budget(rows, budget):
    """The rows that make up the comparison at `budget`: the project's and optuna-xgb's rows of
    that budget, and every budget-independent peer's row. With budget None, the budget-dependent
    rows of any budget (a file of a single budget)."""
    out = []
    for row in rows:
        b = row_budget(row)
        if budget is None or b == budget or (b is None and (row["peer"] != PROJECT and
                                                            row["peer"] not in BUDGET_PEERS)):
            out.append(row)
    return out


def names_with(items):
    return ", ".join(f"{d} {fmt_ratio(r)}" for d, r in items)


def seconds_used(proj):
    """fit_s (else wall_s) of a project row, or None; a failed run counts only if it timed out
    (a crash says nothing about the time the run would have used)."""
    if proj is None:
        return None
    if proj.get("suite_error") and not str(proj.get("error", "")).startswith("timeout"):
        return None
    for k in ("fit_s", "wall_s"):
        if isinstance(proj.get(k), (int, float)) and not isinstance(proj.get(k), bool):
            return float(proj[k])
    return None


def sweep_summary(rows, peers, datasets, budget):
    """The measures of one budget: a dict, and the lines of its summary block."""
    by, order = index(at_budget(rows, budget), datasets)
    vs, below, runs, constant, used, rhos, ceilings = [], [], 0, [], [], [], []
    for d in order:
        metric, ps, best, r = vs_best_peer(by, d, peers)
        if ps is not None and best is not None:
            vs.append(r)
            if r < BELOW:
                below.append((d, r))
        proj = by.get((d, PROJECT))
        if proj is not None and proj.get("model"):
            runs += 1
            if str(proj["model"]).strip().lower() == "constant":
                constant.append(d)
        sec = seconds_used(proj)
        if sec is not None:
            used.append((d, sec / budget))
        rho = spearman_of(proj)
        if rho is not None:
            rhos.append((d, modality_of(proj, d), rho))
            ceiling = ceiling_of(proj)
            if ceiling is not None:
                ceilings.append((rho, ceiling))
    m, n = mean(vs)
    shares = [u for _, u in used]
    low = [(d, u) for d, u in used if u < TIME_LOW]
    high = [(d, u) for d, u in used if u > TIME_HIGH]
    s = {"budget": budget, "sets": n, "mean": m, "below": below, "runs": runs, "constant": constant,
         "used": shares, "low": low, "high": high, "spearman": median([r for _, _, r in rhos]),
         "spearman_runs": len(rhos)}
    lines = [f"Summary at {fmt_budget(budget)}:"]
    lines.append(f"- Mean ratio to the best peer: {fmt_ratio(m)} over {n} data set{'s' * (n != 1)}."
                 if n else "- Mean ratio to the best peer: n/a (no data set with both scores).")
    lines.append(f"- Below {BELOW:g} of the best peer: {len(below)} of {n}"
                 + (f": {names_with(below)}." if below else "."))
    lines.append(f"- Constant baseline chosen: {len(constant)} of {runs} run{'s' * (runs != 1)}"
                 + (f" ({100.0 * len(constant) / runs:.0f}%)" if runs else "")
                 + (f": {', '.join(constant)}." if constant else "."))
    if shares:
        lines.append(f"- Seconds used / budget ({PROJECT}'s fit_s, else wall seconds): mean "
                     f"{sum(shares) / len(shares):.3f}, min {min(shares):.3f}, max {max(shares):.3f} "
                     f"over {len(shares)} run{'s' * (len(shares) != 1)}; below {TIME_LOW:g}: "
                     f"{len(low)}" + (f" ({names_with(low)})" if low else "")
                     + f"; above {TIME_HIGH:g}: {len(high)}"
                     + (f" ({names_with(high)})" if high else "") + ".")
    else:
        lines.append("- Seconds used / budget: n/a (no timed run).")
    if rhos:
        by_modality = {}
        for _, mod, r in rhos:
            by_modality.setdefault(mod, []).append(r)
        lines.append(f"- Log prediction: median Spearman between predicted and real validation scores "
                     f"{median([r for _, _, r in rhos]):.3f} over {len(rhos)} runs ("
                     + ", ".join(f"{mod} {median(v):.3f} over {len(v)}" for mod, v in sorted(by_modality.items()))
                     + "); lowest: " + ", ".join(f"{d} {r:.2f}" for d, _, r in sorted(rhos, key=lambda t: t[2])[:3])
                     + ".")
        if ceilings:
            lines.append(f"- Ranking ceiling (the Spearman the real scores' own fold-to-fold noise allows; runs "
                         f"validated on folds): median {median([c for _, c in ceilings]):.3f} over {len(ceilings)} "
                         f"runs, whose Spearman's median is {median([r for r, _ in ceilings]):.3f}.")
    return s, lines


def median(values):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def modality_of(row, name):
    """A project row's modality: recorded in the row, else the shared data set's card."""
    if row.get("modality"):
        return row["modality"]
    try:
        with open(os.path.join(os.path.dirname(REPO), "shared", "datasets", name, "card.json"),
                  encoding="utf-8") as f:
            return json.load(f).get("modality", "tabular")
    except (OSError, ValueError, TypeError):
        return "tabular"


def cross_budget_line(rows, peers, datasets, budgets):
    """The project at CROSS_SHORT s (else the smallest budget) against the best peer at
    CROSS_LONG s (budget-independent peers plus optuna-xgb at CROSS_LONG s)."""
    short = CROSS_SHORT if CROSS_SHORT in budgets else min(budgets)
    head = (f"- {PROJECT} at {fmt_budget(short)} vs the best peer at {fmt_budget(CROSS_LONG)} "
            f"(budget-independent peers plus optuna-xgb at {fmt_budget(CROSS_LONG)})")
    long_rows = at_budget(rows, CROSS_LONG)
    if "optuna-xgb" in peers and not any(r["peer"] == "optuna-xgb" for r in long_rows):
        return head + f": n/a (no optuna-xgb row at {fmt_budget(CROSS_LONG)})."
    by_short, order = index(at_budget(rows, short), datasets)
    by_long, _ = index(long_rows, datasets)
    vs, missed = [], []
    for d in order:
        metric = metric_of(by_short, d, peers)
        ps = score_of(by_short.get((d, PROJECT)))
        best = best_of([score_of(by_long.get((d, p))) for p in peers], metric)
        r = ratio(ps, best, metric)
        if r is None:
            continue
        vs.append(r)
        if r < MATCH:
            missed.append((d, r))
    m, n = mean(vs)
    if not vs:
        return head + ": n/a (no data set with both scores)."
    return (head + f": mean ratio {fmt_ratio(m)} over {n} data set{'s' * (n != 1)}; matches it "
            f"(ratio >= {MATCH:g}) on {len(vs) - len(missed)} of {len(vs)}"
            + (f"; not on {names_with(missed)}." if missed else "."))


def sweep_tables(rows, peers, datasets, budgets):
    """For each budget the table and its summary block, then an overview across budgets and the
    cross-budget line."""
    if peers is None:
        peers = peers_of(rows)
    independent = [p for p in peers if p not in BUDGET_PEERS]
    dependent = [p for p in peers if p in BUDGET_PEERS]
    out = [f"# {PROJECT} budget sweep: {', '.join(fmt_budget(b) for b in budgets)}", ""]
    if peers:
        out.append("Peers at each budget: " + ", ".join(
            [f"{', '.join(independent)} (run once per data set)"] * bool(independent)
            + [f"{p} at that budget" for p in dependent]) + ".")
        out.append("")
    summaries = []
    for b in budgets:
        out.append(f"## Budget {fmt_budget(b)}")
        out.append("")
        out.append(table(at_budget(rows, b), peers, datasets, notes=False))
        out.append("")
        s, lines = sweep_summary(rows, peers, datasets, b)
        summaries.append(s)
        out.extend(lines)
        out.append("")
    out.append("## Across budgets")
    out.append("")
    head = ["budget", "data sets", "mean vs best peer", f"below {BELOW:g}", "constant",
            "s/budget mean", "min", "max", f"< {TIME_LOW:g}", f"> {TIME_HIGH:g}", "median Spearman"]
    out.append("| " + " | ".join(head) + " |")
    out.append("| " + " | ".join(["---:"] * len(head)) + " |")
    for s in summaries:
        used = s["used"]
        out.append("| " + " | ".join([
            f"{s['budget']:g}", str(s["sets"]), fmt_ratio(s["mean"]), str(len(s["below"])),
            f"{len(s['constant'])}/{s['runs']}",
            f"{sum(used) / len(used):.3f}" if used else "-",
            f"{min(used):.3f}" if used else "-", f"{max(used):.3f}" if used else "-",
            str(len(s["low"])), str(len(s["high"])),
            f"{s['spearman']:.3f}" if s["spearman"] is not None else "-"]) + " |")
    out.append("")
    out.append(cross_budget_line(rows, peers, datasets, budgets))
    out.append("")
    out.append(NOTES + f" Below {BELOW:g}: data sets whose ratio to the best peer is under "
               f"{BELOW:g}; constant: runs whose chosen model was the constant baseline; "
               f"s/budget: {PROJECT}'s fit_s (else wall seconds) over the budget.")
    return "\n".join(out)


# ----------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds for automl-gpt and for optuna-xgb's search (default 60)")
    ap.add_argument("--budgets", metavar="B1,B2,...",
                    help="budget sweep: comma-separated seconds (e.g. 10,30,60,300), replacing "
                         "--budget; the project and optuna-xgb run once per budget, the other "
                         "peers once per data set; with --table-only, the budgets to show")
    ap.add_argument("--datasets", default=os.path.join(os.path.dirname(REPO), "shared", "datasets"),
                    help="folder of benchmark sets (default ../shared/datasets beside the repo)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run only these data sets")
    ap.add_argument("--modality", choices=["tabular", "text", "image", "all"],
                    help="sets of this modality (default tabular; ignored with --only unless given)")
    ap.add_argument("--peers", default=None,
                    help=f"comma-separated peers (default {DEFAULT_PEERS}; also rf-default; "
                         "'none' for the project alone)")
    ap.add_argument("--threads", type=int, default=2, help="threads for the project and peers (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bin", default=os.path.join(REPO, "build", "automl-gpt"),
                    help="automl-gpt executable (default build/automl-gpt)")
    ap.add_argument("--peers-script", default=None,
                    help="peers.py (default DATASETS/../bench/peers.py)")
    ap.add_argument("--python", default="/usr/bin/python3" if os.path.exists("/usr/bin/python3")
                    else sys.executable, help="interpreter for peers.py (default /usr/bin/python3)")
    ap.add_argument("--out", metavar="FILE.jsonl",
                    help="append every JSON line here as it arrives (default RUNS_DIR/results.jsonl)")
    ap.add_argument("--resume", action="store_true",
                    help="skip dataset/peer/budget triples already in --out")
    ap.add_argument("--reuse-peers", metavar="FILE.jsonl",
                    help="take peer rows from this earlier file instead of running the peers")
    ap.add_argument("--runs-dir", metavar="DIR",
                    help="project run folders, run store and logs (default a new temp dir)")
    ap.add_argument("--table-only", metavar="FILE.jsonl",
                    help="print the table of an existing results file and run nothing")
    args = ap.parse_args()

    if args.budgets is not None:
        budgets = []
        for part in args.budgets.split(","):
            part = part.strip().lower()
            part = part[:-1] if part.endswith("s") else part
            if not part:
                continue
            try:
                b = float(part)
            except ValueError:
                ap.error(f"--budgets: {part!r} is not a number of seconds")
            if not b > 0 or math.isinf(b):
                ap.error("--budgets: every budget must be positive")
            budgets.append(budget_value(b))
        if not budgets:
            ap.error("--budgets: give at least one budget, e.g. --budgets 10,30,60,300")
        args.budgets = sorted(set(budgets))
        if args.budget is not None and not args.table_only:
            log(f"suite: --budgets given, --budget {args.budget:g} ignored")

    peers = None
    if args.peers is not None:
        peers = [] if args.peers.strip() in ("", "none") else \
            list(dict.fromkeys(p.strip() for p in args.peers.split(",") if p.strip()))
        bad = [p for p in peers if p not in ALL_PEERS]
        if bad:
            ap.error(f"unknown peer(s) {', '.join(bad)}; choose from {', '.join(ALL_PEERS)}")

    if args.table_only:
        if not os.path.exists(args.table_only):
            sys.exit(f"suite: no file {args.table_only}")
        rows = read_rows(args.table_only)
        if args.only:
            rows = [r for r in rows if r["dataset"] in args.only]
        if not rows:
            sys.exit(f"suite: no rows in {args.table_only}")
        in_file = budgets_of(rows)
        if args.budgets:
            missing = [b for b in args.budgets if b not in in_file]
            if missing:
                log(f"suite: no {PROJECT} or optuna-xgb row at "
                    f"{', '.join(fmt_budget(b) for b in missing)} in {args.table_only}")
            print(sweep_tables(rows, peers, args.only, args.budgets))
        elif args.budget is not None:
            print(table(at_budget(rows, budget_value(args.budget)), peers, args.only))
        elif len(in_file) > 1:
            print(sweep_tables(rows, peers, args.only, in_file))
        else:
            print(table(rows, peers, args.only))
        return 0

    if args.budget is None:
        args.budget = 60.0
    if args.budget <= 0:
        ap.error("--budget must be positive")
    if args.resume and not args.out:
        ap.error("--resume needs --out FILE.jsonl")
    if peers is None:
        peers = DEFAULT_PEERS.split(",")
    args.datasets = os.path.abspath(args.datasets)
    args.bin = os.path.abspath(args.bin)
    args.peers_script = os.path.abspath(args.peers_script or
                                        os.path.join(os.path.dirname(args.datasets), "bench", "peers.py"))
    if args.python and not os.path.isabs(args.python):
        args.python = shutil.which(args.python) or args.python
    args.runs_dir = os.path.abspath(args.runs_dir or tempfile.mkdtemp(prefix="automl-gpt-bench-"))
    os.makedirs(os.path.join(args.runs_dir, "logs"), exist_ok=True)
    args.out = os.path.abspath(args.out or os.path.join(args.runs_dir, "results.jsonl"))
    if os.path.dirname(args.out):
        os.makedirs(os.path.dirname(args.out), exist_ok=True)

    rows, names = run_suite(args, peers)
    if args.budgets:
        print(sweep_tables(rows, peers, names, args.budgets))
    else:
        print(table(at_budget(rows, budget_value(args.budget)), peers, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

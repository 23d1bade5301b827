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
can be watched with `tail -f` and continued with --resume. At the end one Markdown table is
printed: the scores, the project's ratio to the best peer, to optuna-xgb and to xgb-default
(oriented so that > 1 means automl-gpt is better: score/ref for roc_auc and accuracy,
ref/score for rmse), the project's seconds, trials, chosen model and peak memory, followed by
summary lines.

Examples (from the repository root):

  /usr/bin/python3 bench/suite.py --budget 60 --out bench-60s.jsonl
  /usr/bin/python3 bench/suite.py --budget 60 --out bench-60s.jsonl --resume
  /usr/bin/python3 bench/suite.py --only iris wine --budget 5 --peers xgb-default,linear
  /usr/bin/python3 bench/suite.py --budget 60 --reuse-peers ../shared/bench/peers-public-60s.jsonl
  /usr/bin/python3 bench/suite.py --table-only bench-60s.jsonl

Notes:
  * --only NAME ... runs exactly those sets, whatever their modality, unless --modality is
    also given; without --only, --modality (default tabular) picks the sets.
  * --resume skips (dataset, peer) pairs that already have a row in --out, except rows that
    record a failure of the run itself (timeout, crash, unreadable output), which are retried.
  * --reuse-peers FILE takes peer rows from FILE instead of running the peers; peers missing
    from FILE for a data set are run. Reused rows are copied to --out with "reused_from" set,
    and the table footer then says that those peers were not run side by side.
  * A peer that has no score on a set (the tree peers sit out text-only sets) shows "-" and
    that set is left out of the summaries involving that peer.
"""
import argparse
import datetime
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PROJECT = "automl-gpt"
ALL_PEERS = ["xgb-default", "hgb-default", "rf-default", "linear", "optuna-xgb"]
DEFAULT_PEERS = "xgb-default,hgb-default,linear,optuna-xgb"
LOWER_IS_BETTER = {"rmse", "log_loss", "mae"}
TIE = 1e-9

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


class Results:
    """Rows kept in memory (last row per dataset/peer wins) and appended to the .jsonl file."""

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
        key = (row["dataset"], row["peer"])
        if key not in self.rows:
            self.order.append(key)
        self.rows[key] = row

    def has(self, dataset, peer):
        row = self.rows.get((dataset, peer))
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


def run_project(args, name, ds_dir, card, results):
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = unique_dir(args.runs_dir, f"{name}-{stamp}")
    log_path = os.path.join(args.runs_dir, "logs", f"{name}.{PROJECT}.log")
    cmd = [args.bin, "bench", ds_dir, "--budget", f"{args.budget:g}s", "--seed", str(args.seed),
           "--threads", str(args.threads), "--out", run_dir,
           "--store", os.path.join(args.runs_dir, "store.sqlite")]
    timeout = args.budget * 2 + 60
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
                                    wall_s=round(wall, 3), log=log_path))
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
                                wall_s=round(wall, 3), log=log_path))
        log(f"  {PROJECT}: FAILED ({error}; log: {log_path})")
        return
    row.setdefault("peer", PROJECT)
    row["dataset"] = name if row.get("dataset") in (None, "") else row["dataset"]
    row["wall_s"] = round(wall, 3)
    row["log"] = log_path
    results.add(row)
    log(f"  {PROJECT}: {row.get('metric')} = {fmt_num(row.get('score'))}  model {row.get('model')}, "
        f"{row.get('trials')} trials, {wall:.1f} s, peak {row.get('peak_rss_mb') or 0:.1f} MB")


def run_peers(args, name, ds_dir, card, peers, results):
    log_path = os.path.join(args.runs_dir, "logs", f"{name}.peers.log")
    cmd = [args.python, args.peers_script, ds_dir]
    for p in peers:
        cmd += ["--peer", p]
    cmd += ["--budget", f"{args.budget:g}", "--seed", str(args.seed), "--threads", str(args.threads)]
    # optuna-xgb searches for --budget seconds and then refits; the others take seconds
    timeout = (args.budget * 2 + 120 if "optuna-xgb" in peers else 0) + 120 * len(peers)
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
                                    wall_s=round(wall, 3), log=log_path))
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
    results = Results(args.out)
    if args.resume:
        results.load(read_rows(args.out))
    reuse = {}
    if args.reuse_peers:
        for row in read_rows(args.reuse_peers):
            if row["peer"] in peers:
                reuse[(row["dataset"], row["peer"])] = row

    need_project = any(not (args.resume and results.has(n, PROJECT)) for n, _ in datasets)
    if need_project and not (os.path.isfile(args.bin) and os.access(args.bin, os.X_OK)):
        sys.exit(f"suite: no executable {args.bin} (build it, or give --bin PATH)")
    if peers and not os.path.isfile(args.peers_script):
        sys.exit(f"suite: no peers script {args.peers_script} (give --peers-script PATH)")

    log(f"suite: {len(datasets)} data set(s), budget {args.budget:g} s, {args.threads} threads, "
        f"seed {args.seed}; peers {', '.join(peers) or 'none'}")
    log(f"suite: results -> {args.out}; run folders and logs -> {args.runs_dir}")
    suite_start = time.perf_counter()
    for i, (name, card) in enumerate(datasets, 1):
        ds_dir = os.path.join(args.datasets, name)
        log(f"[{i}/{len(datasets)}] {name} ({card.get('task')}, {card.get('metric')}, "
            f"{card.get('rows_train', '?')} train rows)")
        if args.resume and results.has(name, PROJECT):
            log(f"  {PROJECT}: already in {args.out}, skipped")
        else:
            run_project(args, name, ds_dir, card, results)
        to_run = []
        for p in peers:
            if args.resume and results.has(name, p):
                log(f"  {p}: already in {args.out}, skipped")
            elif (name, p) in reuse:
                row = dict(reuse[(name, p)])
                row["reused_from"] = os.path.abspath(args.reuse_peers)
                results.add(row)
                log(f"  {p}: {row.get('metric')} = {fmt_num(row.get('score'))}  (reused from "
                    f"{args.reuse_peers})")
            else:
                to_run.append(p)
        if to_run:
            run_peers(args, name, ds_dir, card, to_run, results)
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


def table(rows, peers=None, datasets=None):
    """The Markdown table and summary lines for rows (last row per dataset/peer wins)."""
    by = {}
    order = []
    for row in rows:
        key = (row["dataset"], row["peer"])
        by[key] = row
        if row["dataset"] not in order:
            order.append(row["dataset"])
    if datasets is not None:
        order = [d for d in datasets if d in order]
    if peers is None:
        found = {p for (_, p) in by}
        peers = [p for p in ALL_PEERS if p in found]
        peers += sorted(p for p in found if p not in peers and p != PROJECT)

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
        metric = next((by[(d, p)].get("metric") for p in [PROJECT] + peers
                       if (d, p) in by and by[(d, p)].get("metric")), "?")
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
    lines.append("Ratios are oriented so that > 1 means automl-gpt is better (score/peer for "
                 "roc_auc and accuracy, peer/score for rmse); \"-\" means no score (the tree peers "
                 "sit out text-only sets), and such sets are left out of that peer's summaries. "
                 "s = automl-gpt's fit_s, peak MB = its peak RSS.")
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

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=60.0,
                    help="seconds for automl-gpt and for optuna-xgb's search (default 60)")
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
                    help="skip dataset/peer pairs already in --out")
    ap.add_argument("--reuse-peers", metavar="FILE.jsonl",
                    help="take peer rows from this earlier file instead of running the peers")
    ap.add_argument("--runs-dir", metavar="DIR",
                    help="project run folders, run store and logs (default a new temp dir)")
    ap.add_argument("--table-only", metavar="FILE.jsonl",
                    help="print the table of an existing results file and run nothing")
    args = ap.parse_args()

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
        print(table(rows, peers, args.only))
        return 0

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
    print(table(rows, peers, names))
    return 0


if __name__ == "__main__":
    sys.exit(main())

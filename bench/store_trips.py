#!/usr/bin/env python3
"""Store round trips per trial of a study on PostgreSQL, counted by the store itself.

Starts a throwaway PostgreSQL server (scripts/pg-test-server.sh), runs one study with
`--workers remote` and W `automl-gpt worker --run ID` processes, and reads the line each
process prints as it ends ("store round trips: N in all; claim_trial C calls T trips,
..."), counted by PostgresStore per operation: every statement and every BEGIN and
COMMIT is one round trip. Prints a Markdown table on stdout: per operation, the round
trips of the coordinator and of the workers, in all and per recorded trial. Run it under
`nice -n 10` (the machine is shared):

    nice -n 10 /usr/bin/python3 bench/store_trips.py --dataset pima --budget 40 --workers 2 \
        > bench/results/store-trips-DATE.md
"""
import argparse
import json
import os
import re
import subprocess
import tempfile
import time

LINE = re.compile(r"store round trips: (\d+) in all; (.*)")
ITEM = re.compile(r"(\S+) (\d+) calls (\d+) trips")


def tally(text):
    """{operation: (calls, trips)} from a process's last round-trip line."""
    found = LINE.findall(text)
    if not found:
        return {}
    return {m.group(1): (int(m.group(2)), int(m.group(3))) for m in ITEM.finditer(found[-1][1])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/automl-gpt")
    ap.add_argument("--dataset", default="pima")
    ap.add_argument("--root", default="../shared/datasets")
    ap.add_argument("--budget", type=float, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    env = dict(os.environ)
    started = subprocess.run(["scripts/pg-test-server.sh", "start"], capture_output=True, text=True, check=True)
    for key, value in re.findall(r"export (\w+)='([^']*)'", started.stdout):
        env[key] = value
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ds = os.path.join(a.root, a.dataset)
            card = json.load(open(os.path.join(ds, "card.json")))
            out = os.path.join(tmp, "run")
            uri = env["AUTOML_TEST_POSTGRES"]
            coordinator = subprocess.Popen(
                [a.binary, "run", os.path.join(ds, "train.csv"), "--target", card["target"], "--test",
                 os.path.join(ds, "test.csv"), "--budget", f"{a.budget}s", "--seed", str(a.seed), "--threads", "1",
                 "--out", out, "--store", uri, "--workers", "remote"],
                env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "coordinator.log"), "w"))
            request = os.path.join(out, "request.json")
            for _ in range(600):
                if os.path.exists(request):
                    try:
                        run_id = json.load(open(request))["run_id"]
                        break
                    except (ValueError, KeyError):
                        pass
                time.sleep(0.1)
            workers = [subprocess.Popen([a.binary, "worker", "--store", uri, "--run", run_id, "--threads", "1"],
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(tmp, f"worker-{i}.log"), "w"))
                       for i in range(a.workers)]
            coordinator.wait()
            for w in workers:
                w.wait()
            coordinator_err = open(os.path.join(tmp, "coordinator.log")).read()
            worker_errs = [open(os.path.join(tmp, f"worker-{i}.log")).read() for i in range(a.workers)]
            summary = json.load(open(os.path.join(out, "summary.json")))
    finally:
        subprocess.run(["scripts/pg-test-server.sh", "stop", env.get("AUTOML_TEST_PG_DIR", "")], capture_output=True)
    trials = summary.get("n_trials", 0)
    c = tally(coordinator_err)
    w = {}
    for text in worker_errs:
        for op, (calls, trips) in tally(text).items():
            pc, pt = w.get(op, (0, 0))
            w[op] = (pc + calls, pt + trips)
    recorded = sum(len(re.findall(r"\] trial \d+ \w+: score", text)) for text in worker_errs)
    print(f"# Store round trips per trial: {a.dataset}, {a.budget:.0f} s, {a.workers} workers on PostgreSQL\n")
    print(f"`nice -n 10 bench/store_trips.py --dataset {a.dataset} --budget {a.budget:.0f} --workers {a.workers}`: "
          f"{trials} trials in the study, {recorded} recorded by workers, search "
          f"{summary.get('time', {}).get('search', 0):.1f} s, test score {summary.get('test_score')}, load at the end "
          f"{os.getloadavg()[0]:.1f}. Counted by PostgresStore in each process: each statement, BEGIN and COMMIT is "
          "one round trip (a login, `connect`, is a few more).\n")
    print("| operation | coordinator calls | coordinator trips | workers calls | workers trips | "
          "trips per trial (all) |")
    print("|---|---|---|---|---|---|")
    ops = sorted(set(c) | set(w), key=lambda op: -(c.get(op, (0, 0))[1] + w.get(op, (0, 0))[1]))
    total_c = sum(t for _, t in c.values())
    total_w = sum(t for _, t in w.values())
    for op in ops:
        cc, ct = c.get(op, (0, 0))
        wc, wt = w.get(op, (0, 0))
        print(f"| {op} | {cc} | {ct} | {wc} | {wt} | {(ct + wt) / max(trials, 1):.1f} |")
    print(f"| **all** | | {total_c} | | {total_w} | {(total_c + total_w) / max(trials, 1):.1f} |")


if __name__ == "__main__":
    main()

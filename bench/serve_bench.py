#!/usr/bin/python3
"""Requests per second and latency of `automl-gpt serve`, beside `automl-gpt predict`.

    /usr/bin/python3 bench/serve_bench.py [--build DIR] [--dataset DIR] [--run DIR]
        [--budget S] [--duration S] [--clients 1,16,64] [--workers N] [--out FILE]

Trains a run on the data set (its card.json names the target; --budget seconds,
default 30) unless --run names one, starts `automl-gpt serve RUN --port 0`, and
drives POST /predict with wrk (Debian's `wrk`, installed by
`scripts/install-deps.sh bench`) for --duration seconds (default 10) per cell:
one row as JSON, 1,000 rows as JSON and 1,000 rows as CSV, each at 1, 16 and 64
concurrent connections (keep-alive). Beside it, one `automl-gpt predict` process
call on a one-row file and on the 1,000-row file, run one after the other
(--repeat times, default 20; median and worst). Rows of the test file are the
request bodies. Writes a Markdown table to --out (default
bench/results/serve-DATE.md) and prints it.
"""
import argparse
import csv
import datetime
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

LUA = r"""
local f = assert(io.open(os.getenv("SERVE_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = os.getenv("SERVE_BENCH_TYPE")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.1f %.1f %.1f\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max))
end
"""


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def records(header, rows, numeric):
    out = []
    for row in rows:
        rec = {}
        for name, cell in zip(header, row):
            if cell == "":
                rec[name] = None
            elif name in numeric:
                try:
                    rec[name] = float(cell)
                except ValueError:
                    rec[name] = cell
            else:
                rec[name] = cell
        out.append(rec)
    return out


def start_server(binary, run, workers):
    proc = subprocess.Popen([binary, "serve", run, "--port", "0", "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    m = re.search(r"(http://\S+)", line)
    if not m:
        proc.kill()
        sys.exit("serve did not print its URL: " + line)
    return proc, m.group(1)


def wrk(url, body_path, content_type, clients, duration, lua_path):
    env = dict(os.environ, SERVE_BENCH_BODY=body_path, SERVE_BENCH_TYPE=content_type)
    threads = min(clients, 2)
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{duration}s", "--timeout", "30s",
                          "-s", lua_path, url + "/predict"], env=env, capture_output=True, text=True, check=True)
    m = re.search(r"RESULT (\d+) (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+)", out.stdout)
    if not m:
        sys.exit("wrk printed no result:\n" + out.stdout + out.stderr)
    n, dur_us, errors, p50, p99, worst = m.groups()
    return {"requests": int(n), "rps": int(n) / (int(dur_us) / 1e6), "errors": int(errors),
            "p50_ms": float(p50) / 1000, "p99_ms": float(p99) / 1000, "max_ms": float(worst) / 1000}


def time_cli(binary, run, path, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run([binary, "predict", run, path], stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--dataset", default="../shared/datasets/adult")
    ap.add_argument("--run", help="a finished run folder to serve (default: train one)")
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--clients", default="1,16,64")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--out", default=f"bench/results/serve-{datetime.date.today().isoformat()}.md")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: scripts/install-deps.sh bench")
    binary = os.path.join(args.build, "automl-gpt")
    card = json.load(open(os.path.join(args.dataset, "card.json")))
    name = card.get("name", os.path.basename(args.dataset.rstrip("/")))
    run = args.run or os.path.join("runs", f"serve-bench-{name}-{args.budget}s")
    if not os.path.exists(os.path.join(run, "model", "pipeline.json")):
        print(f"training {run} ({args.budget}s)...", file=sys.stderr)
        subprocess.run([binary, "run", os.path.join(args.dataset, "train.csv"), "--target", card["target"],
                        "--budget", f"{args.budget}s", "--out", run, "--quiet"], check=True)
    family = json.load(open(os.path.join(run, "model", "pipeline.json")))["family"]

    with open(os.path.join(args.dataset, "test.csv"), newline="") as f:
        table = list(csv.reader(f))
    header, rows = table[0], table[1:]
    if len(rows) < 1000:
        sys.exit(f"{args.dataset}/test.csv has {len(rows)} rows; the batches need 1,000")
    numeric = {k for k, v in card.get("feature_types", {}).items() if v == "numeric"}
    tmp = tempfile.mkdtemp(prefix="serve-bench-")
    bodies = {}
    for label, n, kind in [("1 row, JSON", 1, "json"), ("1,000 rows, JSON", 1000, "json"),
                           ("1,000 rows, CSV", 1000, "csv")]:
        path = os.path.join(tmp, f"{n}.{kind}")
        if kind == "json":
            with open(path, "w") as f:
                json.dump(records(header, rows[:n], numeric), f)
            bodies[label] = (path, "application/json", n)
        else:
            with open(path, "w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows([header] + rows[:n])
            bodies[label] = (path, "text/csv", n)
    one_csv = os.path.join(tmp, "1.csv")
    with open(one_csv, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([header] + rows[:1])
    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write(LUA)

    load_before = load_average()
    results = []
    proc, url = start_server(binary, run, args.workers)
    try:
        for label, (path, ctype, n) in bodies.items():
            for c in [int(x) for x in args.clients.split(",")]:
                r = wrk(url, path, ctype, c, args.duration, lua)
                r.update(label=label, clients=c, rows=n)
                print(f"{label:18} c={c:3} {r['rps']:9.1f} req/s  p50 {r['p50_ms']:8.2f} ms  "
                      f"p99 {r['p99_ms']:8.2f} ms  errors {r['errors']}", file=sys.stderr)
                results.append(r)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    cli = {}
    for label, path, n in [("1 row, CSV file", one_csv, 1), ("1,000 rows, CSV file", bodies["1,000 rows, CSV"][0], 1000)]:
        t = sorted(time_cli(binary, run, path, args.repeat))
        cli[label] = (n, t)
        print(f"predict {label}: median {statistics.median(t) * 1000:.1f} ms", file=sys.stderr)
    load_after = load_average()

    out = io.StringIO()
    out.write(f"# `automl-gpt serve` against `automl-gpt predict`, {datetime.date.today().isoformat()}\n\n")
    out.write(f"`/usr/bin/python3 bench/serve_bench.py --dataset {args.dataset} --budget {args.budget} "
              f"--duration {args.duration} --workers {args.workers}` on `{name}` (model: `{family}`, "
              f"{len(header)} columns in the request rows, the target included), "
              f"`serve --workers {args.workers}`, wrk with keep-alive connections, {args.duration} s per cell; "
              f"`predict` run {args.repeat} times one after the other. Load average before "
              f"{load_before}, after {load_after} (a shared 2-core machine: the server, wrk and "
              "other people's work share the cores).\n\n")
    out.write("| request | concurrent clients | requests/s | rows/s | p50 ms | p99 ms | errors |\n")
    out.write("|---|---|---|---|---|---|---|\n")
    for r in results:
        out.write(f"| serve: {r['label']} | {r['clients']} | {r['rps']:.1f} | {r['rps'] * r['rows']:.0f} | "
                  f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |\n")
    for label, (n, t) in cli.items():
        med = statistics.median(t)
        out.write(f"| `predict` process: {label} | 1 (one after the other) | {1 / med:.1f} | {n / med:.0f} | "
                  f"{med * 1000:.2f} | {t[-1] * 1000:.2f} (worst of {len(t)}) | 0 |\n")
    one = cli["1 row, CSV file"][1]
    serve_one = next((r for r in results if r["rows"] == 1 and r["clients"] == 1), None)
    if serve_one:
        out.write(f"\nOne row, one client: the server answers in {serve_one['p50_ms']:.2f} ms (p50), "
                  f"a `predict` process takes {statistics.median(one) * 1000:.1f} ms "
                  f"({statistics.median(one) * 1000 / serve_one['p50_ms']:.0f} times longer: it loads the "
                  "model each call).\n")
    text = out.getvalue()
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()

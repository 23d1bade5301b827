#!/usr/bin/python3
"""Times pandas.read_csv against automl::read_csv on one generated CSV.

    /usr/bin/python3 bench/csv_bench.py [--build DIR] [--rows N] [--repeat N] [--data FILE]

The file (1,000,000 rows x 20 columns by default: 14 numeric int/float columns,
4 categorical columns with 5-50 levels, 2 string columns with missing cells and
quoted fields holding commas) is generated once and cached under
DIR/_bench/. Each reader runs --repeat times (best time kept); the project side
is DIR/bench/csv_bench (build it with `cmake --build DIR --target csv_bench`).
Prints one table: seconds per reader and the ratio pandas / project.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def generate(path, rows, seed=7):
    rng = np.random.default_rng(seed)
    cols = {}
    for i in range(7):  # integers of various widths
        cols[f"int_{i}"] = rng.integers(0, 10 ** (i + 1), rows)
    for i in range(7):  # floats with a few decimals
        cols[f"float_{i}"] = np.round(rng.normal(0, 10 ** (i % 4), rows), 2 + i % 4)
    for i, n_levels in enumerate([5, 12, 25, 50]):
        levels = np.array([f"level_{i}_{j}" for j in range(n_levels)])
        cols[f"cat_{i}"] = levels[rng.integers(0, n_levels, rows)]
    # Two string columns with missing cells; city names hold commas, so they get quoted.
    cities = np.array(["Springfield, IL", "Portland, OR", "Austin", "Boston", "Denver, CO", "Miami",
                       "Paris, France", "Rome"], dtype=object)
    city = cities[rng.integers(0, len(cities), rows)]
    city[rng.random(rows) < 0.05] = None
    cols["city"] = city
    grade = np.array(["A", "B", "C", "D", "E", "F"], dtype=object)[rng.integers(0, 6, rows)]
    grade[rng.random(rows) < 0.10] = None
    cols["grade"] = grade
    df = pd.DataFrame(cols)
    tmp = path + ".partial"
    df.to_csv(tmp, index=False)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="CMake build folder holding bench/csv_bench (default: build)")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--data", help="CSV to time instead of the generated one")
    ap.add_argument("--threads", type=int, default=0, help="project reader threads (0 = all cores)")
    args = ap.parse_args()

    binary = os.path.join(args.build, "bench", "csv_bench")
    if not os.access(binary, os.X_OK):
        sys.exit(f"csv_bench: no {binary}; build it with: cmake --build {args.build} --target csv_bench")

    path = args.data
    if path is None:
        cache = os.path.join(args.build, "_bench")
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, f"csv_{args.rows}x20.csv")
        if not os.path.exists(path):
            print(f"generating {path} ...", file=sys.stderr)
            generate(path, args.rows)
    size_mb = os.path.getsize(path) / 1e6

    # Alternate the two readers so that both see the same machine load.
    pandas_runs, project_runs, project = [], [], None
    df = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        df = pd.read_csv(path)
        pandas_runs.append(time.perf_counter() - start)
        out = subprocess.run([binary, path, "--repeat", "1", "--threads", str(args.threads)],
                             check=True, capture_output=True, text=True).stdout
        project = json.loads(out.strip().splitlines()[-1])
        project_runs.append(project["best_s"])
    pandas_s, project_s = min(pandas_runs), min(project_runs)
    if project["rows"] != len(df) or project["columns"] != df.shape[1]:
        sys.exit(f"csv_bench: shapes differ: pandas {df.shape}, project {project['rows']}x{project['columns']}")

    print(f"file: {path} ({size_mb:.0f} MB, {len(df):,} rows x {df.shape[1]} columns; "
          f"project typed it as {project['numeric']} numeric, {project['categorical']} categorical, "
          f"{project['text']} text)")
    print(f"best of {args.repeat} runs each, {os.cpu_count()} cores")
    print()
    print(f"{'reader':<28}{'seconds':>10}{'MB/s':>10}  runs")
    print(f"{'pandas.read_csv':<28}{pandas_s:>10.3f}{size_mb / pandas_s:>10.0f}  "
          + " ".join(f"{t:.3f}" for t in pandas_runs))
    print(f"{'automl::read_csv':<28}{project_s:>10.3f}{size_mb / project_s:>10.0f}  "
          + " ".join(f"{t:.3f}" for t in project_runs))
    print(f"{'ratio pandas / project':<28}{pandas_s / project_s:>10.2f}x")


if __name__ == "__main__":
    main()

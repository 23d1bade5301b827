#!/usr/bin/env bash
# Makes docs/report-{binary,multiclass,regression,image,text}.png: a short run of each
# kind of dataset, its report.html opened in headless Chromium (network off) and captured
# whole by tests/report/check_in_browser.py, which also fails if the page logs an error,
# asks for any file, or leaves a plot empty.
#
#   scripts/report-screenshots.sh [BUDGET]    # default 20s per run; needs ../shared/datasets
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-20s}
data=../shared/datasets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shoot() {  # kind train-folder target
  local kind=$1 dir=$2 target=$3
  build/automl-gpt run "$dir/train.csv" --target "$target" --test "$dir/test.csv" --budget "$budget" \
    --out "$work/$kind" --store "$work/store.sqlite" -q >/dev/null
  python3 tests/report/check_in_browser.py "$work/$kind/report.html" --screenshot "docs/report-$kind.png" >"$work/$kind.json" ||
    { cat "$work/$kind.json"; exit 1; }
  echo "docs/report-$kind.png"
}
shoot binary "$data/pima" diabetes
shoot multiclass examples/data/penguins species
shoot regression "$data/boston_housing" medv
shoot image "$data/digits" label
shoot text "$data/reuters_grain" label

#!/usr/bin/env bash
# Builds automl-gpt and runs it on the shipped penguins example (20 s budget).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAUTOML_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target automl-gpt
data=examples/data/penguins
./build/automl-gpt run "$data/train.csv" --target species --test "$data/test.csv" --budget 20s --out "runs/penguins-$(date +%Y%m%d-%H%M%S)"

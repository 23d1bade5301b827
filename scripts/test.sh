#!/usr/bin/env bash
# Builds automl-gpt with its tests and runs them all (unit, contract and end-to-end),
# the PostgreSQL store's against a throwaway server it starts (scripts/pg-test-server.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh test
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DAUTOML_BUILD_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"
# A real PostgreSQL server for the run-store tests (tests/store/postgres_store_test.cpp),
# stopped when this script ends however it ends.
# The trap names the script by its full path: it runs after the `cd build` below.
root=$PWD
eval "$("$root/scripts/pg-test-server.sh" start)"
trap '"$root/scripts/pg-test-server.sh" stop "$AUTOML_TEST_PG_DIR"' EXIT
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600

#!/usr/bin/env bash
# Installs what automl-gpt needs to build and test, from Debian 12's archive only.
# Safe to run again: it installs nothing when everything is already there.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libxgboost-dev liblbfgs-dev liblinear-dev libsvm-dev nlohmann-json3-dev libcli11-dev
  libfmt-dev libeigen3-dev libfast-float-dev libyaml-cpp-dev libsqlite3-dev libpqxx-dev libssl-dev libcurl4-openssl-dev
  libtorch-dev libstb-dev libcpp-httplib-dev pybind11-dev python3-dev python3-numpy libopenblas0-openmp)
# libopenblas0-openmp: Debian's libtorch does its matrix products through the system BLAS
# (libblas.so.3), which without it is the reference implementation: a network's dense
# layer ran 30x slower (0.8 ms against 31 ms for 256x1568 by 1568x128), and a cnn
# trained 2.2x fewer images a second. The OpenMP build shares libtorch's thread pool.
# chromium and python3: the report tests open report.html in headless Chromium
# (tests/report/check_in_browser.py speaks its DevTools protocol with the standard library).
# postgresql: scripts/pg-test-server.sh starts a throwaway server for the PostgreSQL store's tests.
# The Python package's tests (python/tests): pytest, pandas, scikit-learn, and venv,
# setuptools, wheel and pip for `pip install --no-build-isolation .`.
test_pkgs=(googletest libgtest-dev npm sqlite3 postgresql chromium python3 python3-pytest python3-pandas python3-sklearn
  python3-venv python3-setuptools python3-wheel python3-pip)
bench_pkgs=(python3-xgboost python3-sklearn python3-optuna python3-pandas python3-torch wrk)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm only matters when node's own npm is absent (it fetches the csv-spectrum test files).
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm/}")
fi
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -v '^$' || true)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

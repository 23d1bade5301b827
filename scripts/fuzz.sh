#!/usr/bin/env bash
# Builds one libFuzzer target with clang (ASan + UBSan) and runs it for SECONDS.
#   scripts/fuzz.sh TARGET SECONDS
# TARGET: csv, card, request, pipeline, pipeline_model, llm_reply or image (fuzz/targets.h
# says what each reads).
# The seed corpus is fuzz/corpus/TARGET (read only); inputs the fuzzer finds go to
# build-fuzz/corpus/TARGET, and a crashing input to build-fuzz/crashes/. Keep every input
# that found a bug in tests/fuzz_regressions/TARGET/: the normal test suite replays them.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh TARGET SECONDS (TARGET: csv, card, request, pipeline, pipeline_model, llm_reply, image)}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS}
[ -d "fuzz/corpus/$target" ] || { echo "no such fuzz target: $target (see fuzz/corpus/)" >&2; exit 2; }
command -v clang++ >/dev/null || { echo "clang++ is needed: apt-get install clang" >&2; exit 2; }
scripts/install-deps.sh build
if [ ! -f build-fuzz/CMakeCache.txt ]; then
  CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTOML_FUZZ=ON \
    -DAUTOML_BUILD_TESTS=OFF -DAUTOML_BUILD_EXAMPLES=OFF -DAUTOML_BUILD_PYTHON=OFF >/dev/null
fi
cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$target"
mkdir -p "build-fuzz/corpus/$target" build-fuzz/crashes
# Leaks inside third-party libraries, each with its reason, are in fuzz/lsan.supp.
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
# -timeout: an input that takes over 10 s is a hang; -rss_limit_mb: over 2 GB is a leak or a blow-up.
exec "build-fuzz/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix=build-fuzz/crashes/"$target"- -print_final_stats=1 \
  "build-fuzz/corpus/$target" "fuzz/corpus/$target"

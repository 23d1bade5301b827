#!/usr/bin/env bash
# Builds the tests with sanitizers and runs the unit tests under them.
#   scripts/sanitize.sh address   # AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   scripts/sanitize.sh thread    # ThreadSanitizer, for the search's threads (build-tsan/)
# The normal test command (scripts/test.sh) stays unsanitized and fast; this one takes a
# full build of its own. Extra arguments go to ctest (e.g. -R Csv).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/sanitize.sh address|thread [ctest arguments]}
shift
case "$kind" in
  address) dir=build-asan ;;
  thread) dir=build-tsan ;;
  *) echo "usage: scripts/sanitize.sh address|thread [ctest arguments]" >&2; exit 2 ;;
esac
scripts/install-deps.sh test
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTOML_SANITIZE="$kind" -DAUTOML_BUILD_TESTS=ON \
  -DAUTOML_BUILD_PYTHON=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target automl_tests automl-gpt
# Undefined behaviour stops the test (-fno-sanitize-recover); leaks are reported at exit.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
# Leaks inside third-party libraries, each with its reason (the same file the fuzzers use).
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# OpenMP inside libxgboost and libtorch is not instrumented: tests/tsan.supp says what is
# suppressed and why.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp}
cd "$dir"
ctest -L unit --output-on-failure -j"$(nproc)" --timeout 1200 "$@"

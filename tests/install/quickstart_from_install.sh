#!/usr/bin/env bash
# Installs the library into a temporary prefix, builds examples/quickstart against it as
# an outside project would (find_package(automl_gpt), one target) and runs it on the
# penguins. Usage: quickstart_from_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
test -f "$tmp/prefix/include/automl/automl_gpt.h"
test -f "$tmp/prefix/lib/cmake/automl_gpt/automl_gptConfig.cmake"
cmake -S "$src/examples/quickstart" -B "$tmp/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/configure.log"
cmake --build "$tmp/build" >"$tmp/build.log" || { cat "$tmp/build.log"; exit 1; }
cd "$tmp"
"$tmp/build/quickstart" "$src/examples/data/penguins/train.csv" species 8 "$src/examples/data/penguins/test.csv"

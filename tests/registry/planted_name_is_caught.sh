#!/bin/sh
# The control for family_names_only_in_models.sh: a source tree with the real
# registrations and one file outside src/models/ that branches on a family's name
# must fail the check, and the same tree without that file must pass it.
#
#   planted_name_is_caught.sh CHECK_SCRIPT SRC_DIR
set -u
check=${1:?usage: $0 CHECK_SCRIPT SRC_DIR}
src=${2:?usage: $0 CHECK_SCRIPT SRC_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/tune"
cp -r "$src/models" "$tmp/src/models"
name=$(grep -ho 'e\.name = "[A-Za-z0-9_:]*"' "$src"/models/*.cpp | sed 's/.*"\(.*\)"/\1/' | head -n 1)
echo "int clean() { return 0; }" > "$tmp/src/tune/clean.cpp"
if ! "$check" "$tmp/src" > /dev/null; then
  echo "FAIL: the check rejects a tree that names no family outside models/"
  exit 1
fi
printf 'bool planted(const std::string& f) { return f == "%s"; }\n' "$name" > "$tmp/src/tune/planted.cpp"
if "$check" "$tmp/src"; then
  echo "FAIL: the check passed a tree that branches on \"$name\" in tune/planted.cpp"
  exit 1
fi
echo "ok: a planted \"$name\" outside models/ is caught"

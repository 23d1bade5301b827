#!/bin/sh
# The registry is the only place a model family is named: outside src/models/ (and
# src/networks/, where the network families' models are built) no source file may spell a registered family's name as a string literal (code that
# branches on a name instead of on a declared property). The names are read from
# the registrations themselves (`e.name = "..."` in src/models/), so a new family is
# covered without editing this script.
#
#   family_names_only_in_models.sh SRC_DIR
# Exits 0 when clean; 1, listing each hit, otherwise; 2 when it cannot read the names.
set -u
src=${1:?usage: $0 SRC_DIR}
names=$(grep -ho 'e\.name = "[A-Za-z0-9_:]*"' "$src"/models/*.cpp | sed 's/.*"\(.*\)"/\1/' | sort -u)
if [ -z "$names" ]; then
  echo "no family registrations found under $src/models" >&2
  exit 2
fi
pattern="\"($(echo $names | tr ' ' '|'))\""
hits=$(grep -rnE "$pattern" "$src" --include='*.cpp' --include='*.h' | grep -v "^$src/models/" | grep -v "^$src/networks/")
if [ -n "$hits" ]; then
  echo "model family names outside $src/models/ and $src/networks/ (declare a property in the family's registration instead):"
  echo "$hits"
  exit 1
fi
echo "checked $(echo $names | wc -w) family names: none outside $src/models/ and $src/networks/"
exit 0

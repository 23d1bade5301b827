#!/usr/bin/env bash
# Fetches the csv-spectrum conformance files (npm package "csv-spectrum") into DEST.
#
#   tests/fetch-csv-spectrum.sh build/_deps/csv-spectrum
#
# Leaves DEST/csvs/*.csv and DEST/json/*.json. Does nothing when DEST/csvs exists.
# Exits 77 (ctest: skipped) when the files cannot be had (no npm, no registry): the
# csv-spectrum tests then skip, saying so, and every other test runs.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DEST" >&2
  exit 2
fi
dest=$1
version=${CSV_SPECTRUM_VERSION:-2.0.0}

if [[ -d "$dest/csvs" ]]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-csv-spectrum: npm is not installed; install it (apt-get install npm) or unpack" \
       "the csv-spectrum package into $dest by hand" >&2
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && npm pack --silent "csv-spectrum@$version" >/dev/null); then
  echo "fetch-csv-spectrum: npm could not fetch csv-spectrum@$version (offline, or the registry is" \
       "unreachable); the csv-spectrum tests will skip" >&2
  exit 77
fi
tarball=$(ls "$tmp"/csv-spectrum-*.tgz)
tar -xzf "$tarball" -C "$tmp"
if [[ ! -d "$tmp/package/csvs" || ! -d "$tmp/package/json" ]]; then
  echo "fetch-csv-spectrum: $tarball has no csvs/ and json/ folders" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
rm -rf "$dest"  # a leftover without csvs/ (an interrupted fetch)
mv "$tmp/package" "$dest.partial"
mv "$dest.partial" "$dest"
echo "fetch-csv-spectrum: csv-spectrum $version in $dest"

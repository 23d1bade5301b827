#!/usr/bin/env bash
# Fetches the csv-spectrum conformance files (npm package "csv-spectrum") into DEST.
#
#   tests/fetch-csv-spectrum.sh build/_deps/csv-spectrum
#
# Leaves DEST/csvs/*.csv and DEST/json/*.json. Does nothing when DEST/csvs exists.
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
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "csv-spectrum@$version" >/dev/null)
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

#!/usr/bin/env bash
# Fetches the Chart.js build that report.html inlines, from the npm registry, and checks
# it against the tarball's recorded integrity. The result is committed, so a build never
# needs the network; run this only to move to another version (then change VERSION and
# INTEGRITY below, rebuild, and look at the reports: tests/report/ opens them in Chromium).
#
#   third_party/chartjs/fetch.sh
set -euo pipefail
VERSION=4.6.1
INTEGRITY=sha512-hJyniucsFmq//EvXYvJ6c6mahPoI3kaxdjVH8awTaJ/fDNWeSqqqArixMJWkWNN6fcYvPU3HneSANFNYtRi61g==

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "chart.js@$VERSION" >/dev/null
tarball=chart.js-$VERSION.tgz
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
  echo "chart.js@$VERSION: the tarball's sha512 is $got, not the pinned $INTEGRITY" >&2
  exit 1
fi
tar xzf "$tarball"
# The UMD build carries its colour helper (@kurkle/color, MIT) inside. Its last line
# points at a source map the report does not ship: it is dropped, so a browser with
# developer tools open asks for no file.
grep -v '^//# sourceMappingURL=' package/dist/chart.umd.min.js >"$here/chart.umd.min.js"
cp package/LICENSE.md "$here/LICENSE.md"
# The licence of the colour helper bundled inside (its version is in the build's banner).
color=$(grep -o '@kurkle/color v[0-9.]*' "$here/chart.umd.min.js" | head -1 | sed 's/.* v//')
mkdir color && npm pack --silent "@kurkle/color@$color" >/dev/null
tar xzf kurkle-color-"$color".tgz -C color
cp color/package/LICENSE.md "$here/LICENSE-kurkle-color.md"
echo "chart.js $VERSION -> $here/chart.umd.min.js ($(wc -c <"$here/chart.umd.min.js") bytes)"

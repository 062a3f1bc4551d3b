#!/usr/bin/env bash
# The geospatial demo (docs/geo.md): synthetic GeoTIFF scenes fed with feed-listing through the
# builtin cog-archive workflow on the local engine; published items validated offline with
# pystac, COGs with rio-cogeo. Usage: bash examples/geo_demo.sh [FOLDER] (default: a temp dir).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
exec "$here/.venv/bin/python" "$here/examples/geo_demo.py" "$@"

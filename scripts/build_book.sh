#!/usr/bin/env bash
# Build the HTML book, executing every chapter; fails on any cell error or Sphinx warning.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EASYHARD_SCALE=${EASYHARD_SCALE:-ci}
echo "[book] building at scale $EASYHARD_SCALE"
rm -rf _build/html
.venv/bin/jupyter-book build . -W -n --keep-going
test -f _build/html/index.html
echo "[book] done: $(pwd)/_build/html/index.html ($(du -sh _build/html | cut -f1))"

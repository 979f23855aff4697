#!/usr/bin/env bash
# Run every check: lint, stripped notebooks, unit tests and every chapter (nbval) at ci scale.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EASYHARD_SCALE=${EASYHARD_SCALE:-ci}
export MPLBACKEND=Agg
echo "[test] ruff"
.venv/bin/ruff check .
echo "[test] notebooks are stripped of outputs"
.venv/bin/nbstripout --verify chapters/*.ipynb
echo "[test] unit tests and chapters (scale: $EASYHARD_SCALE)"
.venv/bin/python -m pytest tests chapters/*.ipynb --nbval-lax --nbval-current-env -p no:cacheprovider "$@"

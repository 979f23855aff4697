#!/usr/bin/env bash
# The paper-scale CIFAR-10 run and its control on one GPU, sized to a time budget.
#
#   scripts/paper_run.sh [BUDGET] [ARCHIVE] [-- extra options of python -m easyhard.train.budget]
#
# BUDGET: wall clock for both runs together, e.g. 20s, 5m (default), 1.5h.
# ARCHIVE: a CIFAR-10 image archive (train/<class>/*.jpg, test/<class>/*.jpg), used when
#          torchvision's original CIFAR-10 is not on disk ($EASYHARD_CIFAR_ROOT). No download.
# Uses the machine's own python (or $PYTHON) with its PyTorch; needs numpy, scipy, tqdm and,
# for an archive, Pillow. Results go to data/results/ (or $EASYHARD_RESULTS_DIR) with the
# GPU name and the steps per second; checkpoints to runs/ (or $RUN_ROOT).
# Example on a CPU, with a tiny net:  scripts/paper_run.sh 20s ARCHIVE -- --preset ci --set ch=8
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUDGET=5m
ARCHIVE=
if [[ $# -gt 0 && $1 != -- ]]; then BUDGET=$1; shift; fi
if [[ $# -gt 0 && $1 != -- ]]; then ARCHIVE=$1; shift; fi
if [[ $# -gt 0 && $1 == -- ]]; then shift; fi
PY=${PYTHON:-python3}
export PYTHONPATH="$ROOT/lib${PYTHONPATH:+:$PYTHONPATH}"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda' if torch.cuda.is_available() else 'no cuda')"
ARGS=(--budget "$BUDGET" --run-root "${RUN_ROOT:-$ROOT/runs}")
if [[ -n $ARCHIVE ]]; then ARGS+=(--archive "$ARCHIVE"); fi
cd "$ROOT"
exec "$PY" -m easyhard.train.budget "${ARGS[@]}" "$@"

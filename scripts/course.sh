#!/usr/bin/env bash
# Course materials from the chapters, with nbgrader (see scripts/course.py):
#   _build/course/source/   instructor notebooks (solutions and hidden tests), one assignment per chapter
#   _build/course/release/  student notebooks (nbgrader generate_assignment), and release/chapters/
#   _build/course/student_book/_build/html/  the HTML book without solutions (skip with --no-html)
# A dry run of the grading (full marks for the solutions, zero for the stubs) is --check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EASYHARD_SCALE=${EASYHARD_SCALE:-ci}
OUT=${OUT:-_build/course}
html=1
check=0
for arg in "$@"; do
  case "$arg" in
    --no-html) html=0 ;;
    --check) check=1 ;;
    *) echo "usage: bash scripts/course.sh [--no-html] [--check]" >&2; exit 2 ;;
  esac
done
rm -rf "$OUT"
.venv/bin/python scripts/course.py --out "$OUT" notebooks
if [ "$check" = 1 ]; then
  .venv/bin/python scripts/course.py --out "$OUT" grade solutions --submit source
  .venv/bin/python scripts/course.py --out "$OUT" grade stubs --submit release
fi
if [ "$html" = 1 ]; then
  .venv/bin/python scripts/course.py --out "$OUT" html
fi
echo "[course] done: $OUT"

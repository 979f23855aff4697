"""Measure what reproducing each figure costs at ``ci`` on this machine's CPU; write ``figure_runtimes.json``.

    PYTHONPATH=lib python benchmarks/figure_runtimes.py [--chapters REPORT.json] [--only ID ...]

For each distinct job of :data:`easyhard.figures.FIGURES` that runs at ``ci``
(figures sharing a job and its options share one measurement), it times
``python -m easyhard reproduce <id> --scale ci`` in a fresh process with a
fresh results and cache folder (nothing is reused), one numba and torch thread.
Live figures cost their chapter: ``--chapters`` takes those times from the
report of ``scripts/colab_test.py`` (each chapter executed alone at ``ci`` in a
fresh environment). Each entry records the seconds, the machine, the date and
the commit; entries already in the file and not measured again are kept.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))

from easyhard import figures  # noqa: E402

OUT = REPO / "lib" / "easyhard" / "figure_runtimes.json"


def _stamp() -> dict:
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    return {"machine": f"{platform.machine()}, {os.cpu_count()} cpus, shared", "date":
            dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": commit[:12]}


def measure(fig: figures.Figure) -> float:
    """Seconds of ``python -m easyhard reproduce <fig> --scale ci`` in fresh folders."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "EASYHARD_RESULTS_DIR": f"{tmp}/results", "EASYHARD_CACHE_DIR": f"{tmp}/cache",
               "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "lib")}
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "easyhard", "reproduce", fig.id, "--scale", "ci",
                              "--no-progress"], cwd=tmp, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"{fig.id} failed:\n{out.stderr[-3000:]}")
    return wall


def main() -> None:
    """Measure and write the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--chapters", type=Path, default=None, help="report of scripts/colab_test.py")
    p.add_argument("--only", nargs="+", default=None, help="figure ids to measure (default: all)")
    args = p.parse_args()
    table = json.loads(OUT.read_text()) if OUT.exists() else {}
    cpu = table.setdefault("cpu", {})
    if args.chapters:
        report = json.loads(args.chapters.read_text())
        for name, entry in report["chapters"].items():
            if entry["ok"]:
                cpu[f"chapter:{name}"] = {"ci": {"seconds": entry["seconds"], **_stamp(),
                                                 "commit": report["rev"][:12],
                                                 "how": "scripts/colab_test.py: the chapter alone, fresh environment"}}
    done: dict[tuple, float] = {}
    for fig in figures.FIGURES:
        if fig.job is None or "ci" not in fig.scales or (args.only and fig.id not in args.only):
            continue
        key = (fig.job, fig.options)
        if key not in done:
            print(f"{fig.id} ...", flush=True)
            done[key] = measure(fig)
            print(f"{fig.id}: {done[key]:.1f} s", flush=True)
        cpu[f"figure:{fig.id}"] = {"ci": {"seconds": round(done[key], 1), **_stamp(),
                                          "how": f"python -m easyhard reproduce {fig.id} --scale ci, fresh folders"}}
        OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    OUT.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()

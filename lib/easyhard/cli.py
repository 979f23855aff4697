"""Command line: ``python -m easyhard info`` and ``python -m easyhard list``.

``info`` prints the scale, device and versions the library would use;
``list`` prints the saved results in ``data/results/`` with their provenance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np
import torch

from easyhard import __version__, paths, results
from easyhard.config import device, scale


def _scale_text() -> str:
    try:
        return f"{scale()}  (set EASYHARD_SCALE to ci, laptop or paper)"
    except ValueError as err:  # report a bad setting instead of dying on it
        return f"invalid: {err}"


def info() -> str:
    """One line per setting: version, scale, device, torch, numpy, results and cache folders."""
    return "\n".join(
        [
            f"easyhard {__version__}",
            f"scale    {_scale_text()}",
            f"device   {device()}",
            f"torch    {torch.__version__}, numpy {np.__version__}",
            f"results  {paths.results_dir()}",
            f"cache    {paths.cache_dir()}",
        ]
    )


def _text(value: object, width: int) -> str:
    return f"{'?' if value is None else str(value)[:width]:{width}s}"


def list_results() -> str:
    """A table of the saved results: name, config hash, scale, device, date, wall time, commit.

    Files that are not readable results are skipped with a warning.
    """
    root = paths.results_dir()
    rows = []
    for meta in results.sidecars(root):
        wall = meta.get("wall_time_s")
        wall_text = (
            f"{wall:8.0f} s" if isinstance(wall, (int, float)) and not isinstance(wall, bool) else "       ? s"
        )
        commit = str(meta.get("git_commit") or "?")[:8] + ("+" if meta.get("git_dirty") else "")
        rows.append(
            f"{_text(meta.get('name'), 32)} {_text(meta.get('config_hash'), 12)} {_text(meta.get('scale'), 7)} "
            f"{_text(meta.get('device'), 24)} {_text(meta.get('date'), 10)} {wall_text} {commit}"
        )
    if not rows:
        return f"no saved results in {root}"
    header = (
        f"{'name':32s} {'hash':12s} {'scale':7s} {'device':24s} {'date':10s} {'wall':>10s} commit"
    )
    return "\n".join([header, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m easyhard", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["info", "list"], help="what to print")
    args = parser.parse_args(argv)
    print(info() if args.command == "info" else list_results())
    return 0


if __name__ == "__main__":
    sys.exit(main())

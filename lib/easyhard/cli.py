"""Command line: ``python -m easyhard info`` and ``python -m easyhard list``.

``info`` prints the scale, device and versions the library would use;
``list`` prints the saved results in ``data/results/`` with their provenance.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

import numpy as np
import torch

from easyhard import __version__, results
from easyhard.config import device, scale


def info() -> str:
    """One line per setting: version, scale, device, torch, numpy, results folder."""
    return "\n".join(
        [
            f"easyhard {__version__}",
            f"scale    {scale()}  (set EASYHARD_SCALE to ci, laptop or paper)",
            f"device   {device()}",
            f"torch    {torch.__version__}, numpy {np.__version__}",
            f"results  {results.results_dir()}",
        ]
    )


def list_results() -> str:
    """A table of the saved results: name, config hash, scale, device, date, wall time."""
    root = results.results_dir()
    rows = []
    for sidecar in sorted(root.glob("*.json")):
        meta = json.loads(sidecar.read_text())
        wall = meta.get("wall_time_s")
        rows.append(
            f"{meta.get('name', '?'):32s} {meta.get('config_hash', '?'):12s} {str(meta.get('scale')):7s} "
            f"{meta.get('device', '?'):24s} {meta.get('date', '?')[:10]:10s} "
            + (f"{wall:8.0f} s" if wall is not None else "       ? s")
        )
    if not rows:
        return f"no saved results in {root}"
    header = f"{'name':32s} {'hash':12s} {'scale':7s} {'device':24s} {'date':10s} {'wall':>10s}"
    return "\n".join([header, *rows])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m easyhard", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["info", "list"], help="what to print")
    args = parser.parse_args(argv)
    print(info() if args.command == "info" else list_results())
    return 0


if __name__ == "__main__":
    sys.exit(main())

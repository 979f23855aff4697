"""``python -m easyhard.train --preset laptop --data real [--run-dir runs/x] [--threads 1]``.

Trains one run of a preset (resuming from ``--run-dir`` when it holds a
checkpoint) and saves the result to ``data/results/`` via :mod:`easyhard.results`.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from easyhard.config import SCALES, set_threads
from easyhard.train import run, train_config
from easyhard.train.config import DATA_KINDS


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run."""
    p = argparse.ArgumentParser(prog="python -m easyhard.train", description=__doc__)
    p.add_argument("--preset", choices=SCALES, default="laptop")
    p.add_argument("--data", choices=DATA_KINDS, default="real")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--run-dir", type=Path, default=None,
                   help="checkpoint folder (default runs/<preset>-<data>-seed<seed>)")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    set_threads(args.threads)
    overrides = {k: v for k, v in (("steps", args.steps), ("lr", args.lr), ("seed", args.seed))
                 if v is not None}
    cfg = replace(train_config(args.preset, **overrides), data=args.data)
    run_dir = args.run_dir or Path("runs") / f"{args.preset}-{cfg.data}-seed{cfg.seed}"
    result = run(cfg, run_dir=run_dir, progress=not args.no_progress)
    print(f"saved {result.meta['name']}-{result.meta['config_hash']} ({result.describe()})")


if __name__ == "__main__":
    main()

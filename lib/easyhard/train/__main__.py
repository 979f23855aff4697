"""``python -m easyhard.train --preset laptop --data real [--seed 1] [--run-dir runs/x]``.

Trains one run of a preset (resuming from ``--run-dir`` when it holds a
checkpoint) and saves the result to ``data/results/`` via :mod:`easyhard.results`.
``--seeds 0 1 2 --data both`` trains several runs one after the other, each
resumable; a run whose result is already saved is skipped (``--force`` trains it
again). Under ``torchrun --nproc_per_node=N -m easyhard.train ...`` the runs
are data-parallel over N processes (:mod:`easyhard.train.distributed`).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from easyhard import results
from easyhard.config import device as best_device
from easyhard.config import set_threads
from easyhard.train import RESULT_NAME, distributed, run, train_config
from easyhard.train.budget import parse_overrides
from easyhard.train.config import DATA_KINDS, PRESET_NAMES


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments and run."""
    p = argparse.ArgumentParser(prog="python -m easyhard.train", description=__doc__)
    p.add_argument("--preset", choices=PRESET_NAMES, default="laptop", type=str.lower)
    p.add_argument("--data", choices=(*DATA_KINDS, "both"), default="real",
                   help="train on real images, surrogate samples (the control), or both in turn")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="several seeds in turn")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig field, e.g. --set n_eval=512 (repeatable)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: right on a machine busy with other work; on an idle one use every core)")
    p.add_argument("--run-dir", type=Path, default=None,
                   help="checkpoint folder of a single run (default runs/<preset>-<data>-seed<seed>)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--force", action="store_true", help="train again a run whose result is already saved")
    args = p.parse_args(argv)
    seeds = args.seeds if args.seeds is not None else [args.seed]
    kinds = DATA_KINDS if args.data == "both" else (args.data,)
    if args.run_dir is not None and len(seeds) * len(kinds) > 1:
        p.error("--run-dir names one run; leave it out with --seeds or --data both")
    # every config is checked before the first run starts: bad values are usage errors
    try:
        set_threads(args.threads)
        overrides = {k: v for k, v in (("steps", args.steps), ("lr", args.lr)) if v is not None}
        overrides |= parse_overrides(args.overrides)
        cfgs = [replace(train_config(args.preset, **overrides, **({} if seed is None else {"seed": seed})),
                        data=kind) for seed in seeds for kind in kinds]
    except ValueError as err:  # TypeErrors of easyhard._validation are ValueErrors too
        p.error(str(err))
    ctx = distributed.setup(best_device())
    for cfg in cfgs:
        saved = None if args.force else results.load(RESULT_NAME, cfg)
        if saved is not None:
            print(f"already saved: {RESULT_NAME}-{saved.meta['config_hash']} ({saved.describe()}); "
                  "--force trains it again", flush=True)
            continue
        run_dir = args.run_dir or Path("runs") / f"{args.preset}-{cfg.data}-seed{cfg.seed}"
        result = run(cfg, run_dir=run_dir, progress=not args.no_progress)
        if result is not None:
            print(f"saved {result.meta['name']}-{result.meta['config_hash']} ({result.describe()})",
                  flush=True)
    distributed.teardown(ctx)


if __name__ == "__main__":
    main()

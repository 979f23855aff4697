"""U-Net training on CIFAR-10 vs its Gaussian surrogate (book: chapters/cifar_simplicity_bias.ipynb).

``run(cfg)`` trains (resuming from ``run_dir`` when a checkpoint is there),
and saves the arrays through :mod:`easyhard.results` under ``RESULT_NAME``;
``python -m easyhard.train --preset laptop --data real`` does it from a shell.
"""

from __future__ import annotations

import time
from pathlib import Path

from easyhard import results
from easyhard.train.config import TrainConfig, train_config
from easyhard.train.loop import train

RESULT_NAME = "cifar_unet"

__all__ = ["RESULT_NAME", "TrainConfig", "cached_run", "run", "saved_pairs", "saved_run", "train",
           "train_config"]


def run(cfg: TrainConfig, *, run_dir: str | Path | None = None, progress: bool = True,
        root: str | Path | None = None) -> results.Result | None:
    """Train ``cfg`` and save its result (``data/results/`` unless ``root``).

    The results folder is checked for writing before the training starts, so
    that no work is lost to a failing save. Under ``torchrun`` rank 0 saves and
    returns the result, the other ranks return None.
    """
    results.check_writable(results.result_paths(RESULT_NAME, cfg, root)[0].parent)
    tic = time.perf_counter()
    arrays = train(cfg, run_dir=run_dir, progress=progress)
    if arrays is None:  # a rank other than 0 under torchrun
        return None
    results.save(RESULT_NAME, cfg, arrays, wall_time=time.perf_counter() - tic, root=root)
    return results.load(RESULT_NAME, cfg, root=root)


def cached_run(cfg: TrainConfig, *, progress: bool = True) -> results.Result:
    """The saved result of ``cfg`` if ``data/results/`` holds one, else a run cached
    in the git-ignored ``.cache/results/`` (so a second execution reuses it).
    """
    saved = results.load(RESULT_NAME, cfg)
    if saved is not None:
        return saved
    return results.cached(
        RESULT_NAME, cfg, lambda: train(cfg, progress=progress),
        root=results.cache_dir() / "results",
    )


def saved_run(scale_name: str, data: str) -> results.Result | None:
    """The newest result in ``data/results/`` of a run at ``scale_name`` on ``data``
    (``"real"`` or ``"surrogate"``), whatever its exact config; None if there is none.
    """
    for found in results.find(RESULT_NAME):
        if found.config.get("scale") == scale_name and found.config.get("data") == data:
            return found
    return None


def saved_pairs(scale_name: str, root: str | Path | None = None) -> list[tuple[results.Result, results.Result]]:
    """The saved runs at ``scale_name`` on real data that have a saved control (the same
    config but ``data="surrogate"``), one pair per seed (the newest), sorted by seed.
    """
    pairs: dict[int, tuple[results.Result, results.Result]] = {}
    for found in results.find(RESULT_NAME, root=root):  # newest first
        cfg = found.config
        if cfg.get("scale") != scale_name or cfg.get("data") != "real" or cfg["seed"] in pairs:
            continue
        control = results.load(RESULT_NAME, {**cfg, "data": "surrogate"}, root=root)
        if control is not None:
            pairs[cfg["seed"]] = (found, control)
    return [pairs[s] for s in sorted(pairs)]

"""U-Net training on CIFAR-10 vs its Gaussian surrogate (book: chapters/cifar_simplicity_bias.ipynb).

``run(cfg)`` trains (resuming from ``run_dir`` when a checkpoint is there),
and saves the arrays through :mod:`easyhard.results` under ``RESULT_NAME``;
``python -m easyhard.train --preset laptop --data real`` does it from a shell.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from easyhard import results
from easyhard.config import device as default_device
from easyhard.train.checkpoint import load_resume
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

    The sidecar records the code that ran, not the checkout at save time: the
    commit of the process that started the run and, for a run resumed from
    ``run_dir``, the commit and start of every process that ran part of it
    (``processes``). Its wall time is the training and evaluation seconds summed
    over those processes.
    """
    results.check_writable(results.result_paths(RESULT_NAME, cfg, root)[0].parent)
    processes = _processes(run_dir)
    arrays = train(cfg, run_dir=run_dir, progress=progress, provenance={"processes": processes})
    if arrays is None:  # a rank other than 0 under torchrun
        return None
    git = {"git_commit": processes[0]["git_commit"], "git_dirty": processes[0]["git_dirty"]}
    if len(processes) > 1:
        git["processes"] = processes
    results.save(RESULT_NAME, cfg, arrays, wall_time=float(arrays["wall_s"]), root=root,
                 device=default_device(), git=git)
    return results.load(RESULT_NAME, cfg, root=root)


def _processes(run_dir: str | Path | None) -> list[dict[str, Any]]:
    """The processes that ran the run of ``run_dir`` so far, and this one: commit, dirty flag, start."""
    now = {**results.git_state(), "started": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    earlier = load_resume(run_dir)
    if earlier is None:
        return [now]
    before = earlier.extra.get("provenance", {}).get("processes")
    if not before:  # a checkpoint written before processes were recorded
        before = [{"git_commit": "unknown (not recorded by the checkpoint this run resumed)",
                   "git_dirty": None, "started": None}]
    return [*before, now]


def cached_run(cfg: TrainConfig, *, progress: bool = True) -> results.Result:
    """The saved result of ``cfg``, or a run cached so that a second execution reuses it.

    The saved result is looked up in ``data/results/``; without one, ``cfg`` is
    trained and cached in the git-ignored ``.cache/results/``.
    """
    saved = results.load(RESULT_NAME, cfg)
    if saved is not None:
        return saved
    return results.cached(
        RESULT_NAME, cfg, lambda: train(cfg, progress=progress),
        root=results.cache_dir() / "results",
    )


def _as_config(config: TrainConfig | Mapping[str, Any] | str, **fields: Any) -> dict[str, Any]:
    """``config`` (a scale name stands for its preset) as a plain dict with ``fields`` replaced."""
    if isinstance(config, str):
        config = train_config(config)
    if isinstance(config, TrainConfig):
        config = dataclasses.asdict(config)
    elif not isinstance(config, Mapping):
        raise TypeError(f"config must be a TrainConfig, a mapping or a scale name, got {type(config).__name__}")
    return {**config, **fields}


def saved_run(config: TrainConfig | Mapping[str, Any] | str, data: str | None = None, *, seed: int | None = None,
              root: str | Path | None = None) -> results.Result | None:
    """The saved result of exactly ``config`` in ``data/results/`` (or ``root``), or None.

    Parameters
    ----------
    config : TrainConfig, mapping or str
        The config asked for; a scale name (``"laptop"``) stands for its preset
        :func:`train_config`. A run saved with any other config (another learning
        rate, evaluation size or code version of the config) is not returned.
    data : {"real", "surrogate"}, optional
        Replaces ``config``'s data.
    seed : int, optional
        Replaces ``config``'s seed.
    root : path, optional
        The results folder (default :func:`easyhard.paths.results_dir`).
    """
    fields: dict[str, Any] = {}
    if data is not None:
        fields["data"] = data
    if seed is not None:
        fields["seed"] = seed
    return results.load(RESULT_NAME, _as_config(config, **fields), root=root)


def saved_pairs(config: TrainConfig | Mapping[str, Any] | str, root: str | Path | None = None, *,
                seeds: Sequence[int] | None = None) -> list[tuple[results.Result, results.Result]]:
    """The saved (real, control) pairs of ``config``, one per seed, sorted by seed.

    A pair is a run of exactly ``config`` with ``data="real"`` and some seed, and its
    control, the same config with ``data="surrogate"``. Saved runs of other configs at
    the same scale are ignored. ``seeds`` keeps only those seeds (default: every seed saved);
    ``config`` and ``root`` are as for :func:`saved_run`.
    """
    base = _as_config(config, data="real")
    pairs: dict[int, tuple[results.Result, results.Result]] = {}
    match = {k: base[k] for k in ("scale", "data") if k in base}
    for found in results.find(RESULT_NAME, root=root, match=match):
        seed = found.config.get("seed")
        if seed in pairs or (seeds is not None and seed not in seeds):
            continue
        if results.config_hash(found.config) != results.config_hash({**base, "seed": seed}):
            continue
        control = saved_run(base, "surrogate", seed=seed, root=root)
        if control is not None:
            pairs[seed] = (found, control)
    return [pairs[s] for s in sorted(pairs)]

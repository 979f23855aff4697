"""Saved results: arrays (.npz) plus a JSON sidecar with their provenance.

A result is keyed by ``name`` and a hash of the config that made it, so a
changed config never reads a stale result. The sidecar records the config,
the package version, the git commit, the device, the wall time, the date and
the scale.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easyhard import __version__
from easyhard.config import device

RESULTS_ENV = "EASYHARD_RESULTS_DIR"
_REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    """A loaded result: its arrays and its provenance ``meta`` (the JSON sidecar)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return self.meta["config"]

    def describe(self) -> str:
        """One line for a figure caption: scale, machine, date."""
        m = self.meta
        return (
            f"{m.get('scale', '?')} scale, {m.get('device', '?')} on {m.get('machine', '?')}, "
            f"{m.get('date', '?')[:10]}, {m.get('wall_time_s', float('nan')):.0f} s"
        )


def results_dir() -> Path:
    """``$EASYHARD_RESULTS_DIR``, else ``data/results`` of the repository checkout."""
    env = os.environ.get(RESULTS_ENV)
    if env:
        return Path(env)
    if (_REPO_ROOT / "data").is_dir():
        return _REPO_ROOT / "data" / "results"
    return Path.home() / ".cache" / "easyhard" / "results"


def cache_dir() -> Path:
    """A git-ignored folder for re-computable caches (``.cache/`` of the checkout)."""
    if (_REPO_ROOT / "data").is_dir():
        return _REPO_ROOT / ".cache"
    return Path.home() / ".cache" / "easyhard"


def _as_dict(config: Mapping[str, Any] | Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping or a dataclass, got {type(config).__name__}")
    return json.loads(json.dumps(dict(config), sort_keys=True, default=_json_default))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating)):
        return obj.item()
    if isinstance(obj, (np.ndarray, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"config value {obj!r} of type {type(obj).__name__} is not JSON-serialisable")


def config_hash(config: Mapping[str, Any] | Any) -> str:
    """First 12 hex digits of the SHA-256 of the config's canonical JSON."""
    text = json.dumps(_as_dict(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"name must be a non-empty string of letters, digits, '_' or '-', got {name!r}")
    return name


def result_paths(name: str, config: Mapping[str, Any] | Any, root: Path | str | None = None) -> tuple[Path, Path]:
    """``(npz, json)`` paths of the result ``name`` for ``config``."""
    base = Path(root) if root is not None else results_dir()
    stem = f"{_check_name(name)}-{config_hash(config)}"
    return base / f"{stem}.npz", base / f"{stem}.json"


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def save(
    name: str,
    config: Mapping[str, Any] | Any,
    arrays: Mapping[str, np.ndarray],
    *,
    wall_time: float | None = None,
    root: Path | str | None = None,
    scale: str | None = None,
) -> Path:
    """Write ``arrays`` and their provenance; return the .npz path."""
    cfg = _as_dict(config)
    npz, sidecar = result_paths(name, cfg, root)
    npz.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(npz, **{k: np.asarray(v) for k, v in arrays.items()})
    dev = device()
    meta = {
        "name": name,
        "config": cfg,
        "config_hash": config_hash(cfg),
        "version": __version__,
        "git_commit": _git_commit(),
        "device": str(dev) if dev.type != "cuda" else f"cuda ({_cuda_name()})",
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "wall_time_s": wall_time,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "scale": scale if scale is not None else cfg.get("scale"),
        "arrays": sorted(arrays),
    }
    sidecar.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return npz


def _cuda_name() -> str:
    import torch

    return torch.cuda.get_device_name()


def load(name: str, config: Mapping[str, Any] | Any, root: Path | str | None = None) -> Result | None:
    """The saved result ``name`` for exactly this ``config``, or None."""
    npz, sidecar = result_paths(name, config, root)
    if not (npz.exists() and sidecar.exists()):
        return None
    meta = json.loads(sidecar.read_text())
    if meta.get("config") != _as_dict(config):
        return None
    with np.load(npz) as data:
        arrays = {k: data[k] for k in data.files}
    return Result(arrays=arrays, meta=meta)


def find(name: str, root: Path | str | None = None) -> list[Result]:
    """All saved results called ``name`` (any config), newest first."""
    base = Path(root) if root is not None else results_dir()
    found = []
    for sidecar in sorted(base.glob(f"{_check_name(name)}-*.json")):
        meta = json.loads(sidecar.read_text())
        if meta.get("name") != name:
            continue
        result = load(name, meta["config"], base)
        if result is not None:
            found.append(result)
    return sorted(found, key=lambda r: r.meta.get("date", ""), reverse=True)


def cached(
    name: str,
    config: Mapping[str, Any] | Any,
    compute: Callable[[], Mapping[str, np.ndarray]],
    *,
    root: Path | str | None = None,
    force: bool = False,
    scale: str | None = None,
) -> Result:
    """Load the result for ``config``, or run ``compute()`` (timed), save and return it."""
    if not force:
        hit = load(name, config, root)
        if hit is not None:
            return hit
    start = time.perf_counter()
    arrays = compute()
    wall = time.perf_counter() - start
    save(name, config, arrays, wall_time=wall, root=root, scale=scale)
    result = load(name, config, root)
    assert result is not None
    return result

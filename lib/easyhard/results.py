"""Saved results: arrays (.npz) plus a JSON sidecar with their provenance.

A result is keyed by ``name`` and a hash of the config that made it, so a
changed config never reads a stale result. The sidecar records the config,
the package version, the git commit and whether the tree was dirty, a
fingerprint of the library's sources, the device the computation used, the
wall time, the date and the scale. Re-computable caches are keyed by the code
as well (``code=``, a :func:`code_fingerprint` of the sources that made them):
a cache made by other code is recomputed, never shown.

Lookups without ``root=`` (:func:`load`, :func:`find`, :func:`sidecars`,
:func:`cached`) read every folder of :func:`easyhard.paths.results_dirs`: the
folder new results are saved to, then the results an installed package ships
(a result saved here hides a shipped one of the same name and config). Saves
always go to :func:`easyhard.paths.results_dir` (or ``root``).

Both files are written to temporary files and renamed into place, the sidecar
last, and each sidecar names the id of its arrays: a save cut short by a kill
or a full disk leaves the previous result intact, or a pair that
:func:`load` recognises as not belonging together.
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
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easyhard import __version__
from easyhard.config import device as best_device
from easyhard.paths import (
    RESULTS_ENV,
    cache_dir,
    code_fingerprint,
    ensure_writable,
    remove_stale_temps,
    results_dir,
    results_dirs,
)

__all__ = [
    "RESULTS_ENV",
    "LIBRARY",
    "CorruptResultError",
    "Result",
    "cache_dir",
    "cached",
    "check_writable",
    "code_fingerprint",
    "config_hash",
    "find",
    "git_state",
    "load",
    "result_paths",
    "results_dir",
    "results_dirs",
    "save",
    "sidecars",
]

_REPO_ROOT = Path(__file__).resolve().parents[2]
_SAVE_ID = "__save_id__"  # hidden array pairing an .npz with its sidecar

#: ``cached(code=LIBRARY)`` (the default): key the cache by the whole library's sources
LIBRARY = "library"


class CorruptResultError(ValueError):
    """A results file that cannot be read, or an .npz and sidecar that do not belong together."""


@dataclass
class Result:
    """A loaded result: its arrays and its provenance ``meta`` (the JSON sidecar)."""

    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        """The config that made the result (as saved, JSON-normalised)."""
        return self.meta["config"]

    def describe(self) -> str:
        """One line for a figure caption: scale, device, machine, date, wall time, commit."""
        m = self.meta
        wall = m.get("wall_time_s")
        wall_text = f"{wall:.0f} s" if isinstance(wall, (int, float)) and not isinstance(wall, bool) else "? s"
        commit = str(m.get("git_commit") or "unknown")
        commit_text = commit[:8] if commit != "unknown" else "commit unknown"
        if m.get("git_dirty"):
            commit_text += " (uncommitted changes)"
        return (
            f"{m.get('scale', '?')} scale, {m.get('device', '?')} on {m.get('machine', '?')}, "
            f"{str(m.get('date', '?'))[:10]}, {wall_text}, code {commit_text}"
        )


def _as_dict(config: Mapping[str, Any] | Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a mapping or a dataclass, got {type(config).__name__}")
    return json.loads(json.dumps(dict(config), sort_keys=True, default=_json_default))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
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


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=_REPO_ROOT, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_commit() -> str:
    out = _git("rev-parse", "HEAD")
    return out.strip() if out else "unknown"


def git_state() -> dict[str, Any]:
    """The checkout's commit and whether its tracked files differ from it.

    Returns
    -------
    dict
        ``{"git_commit": str, "git_dirty": bool or None}``, as :func:`save` records them.
    """
    return {"git_commit": _git_commit(), "git_dirty": _git_dirty()}


def _git_dirty() -> bool | None:
    """True if the library's sources (``lib/``, ``pyproject.toml``) differ from the commit."""
    out = _git("status", "--porcelain", "--", "lib", "pyproject.toml")
    return None if out is None else bool(out.strip())


def _device_text(device: Any | None) -> str:
    if device is None:
        dev = best_device()
        text = str(dev) if dev.type != "cuda" else f"cuda ({_cuda_name()})"
        return f"{text} (best available at save time; the computation's device was not given)"
    text = str(device)
    if text.startswith("cuda") and "(" not in text:
        try:
            return f"{text} ({_cuda_name()})"
        except Exception:  # no CUDA here: keep what the caller said
            return text
    return text


def check_writable(folder: Path | str | None = None) -> None:
    """Create ``folder`` and make sure a file can be written there, else raise ``PermissionError``.

    Call it before a long computation whose result goes there (default:
    :func:`easyhard.paths.results_dir`), so that no work is lost to a failing save.
    """
    ensure_writable(folder if folder is not None else results_dir(), "results to",
                    f"set ${RESULTS_ENV} or pass root= to a writable folder")


def save(
    name: str,
    config: Mapping[str, Any] | Any,
    arrays: Mapping[str, np.ndarray],
    *,
    wall_time: float | None = None,
    root: Path | str | None = None,
    scale: str | None = None,
    device: Any | None = None,
    code: str | None = None,
    git: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``arrays`` and their provenance atomically; return the .npz path.

    Parameters
    ----------
    name : str
        Result name (letters, digits, ``_``, ``-``).
    config : mapping or dataclass
        The config that made the arrays; its hash keys the files.
    arrays : mapping of str to array
        Plain numeric arrays (object arrays are refused: :func:`load` could not read them).
    wall_time : float, optional
        Seconds the computation took.
    root : path, optional
        Folder (default :func:`easyhard.paths.results_dir`).
    scale : str, optional
        Scale to record (default ``config["scale"]``).
    device : str or torch.device, optional
        The device the computation used. Without it the sidecar records the
        best device present at save time, and says so.
    code : str, optional
        A :func:`code_fingerprint` that :func:`load` and :func:`cached` can require.
    git : mapping, optional
        :func:`git_state` taken when the computation started. Without it the
        sidecar records the commit checked out at save time, which for a run of
        hours may be a later one than the code that ran.
    """
    cfg = _as_dict(config)
    npz, sidecar = result_paths(name, cfg, root)
    plain = {}
    for key, value in arrays.items():
        arr = np.asarray(value)
        if arr.dtype == object:
            raise TypeError(f"array {key!r} of result {name!r} has dtype object; save numeric arrays only")
        if key == _SAVE_ID:
            raise ValueError(f"array name {_SAVE_ID!r} is reserved")
        plain[key] = arr
    check_writable(npz.parent)
    save_id = uuid.uuid4().hex
    meta = {
        "name": name,
        "config": cfg,
        "config_hash": config_hash(cfg),
        "version": __version__,
        **(dict(git) if git is not None else git_state()),
        "source_fingerprint": code_fingerprint("easyhard"),
        "code": code,
        "device": _device_text(device),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "torch_threads": _torch_threads(),
        "wall_time_s": wall_time,
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "scale": scale if scale is not None else cfg.get("scale"),
        "arrays": sorted(plain),
        "save_id": save_id,
    }
    remove_stale_temps(npz.parent, f".{npz.stem}.*.tmp")
    tmp_npz = npz.with_name(f".{npz.name}.{os.getpid()}.tmp")
    tmp_json = sidecar.with_name(f".{sidecar.name}.{os.getpid()}.tmp")
    try:
        with open(tmp_npz, "wb") as fh:
            np.savez_compressed(fh, **plain, **{_SAVE_ID: np.array(save_id)})
            fh.flush()
            os.fsync(fh.fileno())
        with open(tmp_json, "w") as fh:
            fh.write(json.dumps(meta, indent=2, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp_npz.replace(npz)
        tmp_json.replace(sidecar)
    finally:
        tmp_npz.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return npz


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _cuda_name() -> str:
    import torch

    return torch.cuda.get_device_name()


def _read_sidecar(sidecar: Path) -> dict[str, Any]:
    """The sidecar's dict, or :class:`CorruptResultError` naming the file and the fix."""
    try:
        meta = json.loads(sidecar.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CorruptResultError(
            f"results sidecar {sidecar} cannot be read ({err}); delete it and its .npz to recompute"
        ) from err
    if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
        raise CorruptResultError(
            f"{sidecar} is not an easyhard results sidecar (no 'config' mapping); move it out of "
            "the results folder"
        )
    return meta


def _read_arrays(npz: Path, meta: dict[str, Any]) -> dict[str, np.ndarray]:
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise CorruptResultError(
            f"results file {npz} cannot be read ({type(err).__name__}: {err}); delete it and its "
            ".json sidecar to recompute"
        ) from err
    stored = arrays.pop(_SAVE_ID, None)
    expected = meta.get("save_id")
    if (stored is None) != (expected is None) or (stored is not None and str(stored) != expected):
        raise CorruptResultError(
            f"results file {npz} and its sidecar {npz.with_suffix('.json')} come from different "
            "saves (an interrupted save?); delete both to recompute"
        )
    return arrays


def load(
    name: str,
    config: Mapping[str, Any] | Any,
    root: Path | str | None = None,
    *,
    code: str | None = None,
) -> Result | None:
    """The saved result ``name`` for exactly this ``config``, or None.

    Without ``root``, the folders of :func:`easyhard.paths.results_dirs` are
    read in turn and the first hit is returned. With ``code``, a result saved by other code (another :func:`code_fingerprint`,
    or none) counts as missing. A file that cannot be read raises
    :class:`CorruptResultError`, which names it.
    """
    for base in _roots(root):
        npz, sidecar = result_paths(name, config, base)
        if not (npz.exists() and sidecar.exists()):
            continue
        meta = _read_sidecar(sidecar)
        if meta.get("config") != _as_dict(config):
            continue
        if code is not None and meta.get("code") != code:
            continue
        return Result(arrays=_read_arrays(npz, meta), meta=meta)
    return None


def _roots(root: Path | str | None) -> list[Path]:
    """``[root]``, or every folder of :func:`easyhard.paths.results_dirs` when ``root`` is None."""
    return [Path(root)] if root is not None else results_dirs()


def _matches(saved: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return all(key in saved and saved[key] == value for key, value in wanted.items())


def find(
    name: str,
    root: Path | str | None = None,
    *,
    config: Mapping[str, Any] | Any | None = None,
    match: Mapping[str, Any] | None = None,
) -> list[Result]:
    """Saved results called ``name``, newest first.

    Parameters
    ----------
    name : str
        Result name.
    root : path, optional
        Folder (default: every folder of :func:`easyhard.paths.results_dirs`).
    config : mapping or dataclass, optional
        Keep only the result made by exactly this config.
    match : mapping, optional
        Keep only results whose config has these entries (a subset match,
        e.g. ``{"scale": "laptop", "data": "real"}``).

    Files that are not readable easyhard results (foreign JSON, damaged or
    mismatched files) are skipped with a warning that names them.
    """
    wanted = _as_dict(config) if config is not None else None
    subset = _as_dict(match) if match is not None else {}
    found = []
    for meta, npz in _scan_all(root, _check_name(name)):
        if meta.get("name") != name:
            continue
        if wanted is not None and meta["config"] != wanted:
            continue
        if not _matches(meta["config"], subset):
            continue
        try:
            found.append(Result(arrays=_read_arrays(npz, meta), meta=meta))
        except CorruptResultError as err:
            warnings.warn(f"skipping {err}", stacklevel=2)
    return sorted(found, key=lambda r: str(r.meta.get("date", "")), reverse=True)


def _scan(base: Path, name: str | None = None) -> Iterator[tuple[dict[str, Any], Path]]:
    """``(meta, npz)`` of each readable sidecar in ``base``; warn about the others."""
    pattern = f"{name}-*.json" if name is not None else "*.json"
    for sidecar in sorted(base.glob(pattern)):
        try:
            meta = _read_sidecar(sidecar)
        except CorruptResultError as err:
            warnings.warn(f"skipping {err}", stacklevel=4)
            continue
        npz = sidecar.with_suffix(".npz")
        if not npz.exists():
            warnings.warn(f"skipping {sidecar}: its arrays {npz.name} are missing", stacklevel=4)
            continue
        yield meta, npz


def sidecars(root: Path | str | None = None) -> list[dict[str, Any]]:
    """The provenance of every readable result in ``root`` (default: all of :func:`easyhard.paths.results_dirs`).

    Files that are not readable results are skipped with a warning.
    """
    return [meta for meta, _ in _scan_all(root)]


def _scan_all(root: Path | str | None, name: str | None = None) -> Iterator[tuple[dict[str, Any], Path]]:
    """:func:`_scan` over the folders of :func:`_roots`; a file name seen in an earlier folder hides later ones."""
    seen: set[str] = set()
    for base in _roots(root):
        for meta, npz in _scan(base, name):
            if npz.name not in seen:
                seen.add(npz.name)
                yield meta, npz


def cached(
    name: str,
    config: Mapping[str, Any] | Any,
    compute: Callable[[], Mapping[str, np.ndarray]],
    *,
    root: Path | str | None = None,
    force: bool = False,
    scale: str | None = None,
    device: Any | None = None,
    code: str | None = LIBRARY,
) -> Result:
    """Load the result for ``config`` and ``code``, or run ``compute()`` (timed), save and return it.

    The folder is checked for writability before ``compute`` runs, so no work
    is lost to a failing save. A damaged cached result is recomputed (with a
    warning), and so is one saved by other code.

    Parameters
    ----------
    name, config, root, scale, device
        As for :func:`save`.
    compute : callable
        Returns the arrays.
    force : bool
        Recompute even if a result is saved.
    code : str or None
        The code the result must come from: by default :data:`LIBRARY`, the
        :func:`code_fingerprint` of the whole ``easyhard`` package, so any change
        to the library recomputes; a narrower fingerprint (e.g.
        ``code_fingerprint("easyhard.sgd")``) recomputes less often; None
        never checks the code.
    """
    if code == LIBRARY:
        code = code_fingerprint("easyhard")
    if not force:
        try:
            hit = load(name, config, root, code=code)
        except CorruptResultError as err:
            warnings.warn(f"recomputing: {err}", stacklevel=2)
            hit = None
        if hit is not None:
            return hit
    npz, _ = result_paths(name, config, root)
    check_writable(npz.parent)
    start = time.perf_counter()
    arrays = compute()
    wall = time.perf_counter() - start
    save(name, config, arrays, wall_time=wall, root=root, scale=scale, device=device, code=code)
    result = load(name, config, root, code=code)
    assert result is not None
    return result

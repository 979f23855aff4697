"""Where saved results and re-computable caches live.

* results (where new results are saved): ``$EASYHARD_RESULTS_DIR``, else
  ``data/results/`` of the repository checkout (tracked by git), else
  ``~/.cache/easyhard/results``;
* shipped results (read only): the copy of ``data/results/`` that an installed
  package carries as its package data ``easyhard/_results/`` (found with
  ``importlib.resources``; absent in a checkout, which reads
  ``data/results/`` itself). :func:`results_dirs` lists the folders a lookup
  reads, the saving folder first, so a result run here is found before the
  shipped copy;
* caches: ``$EASYHARD_CACHE_DIR``, else ``.cache/`` of the checkout
  (git-ignored), else ``~/.cache/easyhard``.

:func:`code_fingerprint` names the code that made a cache, so that caches can
be keyed by it as well as by their config.

Relative environment values are taken relative to the current directory and
returned as absolute paths. Both :mod:`easyhard.data` and
:mod:`easyhard.results` import this module, so the data loaders need nothing
from the results layer.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
import os
import tempfile
from pathlib import Path

__all__ = [
    "CACHE_ENV",
    "REPO_ROOT",
    "RESULTS_ENV",
    "SHIPPED_RESULTS",
    "cache_dir",
    "code_fingerprint",
    "remove_stale_temps",
    "results_dir",
    "results_dirs",
    "shipped_results_dir",
]

RESULTS_ENV = "EASYHARD_RESULTS_DIR"
CACHE_ENV = "EASYHARD_CACHE_DIR"
#: the package-data folder of an installed package that holds the shipped results
SHIPPED_RESULTS = "_results"

#: the checkout holding ``lib/easyhard`` (for an installed wheel: the site-packages' parent)
REPO_ROOT = Path(__file__).resolve().parents[2]


def _from_env(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser().absolute() if value else None


def _in_checkout() -> bool:
    return (REPO_ROOT / "data").is_dir() and (REPO_ROOT / "lib" / "easyhard").is_dir()


def results_dir() -> Path:
    """The folder of saved results (see the module docstring for the order)."""
    env = _from_env(RESULTS_ENV)
    if env is not None:
        return env
    if _in_checkout():
        return REPO_ROOT / "data" / "results"
    return Path.home() / ".cache" / "easyhard" / "results"


def shipped_results_dir() -> Path | None:
    """The results shipped as package data (``easyhard/_results/``), or None.

    A wheel built from the repository (``pip install git+...``) carries a copy
    of ``data/results/`` there (see the repository's ``setup.py``); a checkout
    or an editable install has none and reads ``data/results/`` directly.
    Package data that is not a folder on disk (a zipped import) counts as absent.
    """
    try:
        folder = importlib.resources.files("easyhard").joinpath(SHIPPED_RESULTS)
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - a namespace without files
        return None
    if not isinstance(folder, Path) or not folder.is_dir():
        return None
    return folder


def results_dirs() -> list[Path]:
    """The folders a lookup of saved results reads, in order: :func:`results_dir`, then the shipped ones.

    Returns
    -------
    list of Path
        ``[results_dir()]``, followed by :func:`~easyhard.paths.shipped_results_dir` when the
        package ships results and they are another folder.
    """
    folders = [results_dir()]
    shipped = shipped_results_dir()
    if shipped is not None and shipped.resolve() != folders[0].resolve():
        folders.append(shipped)
    return folders


def cache_dir() -> Path:
    """The folder of re-computable caches (see the module docstring for the order)."""
    env = _from_env(CACHE_ENV)
    if env is not None:
        return env
    if _in_checkout():
        return REPO_ROOT / ".cache"
    return Path.home() / ".cache" / "easyhard"


def code_fingerprint(*modules: str) -> str:
    """A fingerprint of the source files of ``modules`` (dotted names; a package means all its files).

    The first 16 hex digits of the SHA-256 over each ``.py`` file's path
    (relative to its package) and bytes, in sorted order. Pass it as ``code=``
    to :func:`easyhard.results.cached` so that a cache made by other code is recomputed.

    Parameters
    ----------
    *modules : str
        Module or package names, e.g. ``"easyhard.train", "easyhard.denoisers"``.

    Returns
    -------
    str
        16 hex digits.
    """
    if not modules:
        raise ValueError("code_fingerprint needs at least one module name")
    digest = hashlib.sha256()
    for name in sorted(set(modules)):
        if not isinstance(name, str):
            raise TypeError(f"module names must be strings, got {name!r}")
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ValueError(f"no module named {name!r} to fingerprint")
        origin = Path(spec.origin)
        files = sorted(origin.parent.rglob("*.py")) if spec.submodule_search_locations else [origin]
        for file in files:
            digest.update(f"{name}:{file.relative_to(origin.parent).as_posix()}\0".encode())
            digest.update(file.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's process) or unknowable: keep its file
    return True


def remove_stale_temps(folder: Path, pattern: str) -> int:
    """Delete temporary files ``folder/pattern`` left by killed writers; return how many.

    The writers of this library name their temporary files ``...<pid>.tmp`` or
    ``...<pid>.npy`` (see :func:`easyhard.results.save`); a file whose
    process no longer exists is debris of a kill and is removed. Files of live
    processes, and names without a pid, are kept.
    """
    removed = 0
    for tmp in Path(folder).glob(pattern):
        parts = tmp.name.split(".")
        pid = next((int(p) for p in reversed(parts) if p.isdigit()), None)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def ensure_writable(folder: Path | str, what: str, fix: str) -> Path:
    """Create ``folder`` and write a probe file there, else raise ``PermissionError``.

    Parameters
    ----------
    folder : path
        The folder that a computation will write to.
    what : str
        What goes where, for the message: ``"results to"`` reads "cannot write
        results to <folder>".
    fix : str
        What the user can do instead, for the message.

    Returns
    -------
    Path
        ``folder``, created if it was missing.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as err:
        raise PermissionError(f"cannot write {what} {folder} ({err.strerror or err}); {fix}") from err
    return folder

"""The command line: ``python -m easyhard {list,reproduce,info,results,train}``.

* ``list``: every figure of the book (:data:`easyhard.figures.FIGURES`) with its
  chapter, what it shows, its scale, its measured CPU runtime at ``ci`` and
  whether a saved result exists;
* ``reproduce <figure-id> [--scale ci|laptop|paper] [--device cpu|cuda] [--workers N]``:
  runs the experiment behind a figure and saves its results where the chapter
  finds them (:func:`easyhard.figures.reproduce`);
* ``info``: the scale, device, versions and the data sources found;
* ``results``: the saved results with their provenance;
* ``train ...``: the CIFAR-10 training command line with all its options
  (the same as ``python -m easyhard.train``, which ``torchrun -m`` needs).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
from collections.abc import Sequence

from easyhard import __version__, figures, paths, results
from easyhard.config import DEVICE_ENV, SCALES, device, scale

#: the devices ``reproduce --device`` accepts
DEVICE_CHOICES: tuple[str, ...] = ("cpu", "cuda")


def _scale_text() -> str:
    try:
        return f"{scale()}  (set EASYHARD_SCALE to ci, laptop or paper)"
    except ValueError as err:  # report a bad setting instead of dying on it
        return f"invalid: {err}"


def _device_text() -> str:
    try:
        dev = device()
    except ValueError as err:
        return f"invalid: {err}"
    import torch

    if dev.type == "cuda" and torch.cuda.is_available():
        return f"{dev} ({torch.cuda.get_device_name()})"
    cuda = "CUDA available" if torch.cuda.is_available() else "no CUDA device"
    return f"{dev}  ({cuda}; {os.cpu_count()} CPU cores)"


def _versions() -> str:
    names = ("torch", "numpy", "scipy", "numba", "matplotlib", "torchvision")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return f"python {platform.python_version()}, " + ", ".join(found)


def _cifar_text() -> list[str]:
    from easyhard.data import cifar

    root = cifar._torchvision_root(None)
    tv = root / "cifar-10-batches-py"
    lines = [f"cifar    torchvision copy: {tv if tv.is_dir() else f'none under {root}'}"]
    archive, named = cifar._archive_candidate(None)
    how = named or "the default location"
    lines.append(f"         archive ({how}): {archive if archive.exists() else f'not found at {archive}'}")
    return lines


def _results_text() -> list[str]:
    lines = []
    for i, folder in enumerate(paths.results_dirs()):
        count = len(list(folder.glob("*.json"))) if folder.is_dir() else 0
        role = "saves go here" if i == 0 else "shipped with the package, read only"
        lines.append(f"{'results' if i == 0 else '':8s} {folder}  ({count} saved results; {role})")
    return lines


def info() -> str:
    """Version, scale, device, versions, and the data sources found (CIFAR-10, results, cache)."""
    return "\n".join(
        [
            f"easyhard {__version__}",
            f"scale    {_scale_text()}",
            f"device   {_device_text()}",
            f"versions {_versions()}",
            *_cifar_text(),
            *_results_text(),
            f"cache    {paths.cache_dir()}",
        ]
    )


def _text(value: object, width: int) -> str:
    return f"{'?' if value is None else str(value)[:width]:{width}s}"


def list_results() -> str:
    """A table of the saved results: name, config hash, scale, device, date, wall time, commit.

    Files that are not readable results are skipped with a warning.
    """
    rows = []
    for meta in results.sidecars():
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
        return f"no saved results in {', '.join(map(str, paths.results_dirs()))}"
    header = (
        f"{'name':32s} {'hash':12s} {'scale':7s} {'device':24s} {'date':10s} {'wall':>10s} commit"
    )
    return "\n".join([header, *rows])


def _runtime_text(fig: figures.Figure) -> str:
    seconds = figures.runtime(fig, "ci")
    if "ci" not in fig.scales:
        return "no ci (one size)"
    if seconds is None:
        return "not measured"
    what = "job" if fig.job else "chapter"
    return f"{seconds:.0f} s ({what})"


def list_figures() -> str:
    """A table of every figure: id, chapter, scale, CPU runtime at ci, saved result, what it shows."""
    header = f"{'id':22s} {'chapter':22s} {'scale':20s} {'ci runtime (CPU)':18s} {'saved':12s} what"
    rows = [header]
    metas = results.sidecars()
    for fig in figures.FIGURES:
        scales = sorted({str(m.get("scale")) for m in figures.saved_results(fig, metas)})
        saved = "-" if not fig.job else (",".join(scales) or "no")
        rows.append(f"{fig.id:22s} {fig.chapter:22s} {fig.shows:20s} {_runtime_text(fig):18s} {saved:12s} {fig.what}")
    rows.append("")
    rows.append("scale 'live': computed by the chapter at the reader's scale; runtime: of the job that makes "
                "the figure's saved results, or of the whole chapter for a live figure")
    rows.append("reproduce one: python -m easyhard reproduce <id> [--scale ci|laptop|paper] "
                "[--device cpu|cuda] [--workers N]")
    return "\n".join(rows)


def _choice(value: str, valid: Sequence[str], what: str) -> str:
    if value not in valid:
        raise SystemExit(f"error: unknown {what} {value!r}; valid: {', '.join(valid)}")
    return value


def _reproduce(args: argparse.Namespace) -> int:
    try:
        fig = figures.figure(args.figure)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    if args.scale is not None:
        _choice(args.scale, SCALES, "scale")
    _choice(args.device, DEVICE_CHOICES, "device")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("error: --device cuda, but torch finds no CUDA device here; use --device cpu")
    previous = os.environ.get(DEVICE_ENV)
    os.environ[DEVICE_ENV] = args.device  # easyhard.config.device() reads it
    try:
        print(figures.reproduce(fig.id, args.scale, workers=args.workers, progress=not args.no_progress),
              flush=True)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    finally:
        if previous is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = previous
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["train"]:  # the training command line, options passed through
        from easyhard.train.__main__ import main as train_main

        train_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m easyhard", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,reproduce,info,results,train}")
    sub.add_parser("list", help="every figure of the book")
    rep = sub.add_parser("reproduce", help="run the experiment behind a figure and save its results")
    rep.add_argument("figure", help="a figure id (see: python -m easyhard list)")
    rep.add_argument("--scale", default=None, help=f"one of {', '.join(SCALES)} (default: the figure's saved scale)")
    rep.add_argument("--device", default="cpu", help=f"one of {', '.join(DEVICE_CHOICES)} (default cpu)")
    rep.add_argument("--workers", type=int, default=1, help="processes or threads (see the job; default 1)")
    rep.add_argument("--no-progress", action="store_true", help="no progress bars")
    sub.add_parser("info", help="device, versions and data sources")
    sub.add_parser("results", help="the saved results with their provenance")
    sub.add_parser("train", help="train the CIFAR-10 U-Net (options: python -m easyhard train --help)")
    args = parser.parse_args(argv)
    if args.command == "reproduce":
        return _reproduce(args)
    print({"list": list_figures, "info": info, "results": list_results}[args.command]())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every chapter the way Colab would: a fresh environment, the package from git, each chapter alone.

    python scripts/colab_test.py [--rev REV] [--chapters chapters/a.ipynb ...] [--report FILE]

1. A fresh virtual environment gets only the registry packages Colab ships
   (torch, torchvision, numpy, scipy, matplotlib, ipywidgets, tqdm) and, to run
   the notebooks, nbclient and ipykernel. They come from the package index pip
   is configured with (on the development and CI machines: a local, offline
   one). Where a CPU build of torch lies among pip's ``find-links`` wheels it is
   preferred, as on Colab's CPU runtime; else pip's choice.
2. The package is installed non-editable from git at a commit, as a chapter's
   first cell does in Colab: ``pip install "easyhard @ git+file://<repo>@<rev>"``.
   ``--rev`` defaults to ``HEAD``: uncommitted changes are not tested (the script
   says so) and nothing is committed.
3. Each chapter, as committed at that revision (the notebook Colab opens), is
   copied alone into an empty folder and executed there with
   nbclient at ``EASYHARD_SCALE=ci``, with a fresh home folder, no ``PYTHONPATH``
   and no ``EASYHARD_*`` setting except the CIFAR-10 archive (Colab would
   download CIFAR-10; here the offline copy is named) and, with ``--cache-dir``,
   the folder of re-computable caches (keyed by config and code, so a cache
   never stands in for a result of other code). Saved results must come
   through the installed package.

Prints the time of the install and of each chapter, and writes them as JSON to
``--report``. Exit status 0: every chapter ran; 1: a chapter failed (its error
is printed, its executed notebook kept); 3: skipped, the packages are not
available from the configured index (the reason is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: what Colab ships that the book uses, plus what runs a notebook
COLAB_PACKAGES = ("torchvision", "numpy", "scipy", "matplotlib", "ipywidgets", "tqdm", "nbclient", "ipykernel")
SKIP = 3

_RUN_NOTEBOOK = r"""
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
client = NotebookClient(nb, timeout=int(sys.argv[2]), kernel_name="python3",
                        resources={"metadata": {"path": str(__import__("pathlib").Path(path).parent)}})
try:
    client.execute()
except CellExecutionError as err:
    nbformat.write(nb, path.replace(".ipynb", ".executed.ipynb"))
    print(str(err)[-4000:], file=sys.stderr)
    sys.exit(1)
nbformat.write(nb, path.replace(".ipynb", ".executed.ipynb"))
"""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def _find_links(python: str) -> list[Path]:
    """The local folders among pip's ``find-links`` (environment, then configuration)."""
    values = os.environ.get("PIP_FIND_LINKS", "").split()
    out = _run([python, "-m", "pip", "config", "list"])
    for line in out.stdout.splitlines():
        if "find-links" in line:
            values += line.split("=", 1)[1].strip().strip("'\"").split()
    folders = [Path(v.removeprefix("file://")) for v in values if not v.startswith("http")]
    return [f for f in folders if f.is_dir()]


def torch_requirement(python: str = sys.executable) -> str:
    """``torch==<v>`` for the newest CPU wheel of torch in pip's find-links that fits this Python, else ``torch``."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    found = []
    for folder in _find_links(python):
        for wheel in folder.glob(f"torch-*+cpu-{tag}-*.whl"):
            match = re.match(r"torch-([0-9.]+\+cpu)-", wheel.name)
            if match:
                found.append(tuple(int(x) for x in match[1].split("+")[0].split(".")) + (match[1],))
    return f"torch=={max(found)[-1]}" if found else "torch"


def _cifar_archive() -> str | None:
    """The offline CIFAR-10 archive this checkout's library would use, if there is one."""
    env = os.environ.get("EASYHARD_CIFAR_ARCHIVE")
    if env:
        return env
    out = _run([sys.executable, "-c", "from easyhard.data.cifar import DEFAULT_ARCHIVE as a; print(a)"],
               env={**os.environ, "PYTHONPATH": str(REPO / "lib")})
    path = out.stdout.strip()
    return path if out.returncode == 0 and path and Path(path).exists() else None


def main(argv: list[str] | None = None) -> int:
    """Build the environment, run the chapters; return the exit status."""
    sys.stdout.reconfigure(line_buffering=True)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rev", default="HEAD", help="commit to install (default HEAD)")
    p.add_argument("--chapters", nargs="+", type=Path, default=None, help="default: chapters/*.ipynb")
    p.add_argument("--report", type=Path, default=None, help="write the timings as JSON here")
    p.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    p.add_argument("--cache-dir", type=Path, default=None,
                   help="EASYHARD_CACHE_DIR of the chapters (default: none, a fresh home folder's cache); "
                        "CI passes the checkout's .cache so the book build reuses the decoded CIFAR-10 "
                        "and the ci training run instead of computing them a second time")
    args = p.parse_args(argv)
    rev = _run(["git", "rev-parse", args.rev], cwd=REPO)
    if rev.returncode != 0:
        print(f"[colab] {args.rev!r} is not a commit of {REPO.name}: {rev.stderr.strip()}", file=sys.stderr)
        return 1
    rev = rev.stdout.strip()
    if _run(["git", "status", "--porcelain", "--", "lib", "pyproject.toml", "setup.py", "data"], cwd=REPO).stdout:
        print(f"[colab] note: uncommitted changes to the package are not tested; installing commit {rev[:12]}")
    listed = _run(["git", "ls-tree", "--name-only", rev, "chapters/"], cwd=REPO).stdout.split()
    chapters = args.chapters or [Path(n) for n in sorted(listed) if n.endswith(".ipynb")]
    work = Path(tempfile.mkdtemp(prefix="easyhard-colab-"))
    report: dict = {"rev": rev, "chapters": {}}
    try:
        t0 = time.perf_counter()
        venv = work / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        _run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])  # Colab's pip is recent; venv's may not read git URLs
        torch = torch_requirement()
        install = _run([py, "-m", "pip", "install", "--quiet", "--no-compile", torch, *COLAB_PACKAGES])
        if install.returncode != 0:
            if "No matching distribution" in install.stderr or "Could not find a version" in install.stderr:
                print(f"[colab] SKIPPED: the packages Colab ships are not available from pip's index here "
                      f"(pip said: {install.stderr.strip().splitlines()[-1]})")
                return SKIP
            print(install.stderr, file=sys.stderr)
            return 1
        report["colab_packages_s"] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        spec = f"easyhard @ git+file://{REPO}@{rev}"
        install = _run([py, "-m", "pip", "install", "--quiet", "--no-compile", spec])
        if install.returncode != 0:
            print(f"[colab] pip install {spec!r} failed:\n{install.stderr}", file=sys.stderr)
            return 1
        report["easyhard_install_s"] = round(time.perf_counter() - t1, 1)
        versions = _run([py, "-c", "import torch, numpy, easyhard; print(torch.__version__, numpy.__version__, "
                         "easyhard.__version__, easyhard.__file__)"], cwd=work).stdout.strip()
        print(f"[colab] environment ready in {time.perf_counter() - t0:.0f} s "
              f"(Colab packages {report['colab_packages_s']:.0f} s, {torch}; easyhard {report['easyhard_install_s']:.0f} s): "
              f"torch, numpy, easyhard {versions}")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("EASYHARD_", "PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
        env.update(HOME=str(work / "home"), EASYHARD_SCALE="ci", MPLBACKEND="Agg",
                   PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
        if args.cache_dir is not None:
            env["EASYHARD_CACHE_DIR"] = str(args.cache_dir.absolute())
        archive = _cifar_archive()
        if archive:
            env["EASYHARD_CIFAR_ARCHIVE"] = archive
        (work / "home").mkdir()
        failed = []
        for chapter in chapters:
            folder = work / "run" / chapter.stem
            folder.mkdir(parents=True)
            notebook = _run(["git", "show", f"{rev}:chapters/{chapter.name}"], cwd=REPO)  # as Colab opens it
            if notebook.returncode != 0:
                print(f"[colab] chapters/{chapter.name} is not in commit {rev[:12]}: {notebook.stderr.strip()}",
                      file=sys.stderr)
                failed.append(chapter.stem)
                continue
            (folder / chapter.name).write_text(notebook.stdout)
            t = time.perf_counter()
            out = _run([py, "-c", _RUN_NOTEBOOK, str(folder / chapter.name), str(args.timeout)], cwd=folder, env=env)
            wall = round(time.perf_counter() - t, 1)
            report["chapters"][chapter.stem] = {"seconds": wall, "ok": out.returncode == 0}
            print(f"[colab] {chapter.stem}: {'ok' if out.returncode == 0 else 'FAILED'} in {wall:.0f} s", flush=True)
            if out.returncode != 0:
                failed.append(chapter.stem)
                print(out.stderr[-6000:], file=sys.stderr)
        report["total_s"] = round(time.perf_counter() - t0, 1)
        print(f"[colab] total {report['total_s']:.0f} s; chapters {sum(c['seconds'] for c in report['chapters'].values()):.0f} s")
        if args.report:
            args.report.write_text(json.dumps(report, indent=2) + "\n")
        if failed:
            print(f"[colab] failed: {failed}; executed notebooks kept in {work / 'run'}", file=sys.stderr)
            args.keep = True
            return 1
        return 0
    finally:
        if args.keep:
            print(f"[colab] work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

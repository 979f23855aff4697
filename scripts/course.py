"""Course materials from the chapters: nbgrader assignments, student notebooks, student HTML.

The chapters mark their exercises in nbgrader's own syntax, cell metadata, which the HTML book
never shows:

* an exercise prompt is a markdown cell with a ``{exercise}`` directive;
* a written solution is a markdown cell with a ``{solution}`` directive (``:class: dropdown``),
  tagged ``solution`` and marked as an nbgrader *manually graded answer*;
* a coding solution is a code cell marked as an nbgrader *autograded answer* (``solution``),
  tagged ``solution``, between two markdown cells tagged ``solution`` and ``solution-gate``
  that hold sphinx-exercise's ``{solution-start}`` / ``{solution-end}`` (so the HTML shows the
  code and its output in the collapsed solution);
* its test is a code cell marked as an nbgrader *autograder test* (``grade``, locked), tagged
  ``remove-cell`` (hidden in the HTML, executed by every book build) and ``autograder``; it
  calls a ``check_*`` function of :mod:`easyhard.exercises` inside
  ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``.

Commands (run from the repository root; ``--out`` defaults to ``_build/course``):

* ``python scripts/course.py notebooks``: an nbgrader course folder with one assignment per
  chapter, ``<stem>``, whose notebook ``<stem>_exercises.ipynb`` is the chapter's exercise section
  (``source/``: the instructor version, with solutions and hidden tests; ``release/``: the
  student version, made by ``nbgrader generate_assignment``), and the assignment ``chapters``
  with every full chapter (``release/chapters/``: the chapters students read, without solutions);
* ``python scripts/course.py grade STUDENT [--submit source|release]``: autograde
  ``submitted/STUDENT/<stem>/`` with nbgrader's autograder and print the score of each test cell;
  ``--submit`` first hands in the instructor or the unchanged student versions (a dry run);
* ``python scripts/course.py html [--only STEM] [--solutions]``: the book without solutions
  (sphinx-exercise's ``hide_solutions``, and the solution and test cells dropped) built with
  Jupyter Book into ``<out>/student_book/_build/html``; ``--only`` builds the introduction and one
  chapter; ``--solutions`` keeps the solutions (to check the instructor's HTML of one chapter).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
GATE_TAG, SOLUTION_TAG, TEST_TAG = "solution-gate", "solution", "autograder"
EXERCISES_HEADING = "## Exercises"
BACK_MATTER = "Back matter"  # the _toc.yml part without exercises (figure map, notation, ...)


def chapter_stems() -> list[str]:
    """The teaching chapters of the table of contents, in book order (the back matter excluded)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    stems = [entry["file"].removeprefix("chapters/") for part in toc["parts"]
             if part["caption"] != BACK_MATTER for entry in part["chapters"]]
    return [s for s in stems if (CHAPTERS / f"{s}.ipynb").exists()]


def exercise_start(nb: nbformat.NotebookNode) -> int:
    """Index of the cell that opens the chapter's exercise section."""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith(EXERCISES_HEADING):
            return i
    raise ValueError(f"no markdown cell starts with {EXERCISES_HEADING!r}")


def exercise_sheet(stem: str) -> nbformat.NotebookNode:
    """The exercise section of chapter ``stem`` as a notebook of its own.

    A title cell, the chapter's Colab install cell, a cell that sets the ``ci`` scale, then the
    cells from the ``## Exercises`` heading on, unchanged (every coding exercise imports what it
    uses, so the sheet runs without the rest of the chapter).
    """
    nb = nbformat.read(CHAPTERS / f"{stem}.ipynb", as_version=4)
    title = nb.cells[1].source.splitlines()[0].lstrip("# ").strip()
    head = nbformat.v4.new_markdown_cell(
        f"# Exercises: {title}\n\nThe exercises of the chapter *{title}* (`chapters/{stem}.ipynb`). "
        "Read the chapter first. Replace each `raise NotImplementedError()` by your code and each "
        "\"YOUR ANSWER HERE\" by your answer; the autograder runs hidden checks on the coding exercises.")
    scale = nbformat.v4.new_code_cell('import os\n\nos.environ.setdefault("EASYHARD_SCALE", "ci")')
    install = copy.deepcopy(nb.cells[0])
    sheet = nbformat.v4.new_notebook(metadata=copy.deepcopy(nb.metadata))
    sheet.cells = [head, install, scale] + copy.deepcopy(nb.cells[exercise_start(nb):])
    for cell in sheet.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return sheet


def nbgrader_config(root: Path) -> None:
    """Write ``nbgrader_config.py``: drop the gate cells from student versions, long timeouts."""
    (root / "nbgrader_config.py").write_text(
        "# Written by scripts/course.py.\n"
        "from nbconvert.preprocessors import TagRemovePreprocessor\n"
        "from nbgrader.converters import GenerateAssignment\n\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
        f"c.TagRemovePreprocessor.remove_cell_tags = {{{GATE_TAG!r}}}\n"
        "c.TagRemovePreprocessor.enabled = True\n"
        "c.GenerateAssignment.preprocessors = [TagRemovePreprocessor] + list(\n"
        "    GenerateAssignment.class_traits()['preprocessors'].default())\n"
        "c.Execute.timeout = 600\n"
    )


def _env() -> dict[str, str]:
    """The environment of nbgrader's subprocesses: this Python's scripts first on PATH (nbgrader
    calls ``alembic``), the repository's library importable, one thread, the ci scale."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT / "lib") + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("EASYHARD_SCALE", "ci")
    env.setdefault("MPLBACKEND", "Agg")
    for var in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return env


def _api(root: Path):
    """nbgrader's Python API on the course folder ``root``, configured by its ``nbgrader_config.py``.

    Runs in this process (one start-up for every assignment); the environment of :func:`_env`
    is set here because nbgrader starts ``alembic`` and the notebook kernels as subprocesses.
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import PyFileConfigLoader

    os.environ.update(_env())
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def _run(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"nbgrader {what} failed:\n{result.get('error') or ''}\n{result.get('log', '')[-4000:]}")


def make_notebooks(out: Path, stems: list[str] | None = None) -> list[str]:
    """Instructor (``source/``) and student (``release/``) notebooks of every chapter in ``out``.

    Returns the assignment names (the chapter stems, then ``chapters``).
    """
    stems = stems or chapter_stems()
    out.mkdir(parents=True, exist_ok=True)
    nbgrader_config(out)
    for stem in stems:
        folder = out / "source" / stem
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(exercise_sheet(stem), folder / f"{stem}_exercises.ipynb")
    full = out / "source" / "chapters"
    full.mkdir(parents=True, exist_ok=True)
    for stem in stems:
        shutil.copy(CHAPTERS / f"{stem}.ipynb", full / f"{stem}.ipynb")
    names = [*stems, "chapters"]
    api = _api(out)
    for name in names:
        _run(api.generate_assignment(name, force=True, create=True), f"generate_assignment {name}")
    return names


def submit(out: Path, student: str, version: str, stems: list[str] | None = None) -> None:
    """Copy the instructor (``version="source"``) or student (``"release"``) exercise notebooks to
    ``submitted/<student>/``, as if the student had handed them in (a dry run of the grading)."""
    if version not in ("source", "release"):
        raise ValueError(f"version must be 'source' or 'release', got {version!r}")
    for stem in stems or chapter_stems():
        dest = out / "submitted" / student / stem
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / version / stem / f"{stem}_exercises.ipynb", dest)


def grade(out: Path, student: str, stems: list[str] | None = None) -> dict[str, dict[str, tuple[float, float]]]:
    """Autograde ``submitted/<student>/<stem>/`` for every chapter; per notebook, per autograded
    test cell: (score, max score)."""
    from nbgrader.api import Gradebook

    stems = stems or chapter_stems()
    scores: dict[str, dict[str, tuple[float, float]]] = {}
    api = _api(out)
    for stem in stems:
        _run(api.autograde(stem, student, force=True, create=True), f"autograde {stem} {student}")
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        for stem in stems:
            nb = gb.find_submission_notebook(f"{stem}_exercises", stem, student)
            scores[stem] = {g.name: (float(g.auto_score or 0.0), float(g.max_score)) for g in nb.grades
                            if g.cell.cell_type == "code"}
    return scores


def student_book(out: Path, only: str | None = None, solutions: bool = False) -> Path:
    """Copy the book to ``out/student_book`` without solutions (or with, ``solutions=True``) and
    build it with Jupyter Book; returns the HTML folder."""
    import yaml

    dest = out / ("book_with_solutions" if solutions else "student_book")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("references.bib", "vendor"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dest / name)
    (dest / "chapters").mkdir()
    stems = [only] if only else chapter_stems()
    for path in CHAPTERS.iterdir():
        if path.suffix == ".md":
            shutil.copy(path, dest / "chapters" / path.name)
    for stem in stems:
        nb = nbformat.read(CHAPTERS / f"{stem}.ipynb", as_version=4)
        if not solutions:
            nb.cells = [c for c in nb.cells if not {SOLUTION_TAG, TEST_TAG} & set(c.metadata.get("tags", []))]
        nbformat.write(nb, dest / "chapters" / f"{stem}.ipynb")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config.setdefault("sphinx", {}).setdefault("config", {})["hide_solutions"] = not solutions
    (dest / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    if only:
        toc = {"format": "jb-book", "root": "chapters/intro",
               "chapters": [{"file": f"chapters/{only}"}, {"file": "chapters/bibliography"}]}
        (dest / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    else:
        shutil.copy(ROOT / "_toc.yml", dest / "_toc.yml")
    jb = Path(sys.executable).parent / "jupyter-book"
    # -W is not used: a partial book (--only) has dangling cross-references to other chapters
    subprocess.run([str(jb), "build", str(dest), "--keep-going"], check=True, env=_env())
    return dest / "_build" / "html"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "course")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("notebooks", help="instructor and student notebooks (nbgrader generate_assignment)")
    g = sub.add_parser("grade", help="autograde submitted/STUDENT/<chapter>/ (nbgrader autograde)")
    g.add_argument("student")
    g.add_argument("--submit", choices=("source", "release"),
                   help="first hand in the instructor (source) or the unchanged student (release) versions")
    g.add_argument("--json", type=Path, help="also write the scores to this file")
    h = sub.add_parser("html", help="the student HTML book (hide_solutions)")
    h.add_argument("--only", choices=chapter_stems(), help="build the introduction and this chapter only")
    h.add_argument("--solutions", action="store_true", help="keep the solutions")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if args.command == "notebooks":
        names = make_notebooks(out)
        print(f"[course] instructor notebooks in {out / 'source'}, student notebooks in {out / 'release'} "
              f"({len(names)} assignments)")
    elif args.command == "grade":
        if args.submit:
            submit(out, args.student, args.submit)
        scores = grade(out, args.student)
        table = {k: {c: list(v) for c, v in s.items()} for k, s in scores.items()}
        print(json.dumps(table, indent=1))
        if args.json:
            args.json.write_text(json.dumps(table))
        total = sum(v[0] for s in scores.values() for v in s.values())
        top = sum(v[1] for s in scores.values() for v in s.values())
        print(f"[course] {args.student}: {total:g} / {top:g} autograded points")
    else:
        html = student_book(out, args.only, args.solutions)
        print(f"[course] HTML in {html}")


if __name__ == "__main__":
    main()

"""The course materials: exercises in every chapter, student versions without solutions, and the
autograder's verdicts (full marks for the solutions, zero for the unchanged stubs).

The structural tests and the tests of :mod:`easyhard.exercises` need no grading tool. The tests
that generate and grade the nbgrader assignments skip, with the reason, only where nbgrader is not
installed (``bash scripts/setup.sh`` installs it from ``requirements.txt``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from easyhard import exercises

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "course.py"
spec = importlib.util.spec_from_file_location("course", SCRIPT)
course = importlib.util.module_from_spec(spec)
spec.loader.exec_module(course)
STEMS = course.chapter_stems()
PARTS = {"I": ["cifar_simplicity_bias"], "II": ["mixed_cumulant_model", "mcm_simplicity_bias"],
         "III": ["information_exponent", "easy_and_hard", "correlated_latents", "exponent_law"]}
TITLE = re.compile(r":::\{exercise\} (★{1,3}) \[(concept|derive|code|project)\] (.+)")


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


def exercises_of(stem: str) -> list[dict]:
    """Each exercise of a chapter: label, stars, type, title, and its solution cells."""
    nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
    cells = nb.cells[course.exercise_start(nb):]
    out = []
    for i, cell in enumerate(cells):
        if "exercise" not in tags(cell):
            continue
        head = TITLE.match(cell.source.splitlines()[0])
        assert head, f"{stem}: exercise without '★ [type] title': {cell.source.splitlines()[0]!r}"
        label = re.search(r":label: (\S+)", cell.source).group(1)
        rest = []
        for nxt in cells[i + 1:]:
            if "exercise" in tags(nxt) or "solution" not in tags(nxt) and "autograder" not in tags(nxt):
                break
            rest.append(nxt)
        out.append(dict(label=label, stars=head.group(1), type=head.group(2), title=head.group(3),
                        text=cell.source, after=rest))
    return out


def test_every_chapter_has_typed_exercises_with_deliverables_and_separate_solutions():
    labels = []
    for stem in STEMS:
        found = exercises_of(stem)
        assert {"concept", "derive", "code"} <= {e["type"] for e in found}, f"{stem}: {[e['type'] for e in found]}"
        for e in found:
            labels.append(e["label"])
            assert "**Deliverable:**" in e["text"], f"{e['label']}: no deliverable"
            assert "{solution" not in e["text"], f"{e['label']}: the solution shares the exercise's cell"
            assert e["after"] and e["after"][0].source.startswith((f":::{{solution}} {e['label']}",
                                                                  f":::{{solution-start}} {e['label']}")), \
                f"{e['label']}: not followed by its solution cell"
            assert ":class: dropdown" in e["after"][0].source, f"{e['label']}: solution not collapsed"
    assert len(labels) == len(set(labels)), "exercise labels must be unique in the book"


def test_every_coding_exercise_has_an_nbgrader_solution_and_a_hidden_autograded_check():
    for stem in STEMS:
        for e in (e for e in exercises_of(stem) if e["type"] == "code"):
            code = [c for c in e["after"] if c.cell_type == "code"]
            sol = [c for c in code if c.metadata.get("nbgrader", {}).get("solution")]
            test = [c for c in code if c.metadata.get("nbgrader", {}).get("grade")]
            assert len(sol) == 1 and len(test) == 1, f"{e['label']}: needs one solution and one test cell"
            assert {"remove-cell", "autograder"} <= tags(test[0]), f"{e['label']}: the test must not show in the HTML"
            src = test[0].source
            assert src.startswith("### BEGIN HIDDEN TESTS") and "exercises.check_" in src, e["label"]
            assert test[0].metadata["nbgrader"]["locked"] and test[0].metadata["nbgrader"]["points"] > 0
            # the marks are metadata: no grading syntax in the cells that the HTML book shows
            for cell in e["after"]:
                if "remove-cell" not in tags(cell):
                    assert "BEGIN SOLUTION" not in cell.source and "HIDDEN TESTS" not in cell.source


def test_one_capstone_per_part():
    for part, stems in PARTS.items():
        caps = [e for s in stems for e in exercises_of(s) if e["title"].startswith(f"Capstone of Part {part}:")]
        assert len(caps) == 1, f"Part {part}: {len(caps)} capstones"


def test_checks_name_the_wrong_answer():
    a_cov, a_cum = exercises.sign_flip("tanh", 2, (0.5, 0.99)), exercises.sign_flip("tanh", 4, (0.5, 0.99))
    exercises.check_ie_sign_flips(a_cov, a_cum)
    with pytest.raises(AssertionError, match="swapped"):
        exercises.check_ie_sign_flips(a_cum, a_cov)
    with pytest.raises(AssertionError, match="a_cumulant = 0.9500"):
        exercises.check_ie_sign_flips(a_cov, 0.95)

    def wrong_units(eigvals, a):  # (s/a)^2 instead of (a/s)^2
        out = exercises.floor_units(eigvals, a)
        return out | {"eps_sum": out["x0_sum"] * (1 - a * a) / a**2}

    exercises.check_cifar_units(exercises.floor_units)
    with pytest.raises(AssertionError, match=r"\['eps_sum'\].*not \(s/a\)\^2"):
        exercises.check_cifar_units(wrong_units)
    with pytest.raises(TypeError, match="must be a function"):
        exercises.check_cifar_units(0.1)
    with pytest.raises(AssertionError, match="k = 4"):
        exercises.check_law_capstone(4, 3, {}, 3.0, 2.0, 4.0)
    with pytest.raises(AssertionError, match="var_whitened = 1.2 "):
        exercises.check_mcm_whiten(1.0 + 5.0, 1.2, 100_000)
    with pytest.raises(AssertionError, match="swapped"):
        exercises.check_mcm_whiten(1.0, 6.0, 100_000)
    with pytest.raises(TypeError, match="g2 must be a number"):
        exercises.check_easyhard_noise("-0.2", 1e-3, 0.01, True)
    passage = np.full((3, 16), np.inf)
    with pytest.raises(AssertionError, match="48 walkers did not reach eta"):
        exercises.check_law_capstone(3, 2, {"dims": np.array([16, 24, 32]), "passage": passage}, 2.0, 1.0, 3.0)


@pytest.fixture(scope="module")
def course_dir(tmp_path_factory):
    pytest.importorskip("nbgrader", reason="nbgrader, the grading tool, is not installed "
                                           "(bash scripts/setup.sh installs it from requirements.txt)")
    out = tmp_path_factory.mktemp("course")
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               EASYHARD_SCALE="ci")
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "notebooks"], check=True, env=env,
                   capture_output=True, text=True)
    return out, env


def is_solution_side(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("solution") or "solution" in tags(cell) or meta.get("grade") and cell.cell_type == "code")


def solution_lines(nb) -> set[str]:
    """Lines of the solution and test cells that occur nowhere else in the notebook."""
    lines = {ln.strip() for c in nb.cells if is_solution_side(c) for ln in c.source.splitlines()}
    other = {ln.strip() for c in nb.cells if not is_solution_side(c) for ln in c.source.splitlines()}
    return {ln for ln in lines - other if len(ln) > 12}


def test_student_versions_contain_no_solution(course_dir):
    out, _ = course_dir
    for stem in STEMS:
        for teacher, student in ((out / "source" / stem / f"{stem}_exercises.ipynb",
                                  out / "release" / stem / f"{stem}_exercises.ipynb"),
                                 (out / "source" / "chapters" / f"{stem}.ipynb",
                                  out / "release" / "chapters" / f"{stem}.ipynb")):
            lines = solution_lines(nbformat.read(teacher, as_version=4))
            assert lines, f"{teacher.name}: the instructor version has no solutions"
            text = "\n".join(c.source for c in nbformat.read(student, as_version=4).cells)
            leaked = sorted(lines & {ln.strip() for ln in text.splitlines()})
            assert not leaked, f"{student.name}: solution lines in the student version: {leaked[:3]}"
            assert "exercises.check_" not in text and "{solution" not in text, student.name
            assert "raise NotImplementedError()" in text and "YOUR ANSWER HERE" in text, student.name


def test_autograder_gives_full_marks_to_solutions_and_zero_to_stubs(course_dir):
    out, env = course_dir
    verdicts = {}
    for student, version in (("solutions", "source"), ("stubs", "release")):
        report = out / f"{student}.json"
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "grade", student, "--submit", version,
                        "--json", str(report)], check=True, env=env, capture_output=True, text=True)
        verdicts[student] = json.loads(report.read_text())
    for stem in STEMS:
        for test_id, (score, top) in verdicts["solutions"][stem].items():
            assert top > 0 and score == top, f"{stem}/{test_id}: the solution scored {score} of {top}"
        for test_id, (score, top) in verdicts["stubs"][stem].items():
            assert score == 0, f"{stem}/{test_id}: the unchanged stub scored {score} of {top}"
        assert verdicts["solutions"][stem], f"{stem}: no autograded test"

"""The chapters' markdown reads in Colab, where MyST directives do not render.

Colab shows a colon-fenced directive (``:::{prf:definition}``) as a line of text and renders
the Markdown and maths inside it; a backtick-fenced one (```` ```{prf:definition} ````)
becomes a code block with raw LaTeX. So every directive is colon-fenced, and the maths of
definitions and propositions is plain ``$...$`` / ``$$...$$``, never a ``{math}`` directive
or an ``{eq}`` role, which Colab would print raw.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("*.ipynb"))
BACKTICK_DIRECTIVE = re.compile(r"^\s*(`{3,})\s*\{([\w:-]+)\}", re.M)
# the exercises and their solutions are the grading tool's (their cells are built by it)
EXERCISE_DIRECTIVES = {"exercise", "solution", "solution-start", "solution-end"}
STATEMENT = re.compile(
    r"^:::+\s*\{prf:(definition|proposition|theorem|lemma|corollary)\}.*?^:::+\s*$", re.M | re.S
)


def _markdown(path: Path) -> list[tuple[int, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "markdown"]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_directives_are_colon_fenced(path):
    found = [
        (i, m.group(2))
        for i, text in _markdown(path)
        for m in BACKTICK_DIRECTIVE.finditer(text)
        if m.group(2) not in EXERCISE_DIRECTIVES
    ]
    assert not found, (
        f"{path.name}: backtick-fenced directives (cell, name) {found}; write them as "
        ":::{name} ... ::: so that Colab renders their Markdown and maths"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_statements_use_plain_maths(path):
    bad = [
        (i, block.group(0).splitlines()[0])
        for i, text in _markdown(path)
        for block in STATEMENT.finditer(text)
        if re.search(r"\{math\}|\{eq\}|```", block.group(0))
    ]
    assert not bad, f"{path.name}: definitions or propositions with maths Colab cannot render: {bad}"


def test_there_are_statements():
    """The check above is not vacuous: the book states definitions and propositions."""
    total = sum(len(STATEMENT.findall(text)) for p in CHAPTERS for _, text in _markdown(p))
    assert total >= 5, total

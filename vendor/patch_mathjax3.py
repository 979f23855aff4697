"""Make the vendored widget bundle typeset labels with MathJax 3.

``@jupyter-widgets/html-manager@1.0.15`` typesets widget labels with the
MathJax 2 call ``MathJax.Hub.Queue(["Typeset", MathJax.Hub, el])``. The book
loads MathJax 3, which has no ``MathJax.Hub``, so every widget label threw
"Cannot read properties of undefined (reading 'Queue')". This rewrites each
such call to use ``MathJax.typesetPromise([el])`` when MathJax 3 is ready and
to do nothing otherwise (MathJax 3 then typesets the page itself when it starts).

Run once after updating ``widgets/embed-amd.js``: ``python vendor/patch_mathjax3.py``.
It is idempotent.
"""

from __future__ import annotations

import re
from pathlib import Path

BUNDLE = Path(__file__).parent / "widgets" / "embed-amd.js"
MJ2_CALL = re.compile(r'MathJax\.Hub\.Queue\(\["Typeset",MathJax\.Hub,(\w+)\]\)')


def patch(text: str) -> tuple[str, int]:
    """Return ``text`` with every MathJax 2 typeset call replaced, and the count."""
    return MJ2_CALL.subn(r"(MathJax.typesetPromise&&MathJax.typesetPromise([\1]))", text)


if __name__ == "__main__":
    new, count = patch(BUNDLE.read_text(encoding="utf-8"))
    BUNDLE.write_text(new, encoding="utf-8")
    print(f"{BUNDLE.name}: replaced {count} MathJax 2 typeset call(s)")

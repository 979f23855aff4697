"""``check``: an assert that says which claim of the book failed and what to try.

Chapters end their claims in ``check(condition, claim, hint)`` instead of a bare
``assert``, so that a reader who changed a parameter learns *which* statement
was not reproduced and whether that is expected (for example a spike below its
detection threshold).
"""

from __future__ import annotations


def check(condition: object, claim: str, hint: str = "") -> None:
    """Raise ``AssertionError("claim not reproduced: <claim>. <hint>")`` unless ``condition``.

    Parameters
    ----------
    condition
        Anything with a truth value (a ``bool``, a ``numpy.bool_``, ...).
    claim
        The statement of the text that ``condition`` tests, in words.
    hint
        What to look at or try when it fails (optional).
    """
    if not isinstance(claim, str) or not claim:
        raise TypeError(f"claim must be a non-empty string, got {claim!r}")
    if not isinstance(hint, str):
        raise TypeError(f"hint must be a string, got {hint!r}")
    if not bool(condition):
        message = f"claim not reproduced: {claim}."
        raise AssertionError(f"{message} {hint}" if hint else message)

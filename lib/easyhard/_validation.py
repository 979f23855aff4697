"""One idea of a valid argument for the whole library.

In the style of scikit-learn's ``utils.validation.check_scalar``: every public
entry point checks its numbers, choices and seeds with these four functions,
so that every message names the parameter, its value and the allowed range,
and every function agrees on what a number is:

* a real number is an ``int``, a ``float`` or a numpy integer or floating
  scalar; ``bool`` (and ``numpy.bool_``), strings, ``None`` and complex numbers
  are refused with a :class:`TypeError`;
* an integer is an ``int`` or a numpy integer; ``bool`` and floats (even
  ``5.0``) are refused;
* out-of-range and non-finite values raise :class:`ValueError`.

The type errors raised here are :class:`ArgumentTypeError`, a subclass of both
``TypeError`` and ``ValueError``, so that callers which caught ``ValueError``
for every bad argument keep working.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Literal, TypeVar

import numpy as np

__all__ = [
    "MAX_ELEMENTS",
    "SEED_MAX",
    "ArgumentTypeError",
    "check_bool",
    "check_choice",
    "check_generator",
    "check_int",
    "check_scalar",
    "check_seed",
]

T = TypeVar("T")

#: the largest seed every generator of the library accepts (torch's ``manual_seed``)
SEED_MAX = 2**64 - 1

#: the most entries one call may allocate (a size guard: 2**31 float32 values are 8 GB)
MAX_ELEMENTS = 2**31

Closed = Literal["both", "left", "right", "neither"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (also a ``ValueError``, see the module docstring)."""


def _is_bool(x: object) -> bool:
    return isinstance(x, (bool, np.bool_))


def _same(x: object, choice: object) -> bool:
    """``x == choice`` without ``True == 1`` and without array comparisons."""
    if _is_bool(x) != _is_bool(choice) or isinstance(x, np.ndarray):
        return False
    try:
        return bool(x == choice)
    except (TypeError, ValueError):
        return False


def _scalar_text(lo: float | None, hi: float | None, closed: Closed, finite: bool) -> str:
    """The allowed values in words: "lie in (0, 1)", "be a finite number >= 0", ..."""
    left = closed in ("both", "left")
    right = closed in ("both", "right")
    if lo is not None and hi is not None:
        return f"lie in {'[' if left else '('}{lo:g}, {hi:g}{']' if right else ')'}"
    number = "a finite number" if finite else "a number"
    if lo is not None:
        return f"be {number} {'>=' if left else '>'} {lo:g}"
    if hi is not None:
        return f"be {number} {'<=' if right else '<'} {hi:g}"
    return f"be {number}"


def check_scalar(
    x: object,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    closed: Closed = "both",
    finite: bool = True,
) -> float:
    """Return ``x`` as a float if it is a real number in the allowed range.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        How the message names the parameter, e.g. ``"a (signal coefficient)"``.
    lo, hi : float, optional
        Bounds of the allowed interval (none by default).
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.
    finite : bool
        Refuse NaN and infinities (the default).

    Returns
    -------
    float
        ``float(x)``.

    Raises
    ------
    ArgumentTypeError
        If ``x`` is not a real number (bools and strings are not).
    ValueError
        If ``x`` is not finite (with ``finite``) or outside the interval.
    """
    what = _scalar_text(lo, hi, closed, finite)
    if _is_bool(x) or not isinstance(x, numbers.Real):
        raise ArgumentTypeError(
            f"{name} must {what} (a real number, not a bool or string), got {x!r} of type "
            f"{type(x).__name__}"
        )
    value = float(x)
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must {what}, got {x!r}")
    if math.isnan(value):
        raise ValueError(f"{name} must {what}, got {x!r}")
    left = closed in ("both", "left")
    right = closed in ("both", "right")
    if lo is not None and (value < lo or (value == lo and not left)):
        raise ValueError(f"{name} must {what}, got {x!r}")
    if hi is not None and (value > hi or (value == hi and not right)):
        raise ValueError(f"{name} must {what}, got {x!r}")
    return value


def check_int(x: object, name: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``x`` as an ``int`` if it is an integer in ``[lo, hi]``.

    Parameters
    ----------
    x : object
        The value to check: an ``int`` or a numpy integer (not a bool, not a float).
    name : str
        How the message names the parameter, e.g. ``"n (number of samples)"``.
    lo, hi : int, optional
        Inclusive bounds (none by default).

    Returns
    -------
    int
        ``int(x)``.

    Raises
    ------
    ArgumentTypeError
        If ``x`` is not an integer.
    ValueError
        If ``x`` is outside ``[lo, hi]``.
    """
    if lo is not None and hi is not None:
        what = f"an integer in [{lo}, {hi}]"
    elif lo is not None:
        what = f"an integer >= {lo}"
    elif hi is not None:
        what = f"an integer <= {hi}"
    else:
        what = "an integer"
    if _is_bool(x) or not isinstance(x, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be {what}, got {x!r} of type {type(x).__name__}")
    value = int(x)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be {what}, got {x!r}")
    return value


def check_bool(x: object, name: str) -> bool:
    """Return ``x`` as a ``bool`` if it is ``True`` or ``False`` (or a numpy bool), else raise.

    Parameters
    ----------
    x : object
        The value to check: strings such as ``"no"`` and numbers such as ``1``
        are refused (``"no"`` would be truthy).
    name : str
        How the message names the parameter.

    Returns
    -------
    bool
        ``bool(x)``.

    Raises
    ------
    ArgumentTypeError
        If ``x`` is not a bool.
    """
    if not _is_bool(x):
        raise ArgumentTypeError(f"{name} must be True or False, got {x!r} of type {type(x).__name__}")
    return bool(x)


def check_choice(x: T, name: str, choices: Collection[T]) -> T:
    """Return ``x`` if it is one of ``choices`` (compared exactly), else raise ``ValueError``.

    Parameters
    ----------
    x : object
        The value to check.
    name : str
        How the message names the parameter.
    choices : collection
        The allowed values; the message lists them.

    Returns
    -------
    object
        ``x`` itself.
    """
    allowed = tuple(choices)
    if not any(_same(x, c) for c in allowed):
        raise ValueError(f"{name} must be one of {allowed}, got {x!r}")
    return x


def check_seed(seed: object, name: str = "seed") -> int:
    """Return ``seed`` as an ``int`` if it is an integer in ``[0, 2**64 - 1]``.

    That is the range of every generator the library seeds (torch's
    ``manual_seed``, numpy's ``SeedSequence``, Python's ``random``).

    Parameters
    ----------
    seed : object
        The value to check (an ``int`` or a numpy integer, not a bool).
    name : str
        How the message names the parameter.

    Returns
    -------
    int
        ``int(seed)``.
    """
    if _is_bool(seed) or not isinstance(seed, numbers.Integral) or not 0 <= int(seed) <= SEED_MAX:
        exc = ArgumentTypeError if _is_bool(seed) or not isinstance(seed, numbers.Integral) else ValueError
        raise exc(f"{name} must be a non-negative integer <= 2**64 - 1, got {seed!r}")
    return int(seed)


def check_generator(generator: object, name: str = "generator") -> None:
    """Raise :class:`ArgumentTypeError` unless ``generator`` is a ``torch.Generator`` or None.

    Parameters
    ----------
    generator : object
        The value to check (a numpy ``Generator`` is refused: torch cannot draw from it).
    name : str
        How the message names the parameter.
    """
    import torch  # here, so that the rest of the module does not need torch

    if generator is not None and not isinstance(generator, torch.Generator):
        raise ArgumentTypeError(
            f"{name} must be a torch.Generator or None, got {type(generator).__name__}"
        )

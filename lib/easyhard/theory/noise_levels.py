"""The two names of one noise level, and where the tied neuron stops learning.

Part I of the book indexes noise by the DDPM step t (linear schedule, T = 1000
steps); Parts II-III by the signal coefficient a of ``x_t = a x0 + s xi``.
They are the same thing through ``a_t = sqrt(abar_t)``, which decreases from
about 1 at t = 1 to about 0.006 at t = 1000 (book:
chapters/information_exponent.ipynb, section ``sec-ie-noise-levels``).

For the tied neuron ``D_w(x_t) = c x_t + A w sigma(w.x_t)`` the Hermite
coefficients ``g_k(a)`` of the loss can change sign with a;
:func:`sign_change` finds where, and :func:`last_step_above` converts such a
level to the last DDPM step that is still less noisy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from easyhard.diffusion import check_noise_level, ddpm_alpha_bar
from easyhard.theory.hermite import hermite_coefficients


def ddpm_a(t: ArrayLike, T: int = 1000) -> np.ndarray:
    """``a_t = sqrt(abar_t)`` of the linear DDPM schedule for integer steps ``1 <= t <= T``."""
    steps = np.asarray(t)
    if steps.size == 0 or not np.issubdtype(steps.dtype, np.integer):
        raise TypeError(f"t (DDPM step) must be an integer or an array of integers, got {t!r}")
    if steps.min() < 1 or steps.max() > T:
        raise ValueError(f"t (DDPM step) must lie in [1, {T}], got {t!r}")
    return np.sqrt(ddpm_alpha_bar(T).numpy())[steps - 1]


def ddpm_step(a: float, T: int = 1000) -> int:
    """The DDPM step t whose ``a_t`` is closest to the signal coefficient ``a`` in (0, 1)."""
    a = check_noise_level(a)
    a_t = np.sqrt(ddpm_alpha_bar(T).numpy())
    return int(np.argmin(np.abs(a_t - a))) + 1


def last_step_above(a_star: float, T: int = 1000) -> int:
    """The largest DDPM step t with ``a_t > a_star`` (0 if there is none).

    ``a_t`` decreases with t, so the steps 1..result are exactly those less
    noisy than ``a_star``.
    """
    a_star = check_noise_level(a_star)
    a_t = np.sqrt(ddpm_alpha_bar(T).numpy())
    return int(np.sum(a_t > a_star))


def sign_change(
    activation: str,
    k: int,
    lo: float = 0.5,
    hi: float = 0.99,
    c: float | None = None,
    A: float = 1.0,
) -> float:
    """The noise level a in (lo, hi) where ``g_k(a)`` of the tied neuron changes sign.

    Raises ``ValueError`` if ``g_k`` has the same sign at both ends (no root
    bracketed; try another interval). ``c`` defaults to ``a`` at each a.
    """
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 0:
        raise ValueError(f"k (Hermite order) must be an integer >= 0, got {k!r}")
    lo, hi = check_noise_level(lo), check_noise_level(hi)
    if not lo < hi:
        raise ValueError(f"need lo < hi, got lo = {lo}, hi = {hi}")

    def g_k(a: float) -> float:
        return float(hermite_coefficients(activation, a, c, A, kmax=max(int(k), 2))[k])

    at_lo, at_hi = g_k(lo), g_k(hi)
    if at_lo * at_hi > 0:
        raise ValueError(
            f"g_{k} of {activation!r} has the same sign at a = {lo} ({at_lo:.3g}) and "
            f"a = {hi} ({at_hi:.3g}); no sign change bracketed"
        )
    return float(brentq(g_k, lo, hi, xtol=1e-12))

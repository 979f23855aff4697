"""Quadrature rules for expectations over standard normal variables.

Gauss-Hermite quadrature converges only like 1/n for an integrand with a kink
(ReLU: the error on E|Z| is 2e-3 with 200 nodes). The rules here use
Gauss-Legendre panels on [-W, W] (W = 10 standard deviations; the mass outside
is below 1e-22) whose edges sit on the kinks and jumps: at q = 0 for the
activation, at the Gaussian quantiles of the atoms for a coupled latent. They
are then exact to rounding for piecewise-polynomial integrands (ReLU) and
converge spectrally for smooth ones (tanh, erf).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss

from easyhard._validation import check_int

WIDTH = 10.0
NODES = 64
#: the most Gauss-Legendre nodes per panel (a size guard; 64 is exact to rounding here)
MAX_NODES = 4096


@lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return leggauss(n)


def _phi(y: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * y * y) / np.sqrt(2.0 * np.pi)


def normal_rule(breaks: Sequence[float] = (0.0,), n: int = NODES) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of E[f(Y)], Y ~ N(0, 1), with panel edges at ``breaks``.

    ``n`` Gauss-Legendre nodes per panel; a function with jumps or kinks at the
    breaks (e.g. nu = sign(lam)) is integrated as accurately as a smooth one.
    """
    t, wt = _legendre(check_int(n, "n (nodes per panel)", lo=1, hi=MAX_NODES))
    breaks = np.asarray(breaks, float)
    if breaks.ndim > 1 or not np.all(np.isfinite(breaks)):
        raise ValueError(f"breaks must be a finite sequence of numbers, got {breaks!r}")
    edges = np.unique(np.clip(np.concatenate([[-WIDTH], breaks, [WIDTH]]), -WIDTH, WIDTH))
    lo, hi = edges[:-1, None], edges[1:, None]
    y = 0.5 * (lo + hi) + 0.5 * (hi - lo) * t
    w = 0.5 * (hi - lo) * wt * _phi(y)
    return y.ravel(), w.ravel()


def shifted_normal_rule(
    mean: np.ndarray, sd: np.ndarray, n: int = NODES
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nodes for E[f(q)] with q = mean + sd Y, split where q = 0 (the kink of ReLU).

    Returns ``(q, y, w)`` of shape ``broadcast(mean, sd).shape + (2 n,)`` with
    ``E[f(q, Y)] ~ sum(w * f(q, y), -1)``.
    """
    mean, sd = np.broadcast_arrays(np.asarray(mean, float), np.asarray(sd, float))
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(sd)) and np.all(sd > 0)):
        raise ValueError("mean must be finite and sd finite and > 0")
    t, wt = _legendre(check_int(n, "n (nodes per panel)", lo=1, hi=MAX_NODES))
    y0 = np.clip(-mean / sd, -WIDTH, WIDTH)[..., None]
    left = 0.5 * (y0 - WIDTH) + 0.5 * (y0 + WIDTH) * t
    right = 0.5 * (y0 + WIDTH) + 0.5 * (WIDTH - y0) * t
    y = np.concatenate([left, right], axis=-1)
    w = np.concatenate([0.5 * (y0 + WIDTH) * wt, 0.5 * (WIDTH - y0) * wt], axis=-1) * _phi(y)
    q = mean[..., None] + sd[..., None] * y
    return q, y, w

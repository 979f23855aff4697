"""The one-dimensional reduction of the denoising loss and its Hermite expansion.

Book: chapters/information_exponent.ipynb, section ``sec-ie-one-dimension``. For a
unit vector w, with p = w.x0, zeta = w.xi and q = a p + s zeta,

    L_t(w) = E||x0 - c x_t||^2 + E_p[G_t(p)],
    G_t(p) = E_zeta[A^2 sigma(q)^2 - 2 A sigma(q) ((1 - c a) p - c s zeta)].

Section ``sec-ie-hermite``: G_t = sum_k g_k He_k with g_k = E[G_t(Z) He_k(Z)] / k!.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermevander
from numpy.typing import ArrayLike

from easyhard._validation import check_int
from easyhard.activations import Activation
from easyhard.neuron import NeuronSpec, as_neuron
from easyhard.theory.quadrature import shifted_normal_rule

#: the highest Hermite order computed (k! overflows a float at k = 171; a size guard)
KMAX = 150


def check_kmax(kmax: int) -> int:
    """Return ``kmax`` as an int if it is an integer in ``[1, KMAX]``, else raise."""
    return check_int(kmax, "kmax (highest Hermite order)", lo=1, hi=KMAX)


def smoothed_G(neuron: NeuronSpec, mu: np.ndarray, r: np.ndarray) -> np.ndarray:
    """E[G_t(mu + r Z)], Z ~ N(0, 1), for arrays ``mu``, ``r >= 0`` (r = 0 gives G_t(mu)).

    With q = a mu + tau Y, tau^2 = a^2 r^2 + s^2, Gaussian regression of Z and
    zeta on Y gives

        A^2 E sigma(q)^2 - 2 A (1 - c a) mu E sigma(q)
        - 2 A ((1 - c a) a r^2 - c s^2) / tau E[sigma(q) Y],

    one quadrature over Y split at the kink q = 0.
    """
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    mu, r = np.broadcast_arrays(np.asarray(mu, float), np.asarray(r, float))
    tau = np.sqrt(a * a * r * r + s * s)
    q, y, w = shifted_normal_rule(a * mu, tau)
    sig = act.numpy(q)
    e_sig2 = np.sum(w * sig * sig, -1)
    e_sig = np.sum(w * sig, -1)
    e_sig_y = np.sum(w * sig * y, -1)
    k = (1.0 - c * a) * a * r * r - c * s * s
    return A * A * e_sig2 - 2.0 * A * (1.0 - c * a) * mu * e_sig - 2.0 * A * k / tau * e_sig_y


def population_loss_1d(
    neuron: NeuronSpec | str | Callable | Activation, a: float | None = None,
    c: float | None = None, A: float = 1.0,
) -> Callable[[ArrayLike], np.ndarray]:
    """The scalar function G_t(p) (book section ``sec-ie-one-dimension``), vectorised over p.

    ``neuron``: a :class:`~easyhard.neuron.NeuronSpec`, or its activation followed by
    ``a``, ``c`` (default ``a``, the optimal skip for whitened data) and ``A``. The inner
    expectation over zeta is a quadrature split at the kink of the activation.
    """
    neuron = as_neuron(neuron, a, c, A)

    def G(p: ArrayLike) -> np.ndarray:
        p = np.asarray(p, float)
        return smoothed_G(neuron, p, np.zeros_like(p))

    return G


@lru_cache(maxsize=4096)
def _coefficients(neuron: NeuronSpec, kmax: int) -> tuple:
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    q, _, w = shifted_normal_rule(np.zeros(()), np.ones(()))
    he = hermevander(q, kmax + 1) / np.array([math.factorial(k) for k in range(kmax + 2)])
    sig = act.numpy(q)
    s_j = w @ (sig[:, None] * he)  # E[sigma He_j] / j!
    q_k = w @ ((sig * sig)[:, None] * he)  # E[sigma^2 He_k] / k!
    g = []
    for k in range(kmax + 1):
        lower = a ** (k - 1) * s_j[k - 1] if k >= 1 else 0.0
        upper = a ** (k + 1) * (k + 1) * s_j[k + 1]
        g.append(
            A * A * a**k * q_k[k]
            - 2.0 * A * (1.0 - c * a) * (upper + lower)
            + 2.0 * A * c * s * s * a**k * (k + 1) * s_j[k + 1]
        )
    return tuple(g)


def hermite_coefficients(
    neuron: NeuronSpec | str | Callable | Activation,
    a: float | None = None,
    c: float | None = None,
    A: float = 1.0,
    kmax: int = 6,
) -> np.ndarray:
    """g_0, ..., g_kmax of G_t = sum_k g_k He_k (book: ``prop-gk-mehler``).

    Computed from one-dimensional Hermite coefficients of sigma and sigma^2.
    Since p = Z and q = a Z + s zeta are standard normals with correlation a,
    E[f(q) He_k(Z)] = a^k E[f(q) He_k(q)] (Mehler), and Stein's lemma on zeta gives

        g_k = A^2 a^k S2_k - 2 A (1 - c a) (a^{k+1} (k+1) S_{k+1} + a^{k-1} S_{k-1})
              + 2 A c s^2 a^k (k+1) S_{k+1},

    with S_j = E[sigma(Z) He_j(Z)] / j!, S2_k = E[sigma(Z)^2 He_k(Z)] / k!
    (the S_{k-1} term is absent for k = 0). With c = a this is
    g_k = A^2 a^k S2_k - 2 A s^2 a^{k-1} S_{k-1}. Cached: repeated calls are free.

    Parameters
    ----------
    neuron : NeuronSpec, str, callable or Activation
        The neuron (:class:`~easyhard.neuron.NeuronSpec`), or its activation sigma, e.g.
        ``"tanh"``, ``"erf"``, ``"relu"``, followed by ``a``, ``c``, ``A``.
    a : float or None
        Noise level (signal coefficient) in (0, 1); required with an activation, left out
        with a spec.
    c : float or None
        Skip coefficient (None: ``c = a``).
    A : float
        Amplitude of the neuron (non-zero).
    kmax : int
        The highest order returned.

    Returns
    -------
    numpy.ndarray
        ``g_0, ..., g_kmax``, shape (kmax + 1,), in x0 units (the loss is summed over
        dimensions, per sample).
    """
    kmax = check_kmax(kmax)
    neuron = as_neuron(neuron, a, c, A)
    g = np.array(_coefficients(neuron, kmax))
    if not np.all(np.isfinite(g)):
        raise ValueError(
            f"the Hermite coefficients of {neuron.activation.name!r} at a = {neuron.a}, "
            f"c = {neuron.c}, A = {neuron.A} are not finite "
            "(an activation returning NaN or inf, or c, A too large)"
        )
    return g

"""The diffusion information exponent of each spike of the mixed cumulant model.

Book: chapters/information_exponent.ipynb, section ``sec-ie-exponent``. The exponent
of spike e is the smallest k for which the term g_k E[He_k(w.x0)] of the
population loss is non-zero to order alpha_e^k. Along one spike (other overlaps zero) E[He_k(w.x0)] is
exactly ``data_factor_k * alpha_e^k``:

* mean: beta_m^k;
* covariance: k! / ((k/2)! 2^{k/2}) beta_u^{k/2} for even k (beta_u at k = 2), 0 for odd k;
* cumulant: b^k E[He_k(nu)] with b^2 = beta_v / (1 + beta_v) (kt_3, kt_4, kt_5, kt_6 + 10 kt_3^2).

A term of even order lowers the loss (the spike is learnable) only if
g_k * data_factor < 0; a term of odd order always does, for one sign of alpha_e.
With coupled latents the loss also has terms alpha_u^j alpha_v with data factor
(j + 1) b beta_u^{j/2} E[lam^j nu] (2 rho for j = 1): linear in alpha_v once
alpha_u = O(1), the drift behind "correlated latents make v easy".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from easyhard.activations import Activation
from easyhard.neuron import NeuronSpec, as_neuron
from easyhard.theory.hermite import check_kmax, hermite_coefficients
from easyhard.theory.landscape import MCMLike, coupled_nodes, hermite_moments

ZERO_TOL = 1e-10  # |g_k| and |data factor| below this (relative to the largest) count as zero


@dataclass(frozen=True)
class SpikeExponent:
    """The leading term g * data_factor * alpha^exponent of the loss along one spike.

    ``exponent`` is None when no term up to the order searched is non-zero
    (the spike is invisible); ``sign`` is the sign of g * data_factor (0 if invisible).
    """

    exponent: int | None
    sign: int
    g: float
    data_factor: float
    learnable: bool
    note: str


def _leading(g: np.ndarray, factors: np.ndarray, orders: list[int], what: str) -> SpikeExponent:
    """The first order k in ``orders`` with g[k] * factors[k] non-zero."""
    gscale = ZERO_TOL * max(np.max(np.abs(g)), 1e-300)
    fscale = ZERO_TOL * max(np.max(np.abs(factors[orders])), 1.0)
    killed = []
    for k in orders:
        if abs(factors[k]) <= fscale:
            continue
        if abs(g[k]) <= gscale:
            killed.append(k)
            continue
        sign = int(np.sign(g[k] * factors[k]))
        notes = [f"{what}: leading term g_{k} * {factors[k]:.4g} * alpha^{k} with g_{k} = {g[k]:.4g}"]
        if killed:
            notes.append(f"orders {killed} have data but g_k = 0 for this activation")
        if k % 2:
            learnable = True
            notes.append(f"odd order: the loss decreases for alpha of sign {-sign:+d}")
        else:
            learnable = sign < 0
            if not learnable:
                notes.append("the leading term raises the loss: not learnable at this noise level")
        return SpikeExponent(k, sign, float(g[k]), float(factors[k]), learnable, "; ".join(notes))
    top = orders[-1]
    if not killed and np.all(np.abs(factors[orders]) <= fscale):
        note = f"{what}: w.x0 is Gaussian up to order {top} along this spike: invisible to any denoiser"
    else:
        note = (
            f"{what}: invisible to this activation up to order {top}: "
            f"the data factor is non-zero only at orders {killed}, where g_k = 0"
        )
    return SpikeExponent(None, 0, 0.0, 0.0, False, note)


def information_exponent(
    model: MCMLike,
    neuron: NeuronSpec | str | Callable | Activation,
    a: float | None = None,
    c: float | None = None,
    A: float = 1.0,
    kmax: int = 8,
) -> dict[str, SpikeExponent]:
    """Exponent, sign and data factor of each spike (book: ``def-diffusion-information-exponent``).

    Keys: ``"mean"`` (if beta_m > 0), ``"covariance"`` (beta_u > 0), ``"cumulant"``
    (beta_v > 0) and, with coupled latents (p_corr > 0, beta_u, beta_v > 0),
    ``"cumulant_given_covariance"``: the order in alpha_v of the mixed term
    once alpha_u = O(1) (1 when E[lam^j nu] != 0 with g_{j+1} != 0); its note
    gives the correlation order j (j = 1: the term 2 g_2 rho alpha_u alpha_v).
    This is a *conditional* exponent (given that u is found): by the definition
    (derivatives at alpha = 0) the exponent of v is still the ``"cumulant"``
    entry; with j = 1 the quadratic form of the loss at alpha = 0 has a top
    direction tilted from u towards v instead (book: ``box-conditional-exponent``).

    Parameters
    ----------
    model : MixedCumulantModel
        The data (anything with the attributes of
        :class:`~easyhard.theory.landscape.MCMLike`).
    neuron : NeuronSpec, str, callable or Activation
        The neuron (:class:`~easyhard.neuron.NeuronSpec`), or its activation sigma followed
        by ``a``, ``c``, ``A``.
    a : float or None
        Noise level (signal coefficient) in (0, 1); required with an activation, left out
        with a spec.
    c : float or None
        Skip coefficient (None: ``c = a``).
    A : float
        Amplitude of the neuron (non-zero).
    kmax : int
        The highest Hermite order examined; a spike with no non-zero term up to it
        gets the exponent None.

    Returns
    -------
    dict of str to SpikeExponent
        One :class:`SpikeExponent` per spike of the model, keyed as above.
    """
    missing = [k for k in ("beta_m", "beta_u", "beta_v", "p_corr", "law") if not hasattr(model, k)]
    if missing:
        raise TypeError(
            f"model must be a MixedCumulantModel (or have beta_m, beta_u, beta_v, p_corr, law), "
            f"got {type(model).__name__} without {missing}"
        )
    kmax = check_kmax(kmax)
    g = hermite_coefficients(as_neuron(neuron, a, c, A), kmax=kmax)
    orders = list(range(1, kmax + 1))
    out: dict[str, SpikeExponent] = {}
    if model.beta_m > 0.0:
        out["mean"] = _leading(g, hermite_moments(model, kmax, 0.0, 0.0, 1.0), orders, "mean")
    if model.beta_u > 0.0:
        out["covariance"] = _leading(g, hermite_moments(model, kmax, 1.0, 0.0), orders, "covariance")
    if model.beta_v > 0.0:
        out["cumulant"] = _leading(g, hermite_moments(model, kmax, 0.0, 1.0), orders, "cumulant")
    if model.p_corr > 0.0 and model.beta_u > 0.0 and model.beta_v > 0.0:
        out["cumulant_given_covariance"] = _mixed(model, g, kmax)
    return out


def _mixed(model: MCMLike, g: np.ndarray, kmax: int) -> SpikeExponent:
    """Leading term g_{j+1} (j + 1) b beta_u^{j/2} E[lam^j nu] alpha_u^j alpha_v of the loss."""
    if kmax < 2:
        return SpikeExponent(
            None, 0, 0.0, 0.0, False,
            "mixed alpha_u^j alpha_v: its lowest order is 2; kmax = 1 searches no order >= 2",
        )
    lam, nu, w = coupled_nodes(model.law)
    b = math.sqrt(model.beta_v / (1.0 + model.beta_v))
    factors = np.zeros(kmax + 1)  # indexed by k = j + 1
    for j in range(1, kmax):
        e_lam_nu = model.p_corr * float(np.sum(w * lam**j * nu))
        factors[j + 1] = (j + 1) * b * model.beta_u ** (j / 2) * e_lam_nu
    lead = _leading(g, factors, list(range(2, kmax + 1)), "mixed alpha_u^j alpha_v")
    if lead.exponent is None:
        return lead
    j = lead.exponent - 1
    note = (
        f"coupled latents: the term {lead.g:.4g} * {lead.data_factor:.4g} * alpha_u^{j} alpha_v "
        f"is linear in alpha_v once alpha_u = O(1) (correlation order j = {j}"
        + (", data factor 2 rho)" if j == 1 else ")")
    )
    return SpikeExponent(1, lead.sign, lead.g, lead.data_factor, True, note)

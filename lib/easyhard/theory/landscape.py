"""The exact population loss of the mixed cumulant model as a function of the overlaps.

For a unit vector w with overlaps alpha_m = w.m, alpha_u = w.u, alpha_v = w.v
(chapter "The mixed cumulant model"), the projection p = w.x0 is

    p = beta_m alpha_m + sqrt(beta_u) alpha_u lam + b alpha_v nu + r Z',
    b = sqrt(beta_v / (1 + beta_v)),   r^2 = ||S w||^2 = 1 - b^2 alpha_v^2,

with Z' ~ N(0, 1) independent of the latents (w.Sz is Gaussian with variance
||S w||^2). The law of p depends on w only through the overlaps, and so does
the loss: L_t(w) = E||x0 - c x_t||^2 + E[G_t(p)] (chapter "The diffusion information exponent"). Everything
here is quadrature, no Monte Carlo: a finite sum over the atoms of nu when it is
independent of lam, and a quadrature over lam (with panel edges at the
quantile thresholds) on the coupled part, of weight p_corr.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
import torch
from numpy.typing import ArrayLike

from easyhard.data.latents import LatentLaw
from easyhard.neuron import NeuronSpec, check_neuron
from easyhard.theory.hermite import check_kmax, smoothed_G
from easyhard.theory.quadrature import normal_rule


class MCMLike(Protocol):
    """What the theory reads from a :class:`~easyhard.data.mcm.MixedCumulantModel`."""

    d: int
    beta_u: float
    beta_v: float
    beta_m: float
    p_corr: float
    law: LatentLaw
    nu_scale: float
    shrink: float


#: overlap points per chunk of :func:`excess_loss` (the quadrature holds about 64 values per point)
CHUNK = 2**14


def coupled_nodes(law: LatentLaw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lam, Q(Phi(lam)), weight)``: quadrature of the quantile coupling of nu to lam."""
    if law.is_gaussian:
        lam, w = normal_rule()
        return lam, lam, w
    lam, w = normal_rule(law.thresholds())
    return lam, law.atoms[np.searchsorted(law.thresholds(), lam)], w


def check_overlaps(
    alpha_u: ArrayLike, alpha_v: ArrayLike, alpha_m: ArrayLike = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The overlaps broadcast to float arrays ``(alpha_u, alpha_v, alpha_m)``.

    Raises ``ValueError`` unless they are finite with alpha_m^2 + alpha_u^2 + alpha_v^2 <= 1
    (the overlaps of a unit vector w with three orthonormal directions).
    """
    arrays = []
    for name, x in (("alpha_u", alpha_u), ("alpha_v", alpha_v), ("alpha_m", alpha_m)):
        arr = np.asarray(x)
        if arr.dtype.kind not in "iuf":  # strings, bools, objects and complex are not overlaps
            raise TypeError(f"{name} must hold real numbers (not strings or bools), got dtype {arr.dtype}")
        arrays.append(arr.astype(float))
    au, av, am = np.broadcast_arrays(*arrays)
    norm2 = au * au + av * av + am * am
    if not np.all(np.isfinite(norm2)) or np.any(norm2 > 1.0 + 1e-9):
        raise ValueError(
            "overlaps (alpha_m, alpha_u, alpha_v) must be finite with "
            f"alpha_m^2 + alpha_u^2 + alpha_v^2 <= 1, got a maximum of {np.max(norm2)!r}"
        )
    return au, av, am


def projection_mixture(
    model: MCMLike, alpha_u: ArrayLike, alpha_v: ArrayLike, alpha_m: ArrayLike = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The law of p = w.x0 as a Gaussian mixture: ``(mu, r, weight)``.

    p ~ sum_j weight_j N(mu_j, r_j^2); ``mu`` and ``r`` have shape
    ``broadcast(alphas).shape + (J,)``, ``weight`` shape ``(J,)``.
    Raises ``ValueError`` if alpha_m^2 + alpha_u^2 + alpha_v^2 > 1 (no unit w has them).
    """
    au, av, am = check_overlaps(alpha_u, alpha_v, alpha_m)
    b = math.sqrt(model.beta_v / (1.0 + model.beta_v))
    cu = math.sqrt(model.beta_u)
    r2 = np.clip(1.0 - b * b * av * av, 0.0, None)
    shift = model.beta_m * am
    law = model.law
    mus, rs, ws = [], [], []
    if model.p_corr < 1.0:  # nu independent of lam: lam joins the Gaussian part
        if law.is_gaussian:
            mus.append(shift[..., None])
            rs.append(np.sqrt(cu * cu * au * au + b * b * av * av + r2)[..., None])
            ws.append(np.array([1.0 - model.p_corr]))
        else:
            mus.append(shift[..., None] + b * av[..., None] * law.atoms)
            rs.append(np.broadcast_to(np.sqrt(cu * cu * au * au + r2)[..., None], mus[-1].shape))
            ws.append((1.0 - model.p_corr) * law.probs)
    if model.p_corr > 0.0:  # nu = Q(Phi(lam)): quadrature over lam
        lam, nu, w = coupled_nodes(law)
        mus.append(shift[..., None] + cu * au[..., None] * lam + b * av[..., None] * nu)
        rs.append(np.broadcast_to(np.sqrt(r2)[..., None], mus[-1].shape))
        ws.append(model.p_corr * w)
    return np.concatenate(mus, -1), np.concatenate(rs, -1), np.concatenate(ws)


def excess_loss(
    model: MCMLike,
    neuron: NeuronSpec,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    alpha_m: ArrayLike = 0.0,
) -> np.ndarray:
    """L_t(w) - L_t^iso = E[G_t(w.x0)] - E[G_t(Z)] as a function of the overlaps.

    The landscape of the chapter "The diffusion information exponent" (x0 units, per sample; the d-dependent
    constant cancels), vectorised (broadcast) over the overlap arrays. ``L_t^iso`` is the
    loss on isotropic Gaussian data N(0, I), which does not depend on w.

    Parameters
    ----------
    model : MCMLike
        The mixed cumulant model (its strengths, latent law and coupling).
    neuron : NeuronSpec
        The neuron: activation sigma, noise level a, skip c and amplitude A.
    alpha_u, alpha_v, alpha_m : array_like
        Overlaps of the unit weight vector with the spikes (broadcast together; their squares
        must sum to at most 1).

    Returns
    -------
    numpy.ndarray
        The excess loss, x0 units per sample, with the broadcast shape of the overlaps.
    """
    check_neuron(neuron)
    au, av, am = check_overlaps(alpha_u, alpha_v, alpha_m)
    flat = [x.reshape(-1) for x in (au, av, am)]
    total = np.empty(flat[0].shape)
    for lo in range(0, total.size, CHUNK):  # chunks keep memory O(CHUNK x nodes) for any grid
        part = slice(lo, lo + CHUNK)
        mu, r, weight = projection_mixture(model, *(x[part] for x in flat))
        acc = np.zeros(mu.shape[:-1])
        for j in range(mu.shape[-1]):  # one mixture component at a time
            acc += weight[j] * smoothed_G(neuron, mu[..., j], r[..., j])
        total[part] = acc
    return total.reshape(au.shape) - smoothed_G(neuron, np.zeros(()), np.ones(()))


def population_loss(
    model: MCMLike,
    w: torch.Tensor | ArrayLike,
    neuron: NeuronSpec,
) -> float:
    """The exact L_t(w) = E||x0 - D_w(x_t)||^2 of a unit vector w (x0 units, summed over dims).

    L_t(w) = (1 - c a)^2 E||x0||^2 + c^2 s^2 d + E[G_t(w.x0)] with
    E||x0||^2 = d + beta_u + beta_m^2.
    """
    w = torch.as_tensor(w, dtype=torch.float64).cpu()
    if w.shape != (model.d,):
        raise ValueError(f"w must have shape ({model.d},), got {tuple(w.shape)}")
    if abs(float(w.norm()) - 1.0) > 1e-6:
        raise ValueError(f"w must be a unit vector (||w|| = 1), got ||w|| = {float(w.norm()):.6g}")
    check_neuron(neuron)

    def overlap(e: torch.Tensor | None) -> float:
        return 0.0 if e is None else float(w @ e.double().cpu())

    excess = excess_loss(model, neuron, overlap(model.u), overlap(model.v), overlap(model.m))
    a, s, c = neuron.a, neuron.s, neuron.c
    gauss = smoothed_G(neuron, np.zeros(()), np.ones(()))
    base = (1.0 - c * a) ** 2 * (model.d + model.beta_u + model.beta_m**2) + c * c * s * s * model.d
    return float(base + gauss + excess)


def hermite_moments(
    model: MCMLike, kmax: int, alpha_u: ArrayLike, alpha_v: ArrayLike, alpha_m: ArrayLike = 0.0
) -> np.ndarray:
    """E[He_k(w.x0)] for k = 0..kmax (last axis), exactly.

    For p ~ N(mu, r^2), E He_k(p) = sum_j k! / (j! (k - 2j)!) mu^{k-2j} ((r^2 - 1)/2)^j
    (the coefficient of t^k / k! in exp(t mu + t^2 (r^2 - 1)/2)), summed over the mixture.
    """
    kmax = check_kmax(kmax)
    mu, r, weight = projection_mixture(model, alpha_u, alpha_v, alpha_m)
    half = 0.5 * (r * r - 1.0)
    out = []
    for k in range(kmax + 1):
        term = sum(
            math.factorial(k) / (math.factorial(j) * math.factorial(k - 2 * j)) * mu ** (k - 2 * j) * half**j
            for j in range(k // 2 + 1)
        )
        out.append(np.sum(weight * term, -1))
    return np.stack(out, -1)

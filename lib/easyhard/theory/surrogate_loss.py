"""Exact population loss of p tied neurons on the MCM and its surrogate, and the Wiener floor.

The losses are those on the mixed cumulant model and on its Gaussian surrogate, all
in x0 units summed over dimensions.

The denoiser is ``D_W(x_t) = c x_t + A sum_j w_j sigma(w_j . x_t)`` with unit rows
``w_j`` (:class:`~easyhard.denoisers.neuron.NeuronDenoiser`). With
``p_j = w_j . x0``, ``zeta_j = w_j . xi``, ``h_j = a p_j + s zeta_j`` and the Gram
matrix ``Q = W W^T``,

    L(W) = E||x0 - c x_t||^2 + sum_j E[G_t(p_j)]
           + 2 A^2 sum_{j<k} Q_jk E[sigma(h_j) sigma(h_k)],

where ``G_t`` is the single-neuron function of :mod:`easyhard.theory.hermite`
(so ``p = 1`` is :func:`easyhard.theory.landscape.population_loss`), and
``E||x0 - c x_t||^2 = (1 - c a)^2 (d + beta_u) + c^2 s^2 d`` is the same for the
model and for its surrogate. Everything depends on W only through the overlaps
``alpha_u = W u``, ``alpha_v = W v`` and Q.

On the model, ``p = sqrt(beta_u) lam alpha_u + b nu alpha_v + g`` with
``b = sqrt(beta_v / (1 + beta_v))`` and ``g ~ N(0, Q - b^2 alpha_v alpha_v^T)``
independent of the latents (``W S^2 W^T``, S the whitening of v). Given the latents,
``(h_j, h_k)`` is bivariate normal, so the pair term is a finite mixture (over the
atoms of nu, and over quadrature nodes of lam for the coupled part of weight
``p_corr``) of two-dimensional Gaussian integrals. On the surrogate
``N(0, C)``, ``C = I + beta_u u u^T + rho (u v^T + v u^T)``, every ``h`` is
Gaussian with ``Cov(p) = W C W^T``.

The Wiener floor is the error of the best affine denoiser for a law with
covariance C, ``sum_i s^2 lambda_i / (a^2 lambda_i + s^2)`` over the eigenvalues
of C: ``d - 2`` ones and those of ``[[1 + beta_u, rho], [rho, 1]]``. No denoiser
reaches below it on the surrogate; on the model a denoiser that uses higher-order
statistics can. Quadratures only (no Monte Carlo); :func:`monte_carlo_loss`
is the sampled check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import ArrayLike

from easyhard.activations import Activation
from easyhard.config import check_seed, torch_generator
from easyhard.diffusion import vp_coefficients
from easyhard.neuron import NeuronSpec, check_neuron
from easyhard.theory.hermite import smoothed_G
from easyhard.theory.landscape import MCMLike, coupled_nodes, excess_loss
from easyhard.theory.quadrature import normal_rule

DATA: tuple[str, ...] = ("mcm", "surrogate")
#: Gauss-Legendre nodes per half-line of each coordinate of the 2-d rule
PAIR_NODES = 24


def wiener_floor(model: MCMLike, a: float) -> float:
    """Error of the Wiener (best affine) denoiser, x0 units summed over the d dimensions.

    ``sum_i s^2 lambda_i / (a^2 lambda_i + s^2)`` over the eigenvalues of the model's
    covariance, equal to :meth:`easyhard.data.surrogate.GaussianSurrogate.mmse`.
    """
    a, s = vp_coefficients(a)
    rho = float(getattr(model, "rho", 0.0))
    block = np.linalg.eigvalsh(np.array([[1.0 + model.beta_u, rho], [rho, 1.0]]))
    lam = np.concatenate([block, np.ones(model.d - 2)])
    return float(np.sum(s * s * lam / (a * a * lam + s * s)))


def overlaps(model: MCMLike, W: ArrayLike | torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(alpha_u, alpha_v, gram)`` of weights ``W`` of shape (..., p, d).

    Rows are normalised first (the denoiser's rows live on the sphere).
    """
    W = np.asarray(torch.as_tensor(W, dtype=torch.float64).cpu())
    if W.ndim < 2 or W.shape[-1] != model.d:
        raise ValueError(f"W must have shape (..., p, {model.d}), got {W.shape}")
    norms = np.linalg.norm(W, axis=-1, keepdims=True)
    if not np.all(np.isfinite(W)) or np.any(norms == 0):
        raise ValueError("W must be finite with non-zero rows")
    W = W / norms
    u = np.asarray(model.u.double().cpu())
    v = np.asarray(model.v.double().cpu())
    return W @ u, W @ v, W @ np.swapaxes(W, -1, -2)


def _check_state(alpha_u: ArrayLike, alpha_v: ArrayLike, gram: ArrayLike) -> tuple[np.ndarray, ...]:
    au, av, q = (np.asarray(x, float) for x in (alpha_u, alpha_v, gram))
    if au.ndim < 1 or au.shape != av.shape:
        raise ValueError(f"alpha_u and alpha_v must have the same shape (..., p), got {au.shape}, {av.shape}")
    p = au.shape[-1]
    if q.shape != au.shape + (p,):
        raise ValueError(f"gram must have shape {au.shape + (p,)}, got {q.shape}")
    if not (np.all(np.isfinite(au)) and np.all(np.isfinite(av)) and np.all(np.isfinite(q))):
        raise ValueError("alpha_u, alpha_v and gram must be finite")
    norm2 = au * au + av * av
    if np.any(norm2 > 1.0 + 1e-6):
        raise ValueError(f"alpha_u^2 + alpha_v^2 must be <= 1 (unit rows), got {np.max(norm2):.6g}")
    shrink = np.where(norm2 > 1.0, 1.0 / np.sqrt(np.maximum(norm2, 1.0)), 1.0)  # rounding of float32 spikes
    au, av = au * shrink, av * shrink
    if np.any(np.abs(np.diagonal(q, axis1=-2, axis2=-1) - 1.0) > 1e-6):
        raise ValueError("gram must have a unit diagonal (rows on the sphere)")
    if np.any(np.abs(q - np.swapaxes(q, -1, -2)) > 1e-9):
        raise ValueError("gram must be symmetric")
    return au, av, q


def _pair_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product nodes (M, 2) and weights (M,) for E f(Y1, Y2), Y ~ N(0, I_2)."""
    y, w = normal_rule((0.0,), n)
    y1, y2 = np.meshgrid(y, y, indexing="ij")
    return np.stack([y1.ravel(), y2.ravel()], -1), np.outer(w, w).ravel()


def _e_sigma_pair(act: Activation, mean: np.ndarray, cov: np.ndarray, n: int) -> np.ndarray:
    """E[sigma(h1) sigma(h2)] for h ~ N(mean, cov); mean (..., 2), cov (..., 2, 2)."""
    y, w = _pair_rule(n)
    l11 = np.sqrt(np.clip(cov[..., 0, 0], 0.0, None))
    l21 = np.where(l11 > 0, cov[..., 0, 1] / np.where(l11 > 0, l11, 1.0), 0.0)
    l22 = np.sqrt(np.clip(cov[..., 1, 1] - l21 * l21, 0.0, None))
    h1 = mean[..., 0, None] + l11[..., None] * y[:, 0]
    h2 = mean[..., 1, None] + l21[..., None] * y[:, 0] + l22[..., None] * y[:, 1]
    return np.sum(w * act.numpy(h1) * act.numpy(h2), -1)


def _pair_terms(
    model: MCMLike, data: str, neuron: NeuronSpec,
    au: np.ndarray, av: np.ndarray, q: np.ndarray, j: int, k: int, n: int,
) -> np.ndarray:
    """E[sigma(h_j) sigma(h_k)] over the leading shape of the overlaps."""
    act, a, s = neuron.activation, neuron.a, neuron.s
    idx = [j, k]
    uu = au[..., idx]  # (..., 2)
    vv = av[..., idx]
    qq = q[..., idx, :][..., :, idx]  # (..., 2, 2)
    outer_u = uu[..., :, None] * uu[..., None, :]
    outer_v = vv[..., :, None] * vv[..., None, :]
    if data == "surrogate":
        rho = float(getattr(model, "rho", 0.0))
        cov_p = qq + model.beta_u * outer_u + rho * (uu[..., :, None] * vv[..., None, :] + vv[..., :, None] * uu[..., None, :])
        return _e_sigma_pair(act, np.zeros(uu.shape), a * a * cov_p + s * s * qq, n)
    b2 = model.beta_v / (1.0 + model.beta_v)
    b = math.sqrt(b2)
    cu = math.sqrt(model.beta_u)
    law = model.law
    total = np.zeros(uu.shape[:-1])
    if model.p_corr < 1.0:  # nu independent of lam: lam joins the Gaussian part
        cov_p = qq - b2 * outer_v + model.beta_u * outer_u
        cov_h = a * a * cov_p + s * s * qq
        if law.is_gaussian:
            total += (1.0 - model.p_corr) * _e_sigma_pair(act, np.zeros(uu.shape), cov_h + a * a * b2 * outer_v, n)
        else:
            for nu, prob in zip(law.atoms, law.probs, strict=True):
                total += (1.0 - model.p_corr) * prob * _e_sigma_pair(act, a * b * nu * vv, cov_h, n)
    if model.p_corr > 0.0:  # nu = Q(Phi(lam)): quadrature over lam
        cov_h = a * a * (qq - b2 * outer_v) + s * s * qq
        lam, nus, wts = coupled_nodes(law)
        for lam_i, nu_i, w_i in zip(lam, nus, wts, strict=True):
            mean = a * (cu * lam_i * uu + b * nu_i * vv)
            total += model.p_corr * w_i * _e_sigma_pair(act, mean, cov_h, n)
    return total


def tied_loss(
    model: MCMLike,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    gram: ArrayLike,
    neuron: NeuronSpec,
    data: str = "mcm",
    pair_nodes: int = PAIR_NODES,
) -> np.ndarray:
    """Exact population loss ``E||x0 - D_W(x_t)||^2`` of p tied neurons (module docstring).

    Parameters
    ----------
    model: the mixed cumulant model (no mean spike).
    alpha_u, alpha_v: overlaps ``W u``, ``W v``, shape (..., p).
    gram: ``W W^T``, shape (..., p, p), unit diagonal.
    neuron: the denoiser's activation, noise level a, skip c and amplitude A.
    data: ``"mcm"`` (the model) or ``"surrogate"`` (its Gaussian surrogate N(0, C)).
    pair_nodes: Gauss-Legendre nodes per half-line of the two-dimensional rule.

    Returns
    -------
    The loss in x0 units, summed over the d dimensions, per sample; shape (...).
    """
    if data not in DATA:
        raise ValueError(f"data must be one of {DATA}, got {data!r}")
    if float(getattr(model, "beta_m", 0.0)) != 0.0:
        raise ValueError(f"tied_loss needs a model without mean spike (beta_m = 0), got {model.beta_m!r}")
    if isinstance(pair_nodes, bool) or not isinstance(pair_nodes, (int, np.integer)) or pair_nodes < 4:
        raise ValueError(f"pair_nodes must be an integer >= 4, got {pair_nodes!r}")
    check_neuron(neuron)
    a, s, c, A = neuron.a, neuron.s, neuron.c, neuron.A
    au, av, q = _check_state(alpha_u, alpha_v, gram)
    p = au.shape[-1]
    base = (1.0 - c * a) ** 2 * (model.d + model.beta_u) + c * c * s * s * model.d
    total = np.full(au.shape[:-1], base)
    gauss = smoothed_G(neuron, np.zeros(()), np.ones(()))
    rho = float(getattr(model, "rho", 0.0))
    for j in range(p):
        if data == "mcm":
            total += gauss + excess_loss(model, neuron, au[..., j], av[..., j], 0.0)
        else:
            var = 1.0 + model.beta_u * au[..., j] ** 2 + 2.0 * rho * au[..., j] * av[..., j]
            total += smoothed_G(neuron, np.zeros(var.shape), np.sqrt(var))
    for j in range(p):
        for k in range(j + 1, p):
            pair = _pair_terms(model, data, neuron, au, av, q, j, k, int(pair_nodes))
            total += 2.0 * A * A * q[..., j, k] * pair
    return total


@dataclass(frozen=True)
class LossCurves:
    """Exact population losses along a run (x0 units, summed over dimensions).

    ``mcm``, ``surrogate``: shape (...) of the overlaps' leading shape (e.g.
    (walkers, records)); ``floor``: the Wiener floor (a number).
    """

    mcm: np.ndarray
    surrogate: np.ndarray
    floor: float

    @property
    def gain(self) -> np.ndarray:
        """``mcm - surrogate``: negative once the denoiser uses higher-order statistics."""
        return self.mcm - self.surrogate


def loss_curves(
    model: MCMLike,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    gram: ArrayLike,
    neuron: NeuronSpec,
) -> LossCurves:
    """:func:`tied_loss` on the model and on its surrogate, and the Wiener floor."""
    return LossCurves(
        mcm=tied_loss(model, alpha_u, alpha_v, gram, neuron, data="mcm"),
        surrogate=tied_loss(model, alpha_u, alpha_v, gram, neuron, data="surrogate"),
        floor=wiener_floor(model, neuron.a),
    )


def monte_carlo_loss(
    model,
    W: ArrayLike | torch.Tensor,
    neuron: NeuronSpec,
    data: str = "mcm",
    n: int = 200_000,
    seed: int = 0,
    batch: int = 50_000,
) -> tuple[float, float]:
    """Sampled ``E||x0 - D_W(x_t)||^2`` and its standard error, the check of :func:`tied_loss`.

    ``W`` (p, d); samples from the model (``data="mcm"``) or from N(0, C)
    (``"surrogate"``), fresh noise, float64, in batches of ``batch``.
    """
    from easyhard.data.surrogate import GaussianSurrogate

    if data not in DATA:
        raise ValueError(f"data must be one of {DATA}, got {data!r}")
    for name, value in (("n", n), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    check_neuron(neuron)
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    W = torch.as_tensor(np.asarray(torch.as_tensor(W, dtype=torch.float64).cpu()))
    if W.ndim != 2 or W.shape[1] != model.d:
        raise ValueError(f"W must have shape (p, {model.d}), got {tuple(W.shape)}")
    W = W / W.norm(dim=1, keepdim=True)
    gen = torch_generator(check_seed(seed))
    surrogate = GaussianSurrogate(model.mean().double(), model.covariance()) if data == "surrogate" else None
    total = total2 = 0.0
    done = 0
    while done < n:
        m = min(batch, n - done)
        if surrogate is not None:
            x0 = surrogate.sample(m, generator=gen, dtype=torch.float64)
        else:
            x0 = model.sample(m, generator=gen).double()
        x_t = a * x0 + s * torch.randn(x0.shape, generator=gen, dtype=torch.float64)
        out = c * x_t + A * act.torch(x_t @ W.T) @ W
        err = (x0 - out).pow(2).sum(-1)
        total += float(err.sum())
        total2 += float(err.pow(2).sum())
        done += m
    mean = total / n
    var = max(total2 / n - mean * mean, 0.0)
    return mean, math.sqrt(var / (n - 1))


def split_pair(theta: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Overlaps ``(alpha_u, alpha_v, gram)`` of a symmetric pair of neurons split from u.

    The pair is ``w_{1,2} = cos(theta) u +- sin(theta) f``, ``f = y v + sqrt(1 - y^2) e``
    (e orthogonal to u and v): both neurons on u, split by the angle theta along a
    direction f whose overlap with v is y. Broadcast over theta and y; shapes (..., 2)
    and (..., 2, 2).
    """
    theta, y = np.broadcast_arrays(np.asarray(theta, float), np.asarray(y, float))
    if np.any(np.abs(y) > 1):
        raise ValueError(f"y (overlap of the split direction with v) must lie in [-1, 1], got {y!r}")
    c, s = np.cos(theta), np.sin(theta)
    au = np.stack([c, c], -1)
    av = np.stack([s * y, -s * y], -1)
    q12 = c * c - s * s
    gram = np.stack([np.stack([np.ones_like(q12), q12], -1), np.stack([q12, np.ones_like(q12)], -1)], -2)
    return au, av, gram


@dataclass(frozen=True)
class SplitTheory:
    """The population picture of two tied neurons (see :func:`split_theory`).

    ``theta_plateau``, ``loss_plateau``: the best symmetric split with ``f`` orthogonal to v
    (what pair-wise statistics allow; MCM loss = surrogate loss there); ``theta_v``,
    ``loss_v``: the best split along ``f = v`` (the second stage); ``quartic``: K in
    ``L(theta_plateau, y) - L(theta_plateau, 0) ~ -K y^4`` (the drift that rotates f to v);
    ``floor``: the Wiener floor. Losses in x0 units, summed over dimensions.
    """

    theta_plateau: float
    loss_plateau: float
    theta_v: float
    loss_v: float
    quartic: float
    floor: float

    @property
    def alpha_u_plateau(self) -> float:
        """Overlap of each neuron with u on the plateau, ``cos(theta_plateau)``."""
        return float(np.cos(self.theta_plateau))

    @property
    def alpha_v_final(self) -> float:
        """Overlap of each neuron with v (up to sign) after the split along v, ``sin(theta_v)``."""
        return float(np.sin(self.theta_v))


def split_theory(model: MCMLike, neuron: NeuronSpec) -> SplitTheory:
    """Minimise the exact two-neuron loss over symmetric splits, without and with v.

    One-dimensional bounded minimisations over theta in [0, pi/2] (scipy); the quartic
    coefficient from the loss at ``y = 0.1`` (exact, not a fit).
    """
    from scipy.optimize import minimize_scalar

    def loss(theta: float, y: float) -> float:
        au, av, q = split_pair(theta, y)
        return float(tied_loss(model, au, av, q, neuron))

    opts = {"bounds": (0.0, 0.5 * math.pi), "method": "bounded", "options": {"xatol": 1e-7}}
    plateau = minimize_scalar(lambda t: loss(t, 0.0), **opts)
    along_v = minimize_scalar(lambda t: loss(t, 1.0), **opts)
    y = 0.1
    quartic = -(loss(plateau.x, y) - plateau.fun) / y**4
    return SplitTheory(float(plateau.x), float(plateau.fun), float(along_v.x), float(along_v.fun),
                       float(quartic), wiener_floor(model, neuron.a))

r"""Drift and diffusion coefficients of the overlap chain of online SGD, by quadrature.

One step of projected online SGD of the tied neuron (``||w|| = 1``, per-step
factor ``lr``) is ``w' = (w - lr G) / sqrt(1 + lr^2 ||G||^2)`` with the
spherical per-sample gradient ``G = K0 P x0 + Kxi P xi``, ``P = I - w w^T``,
where the scalars

    K0  = a g1 + (1 - c a) g2,   Kxi = s g1 - c s g2,
    g1  = -2 A sigma'(h) (p - c h - A sigma(h)),   g2 = -2 A sigma(h),

depend on the fresh sample only through ``p = w.x0`` and ``zeta = w.xi``,
``h = a p + s zeta``. For e in {u, v}, ``G_e = e.G = K0 (x_e - p alpha_e) + Kxi (xi_e - zeta alpha_e)``.
This module computes, as functions of the overlaps ``(alpha_u, alpha_v)`` only
(rotation invariance about span(u, v)), the expectations the effective
dynamics needs: ``E[G_e]``, ``Cov(G_e, G_f)`` and ``E||G||^2 = d C0 + C1``.

The conditional law. Given the latents (lam, nu), write ``b = sqrt(beta_v/(1+beta_v))``,
``omega = 1 - b^2``, ``M = sqrt(beta_u) lam u + b nu v`` and ``Sigma = I - b^2 v v^T``
(the conditional covariance of x0). Then ``p ~ N(mu, r^2)`` with
``mu = sqrt(beta_u) lam alpha_u + b nu alpha_v``, ``r^2 = 1 - b^2 alpha_v^2``, and
``zeta ~ N(0, 1)`` independent. Gaussian regression on p, with ``t = (p - mu) / r^2``
and ``Sigma w = w - b^2 alpha_v v``:

    E[x_u | p] = sqrt(beta_u) lam + alpha_u t,        E[x_v | p] = b nu + omega alpha_v t,
    Cov(x_e, x_f | p) = Sigma_ef - (Sigma w)_e (Sigma w)_f / r^2,
    E[||x0||^2 | p] = ||M + t Sigma w||^2 + (d - b^2) - ||Sigma w||^2 / r^2.

``xi_e - alpha_e zeta`` and ``P xi`` are independent of ``(zeta, x0)`` with mean
zero, so the cross terms in K0 Kxi vanish, and

    E[G_e]        = E[K0 (E[x_e|p] - p alpha_e)],
    E[G_e G_f]    = E[K0^2 (Cov(x_e, x_f|p) + (E[x_e|p] - p alpha_e)(E[x_f|p] - p alpha_f))]
                    + E[Kxi^2] (delta_ef - alpha_e alpha_f),
    E||G||^2      = E[K0^2 (E[||x0||^2|p] - p^2)] + (d - 1) E[Kxi^2]
                  = d (E[K0^2] + E[Kxi^2]) + C1,
    C1            = E[K0^2 (||M + t Sigma w||^2 - b^2 - ||Sigma w||^2 / r^2 - p^2)] - E[Kxi^2].

The remaining expectation is over (lam, nu) and two standard normals (p's
residual and zeta): Gauss-Hermite in both normals, and over the latents a finite
sum over the atoms of nu, Gauss-Hermite in lam when it is independent of nu,
and Gauss-Legendre panels split at the quantile thresholds when nu = Q(Phi(lam))
(weight p_corr). No Monte Carlo. The mean ``E[G]`` is the spherical gradient of
the exact population loss (:func:`easyhard.theory.excess_loss`); the tests
check that. The activations must be smooth (tanh, erf, linear): Gauss-Hermite
does not converge fast for the kink of ReLU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import TANH_06, NeuronSpec, check_neuron
from easyhard.theory.quadrature import normal_rule

#: smooth activations and their slopes sigma'(h)
SLOPES = {
    "tanh": lambda h: 1.0 - np.tanh(h) ** 2,
    "erf": lambda h: math.sqrt(2.0 / math.pi) * np.exp(-0.5 * h * h),
    "linear": lambda h: np.ones_like(h),
}
#: names of the fields of :class:`ChainCoefficients`
FIELDS: tuple[str, ...] = ("mean_u", "mean_v", "cov_uu", "cov_uv", "cov_vv", "c0", "c1", "loss")


@dataclass(frozen=True)
class ChainCoefficients:
    """Per-sample expectations at given overlaps (arrays of their broadcast shape).

    ``mean_e = E[G_e]``; ``cov_ef = Cov(G_e, G_f)``; ``E||G||^2 = d c0 + c1``;
    ``loss = E[A^2 sigma^2 - 2 A sigma (p - c h)]`` (the w-dependent per-sample loss).
    """

    mean_u: np.ndarray
    mean_v: np.ndarray
    cov_uu: np.ndarray
    cov_uv: np.ndarray
    cov_vv: np.ndarray
    c0: np.ndarray
    c1: np.ndarray
    loss: np.ndarray


def latent_nodes(model: MixedCumulantModel, nodes: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lam, nu, weight)``: a quadrature of the joint law of the latents.

    Independent part (weight 1 - p_corr): Gauss-Hermite in lam (a single node when
    beta_u = 0) times the atoms of nu (Gauss-Hermite for a Gaussian latent, a single
    node when beta_v = 0). Coupled part (weight p_corr): nu = Q(Phi(lam)), Gauss-Legendre
    panels in lam split at the quantile thresholds (:func:`~easyhard.theory.quadrature.normal_rule`).
    """
    law = model.law
    gh_x, gh_w = np.polynomial.hermite_e.hermegauss(nodes)
    gh_w = gh_w / gh_w.sum()
    lams, nus, ws = [], [], []
    if model.p_corr < 1.0:
        lam, wl = (gh_x, gh_w) if model.beta_u > 0 else (np.zeros(1), np.ones(1))
        if model.beta_v == 0:
            nu, wn = np.zeros(1), np.ones(1)
        elif law.is_gaussian:
            nu, wn = gh_x, gh_w
        else:
            nu, wn = np.asarray(law.atoms, float), np.asarray(law.probs, float)
        L, N = np.meshgrid(lam, nu, indexing="ij")
        lams.append(L.ravel())
        nus.append(N.ravel())
        ws.append((1.0 - model.p_corr) * np.outer(wl, wn).ravel())
    if model.p_corr > 0.0:
        if law.is_gaussian:
            lam, w = normal_rule((0.0,), n=nodes)
            nu = lam
        else:
            lam, w = normal_rule(law.thresholds(), n=nodes)
            nu = np.asarray(law.atoms, float)[np.searchsorted(law.thresholds(), lam)]
        lams.append(lam)
        nus.append(nu)
        ws.append(model.p_corr * w)
    return np.concatenate(lams), np.concatenate(nus), np.concatenate(ws)


def chain_coefficients(
    model: MixedCumulantModel,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    neuron: NeuronSpec = TANH_06,
    nodes: int = 48,
    latent: int = 32,
) -> ChainCoefficients:
    """The expectations of the module docstring at the overlaps ``(alpha_u, alpha_v)``.

    The overlaps broadcast together; points outside the unit disk give the analytic
    continuation (used by the Chebyshev tables of :mod:`easyhard.sgd.effective`).
    ``nodes``: Gauss-Hermite nodes per normal variable (48 keeps the cubic drift of the
    quartic spike within 1e-4 of 4 g_4 kt_4 alpha^3 down to alpha = 1e-3; 32 does not);
    ``latent``: nodes per latent normal or panel (:func:`latent_nodes`).
    """
    check_neuron(neuron)
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    if act.name not in SLOPES:
        raise ValueError(f"activation must be one of {tuple(SLOPES)} (smooth), got {act.name!r}")
    if model.beta_m != 0.0:
        raise ValueError(f"the chain coefficients need model.beta_m == 0, got {model.beta_m}")
    slope = SLOPES[act.name]
    au, av = np.broadcast_arrays(np.asarray(alpha_u, float), np.asarray(alpha_v, float))
    shape = au.shape
    au, av = au.ravel()[:, None, None], av.ravel()[:, None, None]
    b = model.nu_scale
    omega = 1.0 - b * b
    cu = math.sqrt(model.beta_u)
    r2 = 1.0 - b * b * av * av
    r = np.sqrt(r2)
    sw_u, sw_v = au, omega * av  # Sigma w on u, v
    sw2 = 1.0 - b * b * av * av * (2.0 - b * b)  # ||Sigma w||^2
    y, wy = np.polynomial.hermite_e.hermegauss(nodes)
    wy = wy / wy.sum()
    Y, Z = y[None, :, None], y[None, None, :]
    W2 = (wy[:, None] * wy[None, :])[None]
    acc = {k: np.zeros(au.shape[0]) for k in ("m_u", "m_v", "k0k0", "kxkx", "uu", "uv", "vv", "q", "loss")}
    for lam, nu, wl in zip(*latent_nodes(model, latent), strict=True):
        mu = cu * lam * au + b * nu * av
        p = mu + r * Y
        t = Y / r
        h = a * p + s * Z
        sig = act.numpy(h)
        dsig = slope(h)
        g1 = -2.0 * A * dsig * (p - c * h - A * sig)
        g2 = -2.0 * A * sig
        k0 = a * g1 + (1.0 - c * a) * g2
        kx = s * g1 - c * s * g2
        k02 = k0 * k0
        xu = cu * lam + au * t - p * au  # E[x_u | p] - p alpha_u
        xv = b * nu + omega * av * t - p * av
        mm = (cu * lam + t * sw_u) ** 2 + (b * nu + t * sw_v) ** 2 + t * t * (sw2 - sw_u**2 - sw_v**2)
        wt = wl * W2

        def E(f: np.ndarray, wt: np.ndarray = wt) -> np.ndarray:
            return np.sum(wt * f, axis=(1, 2))

        acc["m_u"] += E(k0 * xu)
        acc["m_v"] += E(k0 * xv)
        acc["k0k0"] += E(k02)
        acc["kxkx"] += E(kx * kx)
        acc["uu"] += E(k02 * (1.0 - sw_u * sw_u / r2 + xu * xu))
        acc["uv"] += E(k02 * (-sw_u * sw_v / r2 + xu * xv))
        acc["vv"] += E(k02 * (omega - sw_v * sw_v / r2 + xv * xv))
        acc["q"] += E(k02 * (mm - b * b - sw2 / r2 - p * p))
        acc["loss"] += E(A * A * sig * sig - 2.0 * A * sig * (p - c * h))
    au, av = au[:, 0, 0], av[:, 0, 0]
    kx2 = acc["kxkx"]
    out = {
        "mean_u": acc["m_u"], "mean_v": acc["m_v"],
        "cov_uu": acc["uu"] + kx2 * (1.0 - au * au) - acc["m_u"] ** 2,
        "cov_uv": acc["uv"] - kx2 * au * av - acc["m_u"] * acc["m_v"],
        "cov_vv": acc["vv"] + kx2 * (1.0 - av * av) - acc["m_v"] ** 2,
        "c0": acc["k0k0"] + kx2, "c1": acc["q"] - kx2, "loss": acc["loss"],
    }
    return ChainCoefficients(**{k: out[k].reshape(shape) for k in FIELDS})


def chebyshev_points(degree: int) -> np.ndarray:
    """The ``degree`` Chebyshev points of the first kind on [-1, 1], cos(pi (j + 1/2) / degree)."""
    return np.cos(np.pi * (np.arange(degree) + 0.5) / degree)


@lru_cache(maxsize=16)
def _tables(model_key: tuple, neuron: NeuronSpec, degree: int, nodes: int) -> np.ndarray:
    d, beta_u, beta_v, latent, p_corr, skew_p = model_key
    model = MixedCumulantModel(max(d, 3), beta_u=beta_u, beta_v=beta_v, latent=latent, p_corr=p_corr,
                               skew_p=skew_p, seed=0)
    x = chebyshev_points(degree)
    U, V = np.meshgrid(x, x, indexing="ij")
    co = chain_coefficients(model, U, V, neuron, nodes)
    T = np.cos(np.outer(np.arccos(x), np.arange(degree)))  # T[j, k] = T_k(x_j)
    scale = np.full(degree, 2.0 / degree)
    scale[0] = 1.0 / degree
    proj = T * scale  # coefficient k of f: sum_j f(x_j) proj[j, k]
    tabs = np.stack([proj.T @ getattr(co, k) @ proj for k in FIELDS])
    tabs.flags.writeable = False
    return tabs


def chebyshev_tables(
    model: MixedCumulantModel, neuron: NeuronSpec = TANH_06, degree: int = 40, nodes: int = 48,
    rtol: float = 1e-11,
) -> np.ndarray:
    """Tensor Chebyshev coefficients on [-1, 1]^2 of every field of :class:`ChainCoefficients`.

    Shape ``(len(FIELDS), n, n)``: ``f(alpha_u, alpha_v) ~ sum_jk T[j, k]
    T_j(alpha_u) T_k(alpha_v)``. The interpolant at ``degree`` Chebyshev points is
    truncated to the smallest ``n`` whose dropped coefficients are all below
    ``rtol`` times the field's largest one. The fields are entire functions of the
    overlaps for smooth activations, so the coefficients fall geometrically
    (n ~ 20 for the quartic spike with tanh; the quadrature's own error, ~1e-8 of
    the field with a covariance spike, keeps n = degree there). Cached per model
    statistics (d does not enter).
    """
    key = (0, model.beta_u, model.beta_v, model.latent, model.p_corr, model.skew_p)
    full = _tables(key, check_neuron(neuron), int(degree), int(nodes))
    big = np.abs(full) > rtol * np.max(np.abs(full), axis=(1, 2), keepdims=True)
    j, k = np.nonzero(np.any(big, axis=0))
    n = max(4, int(max(j.max(), k.max())) + 1)
    return np.ascontiguousarray(full[:, :n, :n])


def chebyshev_eval(tables: np.ndarray, alpha_u: ArrayLike, alpha_v: ArrayLike) -> np.ndarray:
    """Evaluate :func:`chebyshev_tables` at points; shape ``(len(FIELDS),) + broadcast shape``."""
    au, av = np.broadcast_arrays(np.asarray(alpha_u, float), np.asarray(alpha_v, float))
    n = tables.shape[1]
    Tu = np.polynomial.chebyshev.chebvander(au.ravel(), n - 1)
    Tv = np.polynomial.chebyshev.chebvander(av.ravel(), n - 1)
    out = np.einsum("pj,fjk,pk->fp", Tu, tables, Tv)
    return out.reshape((tables.shape[0],) + au.shape)

r"""The exact reduced engine: online SGD of one neuron with O(1) random numbers per step.

Derivation (science.md 5, "Exact reduction"; every step, nothing approximated).

1. *The state.* Write the unit weight as ``w = m_u u + m_v v + r e`` with ``e``
   a unit vector orthogonal to u and v and ``r = sqrt(1 - m_u^2 - m_v^2) >= 0``.
   Let ``C`` be the orthogonal complement of ``span(u, v, e)`` (dimension d - 3).

2. *The fresh sample in that frame.* Split ``z = z_u u + z_v v + z_e e + z_C``
   and ``xi = xi_u u + xi_v v + xi_e e + xi_C``. Because z and xi are standard
   Gaussian vectors independent of the past (and ``e`` is a function of the
   past), the six coordinates are i.i.d. N(0, 1) and ``z_C, xi_C`` are
   independent standard Gaussian vectors in C. The MCM sample
   ``x0 = sqrt(beta_u) lam u + S (sqrt(beta_v) nu v + z)`` has coordinates

       x_u = sqrt(beta_u) lam + z_u,  x_v = (sqrt(beta_v) nu + z_v) / sqrt(1 + beta_v),
       x_e = z_e,                      x0_C = z_C,

   since ``S`` only rescales the v coordinate by ``1/sqrt(1 + beta_v)``.

3. *What the gradient needs.* ``p = w.x0 = m_u x_u + m_v x_v + r x_e`` and
   ``zeta = w.xi = m_u xi_u + m_v xi_v + r xi_e`` use only the coordinates
   above; so do the scalars ``K0(p, zeta), Kxi(p, zeta)`` of the spherical
   gradient ``G = K0 x0 + Kxi xi - (K0 p + Kxi zeta) w`` (:mod:`easyhard.sgd._common`).

4. *The unnormalised update* ``w~ = w - lr G = gamma w - lr (K0 x0 + Kxi xi)``,
   ``gamma = 1 + lr (K0 p + Kxi zeta)``, has coordinates

       w~_u = gamma m_u - lr (K0 x_u + Kxi xi_u),   w~_v = gamma m_v - lr (K0 x_v + Kxi xi_v),
       w~_e = gamma r - lr (K0 z_e + Kxi xi_e),     w~_C = -lr (K0 z_C + Kxi xi_C).

5. *The complement enters only through a 2 x 2 Gram matrix.*
   ``||w~_C||^2 = lr^2 (K0^2 |z_C|^2 + 2 K0 Kxi z_C.xi_C + Kxi^2 |xi_C|^2)``,
   and the Gram matrix of ``(z_C, xi_C)`` is Wishart_2(I, d - 3). By the
   Bartlett decomposition it equals ``L L^T`` with ``L = [[c1, 0], [n, c2]]``,
   ``c1^2 ~ chi2(d-3)``, ``c2^2 ~ chi2(d-4)``, ``n ~ N(0, 1)`` independent, so

       ||w~_C||^2 = lr^2 ((K0 c1 + Kxi n)^2 + (Kxi c2)^2)     exactly in law.

6. *Normalise.* ``N^2 = w~_u^2 + w~_v^2 + w~_e^2 + ||w~_C||^2``;
   ``m_u' = w~_u / N``, ``m_v' = w~_v / N``, ``r' = sqrt(w~_e^2 + ||w~_C||^2) / N``,
   and the new ``e'`` is the direction of ``w~_e e + w~_C``, again a unit
   vector orthogonal to u and v.

7. *Markov property.* The law of the next step's coordinates depends on ``e'``
   only through the fact that it is a unit vector orthogonal to u and v: the
   part of z in ``span(u, v)^perp`` and all of xi are isotropic and fresh, and
   the latents only touch u and v. So ``(m_u, m_v)`` (with r) is an exact
   Markov chain and steps 2-6 simulate it for every d >= 5; ``e`` itself is
   never needed. The start uniform on the sphere is
   ``(m_u, m_v) = (g1, g2) / sqrt(g1^2 + g2^2 + chi2(d-2))``.

Per step: the two latents, six normals, two chi-squares and one normal,
whatever d. The negative controls ``complement="mean"`` (``||w~_C||^2``
replaced by its mean ``lr^2 (d-3) (K0^2 + Kxi^2)``) and ``"drop"`` (set to 0)
are *not* the process; they exist to show that the validation test can fail.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from easyhard.sgd._common import (
    Problem,
    chi_square,
    draw_latents,
    mt_constants,
    single_neuron_coefficients,
    walker_chunks,
)

COMPLEMENTS: dict[str, int] = {"exact": 0, "mean": 1, "drop": 2}


@nb.njit(cache=True)
def _reduced_walker(
    rng, mu, mv, d, beta_u, nu_scale, inv_sqrt_1bv, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop, complement,
    out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    """Steps 2-6 of the module docstring for one walker from ``(mu, mv)``."""
    r = math.sqrt(max(0.0, 1.0 - mu * mu - mv * mv))
    su = math.sqrt(beta_u)
    df1, df2 = d - 3, d - 4
    d1, c1_ = mt_constants(df1)
    d2, c2_ = mt_constants(df2)
    tracked_u = not math.isnan(eta[0])
    tracked_v = not math.isnan(eta[1])
    nrec = rec.size
    ri = 0
    if rec[0] == 0:
        out_u[0] = mu
        out_v[0] = mv
        out_loss[0] = np.nan
        ri = 1
    loss_sum = 0.0
    loss_n = 0
    steps = rec[nrec - 1]
    for n in range(1, steps + 1):
        lam, nu = draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr)
        z_u = rng.standard_normal()
        z_v = rng.standard_normal()
        z_e = rng.standard_normal()
        xi_u = rng.standard_normal()
        xi_v = rng.standard_normal()
        xi_e = rng.standard_normal()
        x_u = su * lam + z_u
        x_v = nu_scale * nu + z_v * inv_sqrt_1bv
        p = mu * x_u + mv * x_v + r * z_e
        zeta = mu * xi_u + mv * xi_v + r * xi_e
        k0, kxi, loss = single_neuron_coefficients(p, zeta, a, s, c, amp, code)
        loss_sum += loss
        loss_n += 1
        gamma = 1.0 + lr * (k0 * p + kxi * zeta)
        wu = gamma * mu - lr * (k0 * x_u + kxi * xi_u)
        wv = gamma * mv - lr * (k0 * x_v + kxi * xi_v)
        we = gamma * r - lr * (k0 * z_e + kxi * xi_e)
        if complement == 0:
            c1 = math.sqrt(chi_square(rng, df1, d1, c1_))
            c2 = math.sqrt(chi_square(rng, df2, d2, c2_))
            nn = rng.standard_normal()
            t1 = k0 * c1 + kxi * nn
            t2 = kxi * c2
            wc2 = lr * lr * (t1 * t1 + t2 * t2)
        elif complement == 1:
            wc2 = lr * lr * float(df1) * (k0 * k0 + kxi * kxi)
        else:
            wc2 = 0.0
        rest2 = we * we + wc2
        inv = 1.0 / math.sqrt(wu * wu + wv * wv + rest2)
        mu = wu * inv
        mv = wv * inv
        r = math.sqrt(rest2) * inv
        if tracked_u and math.isnan(out_pass[0]) and abs(mu) >= eta[0]:
            out_pass[0] = n
        if tracked_v and math.isnan(out_pass[1]) and abs(mv) >= eta[1]:
            out_pass[1] = n
        if ri < nrec and rec[ri] == n:
            out_u[ri] = mu
            out_v[ri] = mv
            out_loss[ri] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            ri += 1
        if stop and (tracked_u or tracked_v):
            if (not tracked_u or not math.isnan(out_pass[0])) and (
                not tracked_v or not math.isnan(out_pass[1])
            ):
                break


@nb.njit(cache=True)
def _uniform_start(rng, d):  # pragma: no cover - compiled
    """(m_u, m_v) of a point uniform on the sphere S^{d-1}."""
    g1 = rng.standard_normal()
    g2 = rng.standard_normal()
    dd, cc = mt_constants(d - 2)
    rest = chi_square(rng, d - 2, dd, cc)
    norm = math.sqrt(g1 * g1 + g2 * g2 + rest)
    return g1 / norm, g2 / norm


@nb.njit(cache=True)
def _reduced_batch(
    rng, init, d, beta_u, nu_scale, inv_sqrt_1bv, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop, complement,
    out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    """Walkers one after the other on one generator; ``init`` (2,) or empty (uniform start)."""
    for w in range(out_u.shape[0]):
        if init.size == 2:
            mu, mv = init[0], init[1]
        else:
            mu, mv = _uniform_start(rng, d)
        _reduced_walker(
            rng, mu, mv, d, beta_u, nu_scale, inv_sqrt_1bv, a, s, c, amp, code, lr,
            gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop, complement,
            out_u[w], out_v[w], out_loss[w], out_pass[w],
        )


def run_reduced(
    prob: Problem, walkers: int, rec: np.ndarray, eta: np.ndarray, stop: bool, seed: int,
    init: np.ndarray | None, progress: bool, complement: str = "exact",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """All walkers of the reduced engine, in :func:`~easyhard.sgd._common.walker_chunks`.

    Returns ``(alpha_u, alpha_v, loss, passage)`` shaped (W, 1, R), (W, 1, R), (W, R), (W, 2).
    """
    if prob.d < 5:
        raise ValueError(f"the reduced engine needs d >= 5 (chi2(d-4) in the Bartlett step), got d={prob.d}")
    if complement not in COMPLEMENTS:
        raise ValueError(f"complement must be one of {tuple(COMPLEMENTS)}, got {complement!r}")
    R = rec.size
    out_u = np.full((walkers, 1, R), np.nan)
    out_v = np.full((walkers, 1, R), np.nan)
    out_loss = np.full((walkers, R), np.nan)
    out_pass = np.full((walkers, 2), np.nan)
    start = np.zeros(0) if init is None else np.asarray(init, dtype=np.float64)
    for rng, sl in walker_chunks(seed, walkers, progress, f"reduced d={prob.d}"):
        _reduced_batch(
            rng, start, prob.d, prob.beta_u, prob.nu_scale, 1.0 / math.sqrt(1.0 + prob.beta_v),
            prob.a, prob.s, prob.c, prob.amp, prob.act_code, prob.lr, prob.gaussian_latent,
            prob.atoms, prob.cdf, prob.cuts, prob.p_corr, rec, eta, stop, COMPLEMENTS[complement],
            out_u[sl, 0], out_v[sl, 0], out_loss[sl], out_pass[sl],
        )
    return out_u, out_v, out_loss, out_pass

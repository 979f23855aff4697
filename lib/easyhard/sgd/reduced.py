r"""The exact reduced engine: online SGD of one neuron with O(1) random numbers per step.

Derivation (the chapter "Easy and hard", section "An exact reduction"; every
step, nothing approximated).

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
   gradient ``G = K0 x0 + Kxi xi - (K0 p + Kxi zeta) w`` (:mod:`easyhard.sgd._kernels`).

4. *The unnormalised update* ``w~ = w - lr G = gamma w - lr (K0 x0 + Kxi xi)``,
   ``gamma = 1 + lr (K0 p + Kxi zeta)``, has coordinates

       w~_u = gamma m_u - lr (K0 x_u + Kxi xi_u),   w~_v = gamma m_v - lr (K0 x_v + Kxi xi_v),
       w~_e = gamma r - lr (K0 z_e + Kxi xi_e),     w~_C = -lr (K0 z_C + Kxi xi_C).

5. *The complement is one chi-square.* ``K0`` and ``Kxi`` are functions of the
   in-frame coordinates only, which are independent of ``(z_C, xi_C)``. Given
   them, ``K0 z_C + Kxi xi_C`` is a sum of two independent centred Gaussian
   vectors of C with covariances ``K0^2 I`` and ``Kxi^2 I``: a centred Gaussian
   vector of covariance ``(K0^2 + Kxi^2) I_{d-3}``, i.e.
   ``sqrt(K0^2 + Kxi^2) g`` with ``g ~ N(0, I_{d-3})`` independent of the frame.
   Only its squared norm enters below, so

       ||w~_C||^2 = lr^2 (K0^2 + Kxi^2) X,   X ~ chi2(d - 3),     exactly in law,

   with X independent of everything else in the step. (This replaces the
   Bartlett factorisation of the Wishart_2 Gram matrix of ``(z_C, xi_C)``,
   which needs two chi-squares and a normal for the same law.)

6. *Normalise.* ``N^2 = w~_u^2 + w~_v^2 + w~_e^2 + ||w~_C||^2``;
   ``m_u' = w~_u / N``, ``m_v' = w~_v / N``, ``r' = sqrt(w~_e^2 + ||w~_C||^2) / N``,
   and the new ``e'`` is the direction of ``w~_e e + w~_C``, again a unit
   vector orthogonal to u and v.

7. *Markov property.* The law of the next step's coordinates depends on ``e'``
   only through the fact that it is a unit vector orthogonal to u and v: the
   part of z in ``span(u, v)^perp`` and all of xi are isotropic and fresh, and
   the latents only touch u and v. So ``(m_u, m_v)`` (with r) is an exact
   Markov chain and steps 2-6 simulate it for every d >= 4; ``e`` itself is
   never needed. The start uniform on the sphere is
   ``(m_u, m_v) = (g1, g2) / sqrt(g1^2 + g2^2 + chi2(d-2))``.

Per step: the two latents, six normals and one chi-square, whatever d. The
negative controls ``complement="mean"`` (X replaced by its mean d - 3) and
``"drop"`` (X = 0) are *not* the process; they exist to show that the
validation test can fail.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from easyhard.sgd._kernels import (
    ABORT_MASK,
    Schedule,
    chi_square,
    chi_square_law,
    latent_draws,
    latent_nu,
    map_chunks,
    neuron_coefficients,
    track_passage,
    walker_generator,
)

if TYPE_CHECKING:
    from easyhard.sgd.run import Problem

COMPLEMENTS: dict[str, int] = {"exact": 0, "mean": 1, "drop": 2}


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _reduced_walker(
    rng, init, P, S, complement, law, start_law, out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    """Steps 2-6 of the module docstring for one walker.

    ``init``: the start ``(m_u, m_v)``, or empty for the uniform start
    ``(g1, g2) / sqrt(g1^2 + g2^2 + chi2(d-2))`` (drawn first from ``rng``;
    ``start_law`` = chi2(d-2)). ``P``: :class:`KernelParams`; ``S``:
    :class:`Schedule`; ``law``: chi2(d-3). Fills ``out_u``, ``out_v``,
    ``out_loss`` (R,) and ``out_pass`` (2,).
    """
    a, s, c, amp, code, lr = P.a, P.s, P.c, P.amp, P.code, P.lr
    su, nu_scale, inv_sqrt_1bv = P.su, P.nu_scale, 1.0 - P.shrink
    gaussian, atoms, cdf, cuts, p_corr = P.gaussian, P.atoms, P.cdf, P.cuts, P.p_corr
    rec, eta_u, eta_v, stop, abort = S.rec, S.eta[0], S.eta[1], S.stop, S.abort
    lr2 = lr * lr
    if init.size == 2:
        mu, mv = init[0], init[1]
    else:
        g1 = rng.standard_normal()
        g2 = rng.standard_normal()
        norm = math.sqrt(g1 * g1 + g2 * g2 + chi_square(rng, start_law))
        mu, mv = g1 / norm, g2 / norm
    r = math.sqrt(max(0.0, 1.0 - mu * mu - mv * mv))
    ri = 0
    if rec[0] == 0:
        out_u[0] = mu
        out_v[0] = mv
        ri = 1
    loss_sum = 0.0
    loss_n = 0
    pass_u, pass_v = out_pass[0], out_pass[1]
    for n in range(1, rec[rec.size - 1] + 1):
        if (n & ABORT_MASK) == 0 and abort[0] != 0:  # Ctrl-C (see map_chunks)
            break
        # step 2: the sample in the frame (u, v, e)
        lam, coupled, x_nu = latent_draws(rng, gaussian, p_corr)
        nu = latent_nu(lam, coupled, x_nu, gaussian, atoms, cdf, cuts)
        z_u = rng.standard_normal()
        z_v = rng.standard_normal()
        z_e = rng.standard_normal()
        xi_u = rng.standard_normal()
        xi_v = rng.standard_normal()
        xi_e = rng.standard_normal()
        x_u = su * lam + z_u
        x_v = nu_scale * nu + z_v * inv_sqrt_1bv
        # step 3: the gradient's scalars
        p = mu * x_u + mv * x_v + r * z_e
        zeta = mu * xi_u + mv * xi_v + r * xi_e
        k0, kxi, loss = neuron_coefficients(p, zeta, a, s, c, amp, code)
        loss_sum += loss
        loss_n += 1
        # step 4: the update in the frame
        gamma = 1.0 + lr * (k0 * p + kxi * zeta)
        wu = gamma * mu - lr * (k0 * x_u + kxi * xi_u)
        wv = gamma * mv - lr * (k0 * x_v + kxi * xi_v)
        we = gamma * r - lr * (k0 * z_e + kxi * xi_e)
        # step 5: the complement, one chi-square
        if complement == 0:
            wc2 = lr2 * (k0 * k0 + kxi * kxi) * chi_square(rng, law)
        elif complement == 1:
            wc2 = lr2 * (k0 * k0 + kxi * kxi) * law.df
        else:
            wc2 = 0.0
        # step 6: normalise
        rest2 = we * we + wc2
        inv = 1.0 / math.sqrt(wu * wu + wv * wv + rest2)
        mu = wu * inv
        mv = wv * inv
        r = math.sqrt(rest2) * inv
        pass_u, pass_v, done = track_passage(n, abs(mu), abs(mv), eta_u, eta_v, stop, pass_u, pass_v)
        if ri < rec.size and rec[ri] == n:
            out_u[ri] = mu
            out_v[ri] = mv
            out_loss[ri] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            ri += 1
        if done:
            break
    out_pass[0], out_pass[1] = pass_u, pass_v


def run_reduced(
    params: Problem, walkers: int, schedule: Schedule, seed: int, init: np.ndarray | None, *,
    neurons: int = 1, threads: int = 1, progress: bool = False, backend: str = "numba",
    complement: str = "exact", first: int = 0, device: object = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, None]:
    """Run the reduced engine.

    Walkers ``first .. first + walkers - 1`` of the reduced engine (the engine interface of
    :mod:`easyhard.sgd.run`): walker i from :func:`~easyhard.sgd._kernels.walker_generator`
    ``(seed, i)``, in chunks on ``threads`` threads. ``backend`` must be ``"numba"``.

    Returns ``(alpha_u, alpha_v, loss, passage, None)`` shaped (W, 1, R), (W, 1, R),
    (W, R), (W, 2) (no weights: the engine never forms them).
    """
    if params.d < 4:
        raise ValueError(f"the reduced engine needs d >= 4 (a complement of dimension d - 3), got d={params.d}")
    if neurons != 1:
        raise ValueError(f"the reduced engine simulates one neuron (neurons=1), got neurons={neurons}")
    if backend != "numba":
        raise ValueError(f"the reduced engine runs on numba only, got backend={backend!r}")
    if complement not in COMPLEMENTS:
        raise ValueError(f"complement must be one of {tuple(COMPLEMENTS)}, got {complement!r}")
    P = params.kernel()
    R = schedule.rec.size
    out_u = np.full((walkers, 1, R), np.nan)
    out_v = np.full((walkers, 1, R), np.nan)
    out_loss = np.full((walkers, R), np.nan)
    out_pass = np.full((walkers, 2), np.nan)
    start = np.zeros(0) if init is None else np.asarray(init, dtype=np.float64)
    law, start_law = chi_square_law(P.d - 3), chi_square_law(P.d - 2)
    code = COMPLEMENTS[complement]
    flag = np.zeros(1, dtype=np.uint8)
    schedule = schedule._replace(abort=flag)

    def work(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            _reduced_walker(walker_generator(seed, first + i), start, P, schedule, code, law,
                            start_law, out_u[i, 0], out_v[i, 0], out_loss[i], out_pass[i])

    map_chunks(work, walkers, threads, progress=progress, desc=f"reduced d={P.d}", abort=flag)
    return out_u, out_v, out_loss, out_pass, None


__all__ = ["COMPLEMENTS", "run_reduced"]

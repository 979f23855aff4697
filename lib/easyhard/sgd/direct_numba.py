"""The direct engine, compiled: projected online SGD in d dimensions (numba).

Every step draws a fresh MCM sample ``x0`` (latents, ``z ~ N(0, I_d)``) and
fresh noise ``xi ~ N(0, I_d)``, forms ``x_t = a x0 + s xi`` and, for each of
the p neurons ``w_j`` of ``D(x_t) = c x_t + A sum_j w_j sigma(w_j.x_t)``, takes
the spherical gradient step

    w_j <- (w_j - lr G_j) / ||w_j - lr G_j||,   G_j = (I - w_j w_j^T) grad_{w_j} l,

with ``l = ||R||^2``, ``R = x0 - c x_t - A sum_k w_k sigma_k``:

    grad_{w_j} l = -2 A sigma_j R - 2 A sigma_j' (w_j.R) x_t,
    w_j.R = (1 - c a) p_j - c s zeta_j - A sum_k Q_jk sigma_k     (Q = W W^T).

``lr`` is the per-step factor ``delta / d``. Walker i draws its start and its
steps from the generator of ``(seed, i)`` (:mod:`easyhard.sgd._kernels`); the
torch backend (:mod:`easyhard.sgd.direct_torch`) simulates the same process
with other random numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from easyhard.sgd._kernels import (
    Schedule,
    activation_and_slope,
    latent_draws,
    latent_nu,
    map_chunks,
    neuron_coefficients,
    track_passage,
    walker_generator,
)

if TYPE_CHECKING:
    from easyhard.sgd.run import Problem

#: the direct kernels read the abort flag every 1024 steps (a step costs O(d))
_ABORT_MASK = 0x3FF


@nb.njit(cache=True, nogil=True)
def _direct_walker(
    rng, W, u, v, P, S, out_u, out_v, out_loss, out_pass, out_w,
):  # pragma: no cover - compiled
    """Run one walker from neurons ``W`` (p, d), unit rows (overwritten).

    ``P``: :class:`~easyhard.sgd._kernels.KernelParams`; ``S``:
    :class:`~easyhard.sgd._kernels.Schedule`. Fills ``out_u``, ``out_v`` (p, R),
    ``out_loss`` (R,) at the steps ``S.rec``, ``out_pass`` (2,) with first-passage
    steps of ``max_j |alpha|`` and ``out_w`` (p, d) with the final weights.
    Between steps the unit weights are ``scale[j] * W[j]`` (the rows are not
    renormalised in place), which saves one pass over d per step.
    """
    p, d = W.shape
    z = np.empty(d)
    xi = np.empty(d)
    Wn = np.empty_like(W)
    scale = np.ones(p)
    au = np.zeros(p)
    av = np.zeros(p)
    for j in range(p):
        for i in range(d):
            au[j] += W[j, i] * u[i]
            av[j] += W[j, i] * v[i]
    Q = np.eye(p)
    for j in range(p):
        for k in range(j + 1, p):
            q = 0.0
            for i in range(d):
                q += W[j, i] * W[k, i]
            Q[j, k] = q
            Q[k, j] = q
    wz = np.empty(p)
    wx = np.empty(p)
    pj_ = np.empty(p)
    zj_ = np.empty(p)
    sig = np.empty(p)
    dsig = np.empty(p)
    k0 = np.empty(p)
    kxi = np.empty(p)
    M = np.empty((p, p))
    norm2 = np.empty(p)
    a, s, c, amp, lr, code = P.a, P.s, P.c, P.amp, P.lr, P.code
    su, nu_scale, shrink = P.su, P.nu_scale, P.shrink
    gaussian, atoms, cdf, cuts, p_corr = P.gaussian, P.atoms, P.cdf, P.cuts, P.p_corr
    rec, eta_u, eta_v, stop, abort = S.rec, S.eta[0], S.eta[1], S.stop, S.abort
    r = 0
    if rec[0] == 0:
        out_u[:, 0] = au
        out_v[:, 0] = av
        r = 1
    loss_sum = 0.0
    loss_n = 0
    pass_u, pass_v = out_pass[0], out_pass[1]
    for n in range(1, rec[rec.size - 1] + 1):
        if (n & _ABORT_MASK) == 0 and abort[0] != 0:  # Ctrl-C (see map_chunks)
            break
        # the sample: latents, z and xi, projected on W and v
        lam, coupled, x_nu = latent_draws(rng, gaussian, p_corr)
        nu = latent_nu(lam, coupled, x_nu, gaussian, atoms, cdf, cuts)
        zv = 0.0
        wz[:] = 0.0
        wx[:] = 0.0
        for i in range(d):
            zi = rng.standard_normal()
            xii = rng.standard_normal()
            z[i] = zi
            xi[i] = xii
            zv += v[i] * zi
            for j in range(p):
                wz[j] += W[j, i] * zi
                wx[j] += W[j, i] * xii
        cu = su * lam
        cv = nu_scale * nu - shrink * zv  # x0 = z + cu u + cv v
        # the gradient's coefficients K0, Kxi and the mixing matrix M of the rows
        loss = 0.0
        for j in range(p):
            pj_[j] = scale[j] * wz[j] + cu * au[j] + cv * av[j]
            zj_[j] = scale[j] * wx[j]
            sig[j], dsig[j] = activation_and_slope(a * pj_[j] + s * zj_[j], code)
        for j in range(p):
            pj = pj_[j]
            zj = zj_[j]
            hj = a * pj + s * zj
            qs = 0.0
            for k in range(p):
                qs += Q[j, k] * sig[k]
            wr = (1.0 - c * a) * pj - c * s * zj - amp * qs
            g1 = -2.0 * amp * dsig[j] * wr
            g2 = -2.0 * amp * sig[j]
            k0[j] = a * g1 + (1.0 - c * a) * g2
            kxi[j] = s * g1 - c * s * g2
            radial = k0[j] * pj + kxi[j] * zj + 2.0 * amp * amp * sig[j] * qs
            for k in range(p):
                M[j, k] = -lr * 2.0 * amp * amp * sig[j] * sig[k] * scale[k]
            M[j, j] += (1.0 + lr * radial) * scale[j]
            loss += amp * amp * sig[j] * qs - 2.0 * amp * sig[j] * (pj - c * hj)
        loss_sum += loss
        loss_n += 1
        # the update W~ = M W - lr (K0 x0 + Kxi xi), its norms and overlaps
        norm2[:] = 0.0
        au[:] = 0.0
        av[:] = 0.0
        for i in range(d):
            x0i = z[i] + cu * u[i] + cv * v[i]
            for j in range(p):
                wn = -lr * (k0[j] * x0i + kxi[j] * xi[i])
                for k in range(p):
                    wn += M[j, k] * W[k, i]
                Wn[j, i] = wn
                norm2[j] += wn * wn
                au[j] += wn * u[i]
                av[j] += wn * v[i]
        for j in range(p):
            inv = 1.0 / math.sqrt(norm2[j])
            scale[j] = inv
            au[j] *= inv
            av[j] *= inv
        # the Gram matrix of the new unit rows, passage and records
        for j in range(p):
            for k in range(j + 1, p):
                q = 0.0
                for i in range(d):
                    q += Wn[j, i] * Wn[k, i]
                Q[j, k] = q * scale[j] * scale[k]
                Q[k, j] = Q[j, k]
        W, Wn = Wn, W
        pass_u, pass_v, done = track_passage(n, np.max(np.abs(au)), np.max(np.abs(av)), eta_u, eta_v,
                                             stop, pass_u, pass_v)
        if r < rec.size and rec[r] == n:
            out_u[:, r] = au
            out_v[:, r] = av
            out_loss[r] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            r += 1
        if done:
            break
    out_pass[0], out_pass[1] = pass_u, pass_v
    for j in range(p):
        for i in range(d):
            out_w[j, i] = W[j, i] * scale[j]


# fastmath without nnan/ninf (so the NaN checks survive): reassociating the sums over d
# lets numba vectorise the second pass
@nb.njit(cache=True, nogil=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _direct_single(
    rng, w, u, v, P, S, out_u, out_v, out_loss, out_pass, out_w,
):  # pragma: no cover - compiled
    """Run one walker of one neuron (the fast path).

    :func:`_direct_walker` for one neuron (``w`` of shape (d,), outputs of shape (R,)
    and (d,)): two passes over d per step; the same process from the same stream, equal to
    :func:`_direct_walker` up to rounding.
    """
    d = w.size
    z = np.empty(d)
    xi = np.empty(d)
    wn = np.empty(d)
    scale = 1.0
    au = 0.0
    av = 0.0
    for i in range(d):
        au += w[i] * u[i]
        av += w[i] * v[i]
    a, s, c, amp, lr, code = P.a, P.s, P.c, P.amp, P.lr, P.code
    su, nu_scale, shrink = P.su, P.nu_scale, P.shrink
    gaussian, atoms, cdf, cuts, p_corr = P.gaussian, P.atoms, P.cdf, P.cuts, P.p_corr
    rec, eta_u, eta_v, stop, abort = S.rec, S.eta[0], S.eta[1], S.stop, S.abort
    r = 0
    if rec[0] == 0:
        out_u[0] = au
        out_v[0] = av
        r = 1
    loss_sum = 0.0
    loss_n = 0
    pass_u, pass_v = out_pass[0], out_pass[1]
    for n in range(1, rec[rec.size - 1] + 1):
        if (n & _ABORT_MASK) == 0 and abort[0] != 0:  # Ctrl-C (see map_chunks)
            break
        lam, coupled, x_nu = latent_draws(rng, gaussian, p_corr)
        nu = latent_nu(lam, coupled, x_nu, gaussian, atoms, cdf, cuts)
        zv = 0.0
        wz = 0.0
        wx = 0.0
        for i in range(d):
            zi = rng.standard_normal()
            xii = rng.standard_normal()
            z[i] = zi
            xi[i] = xii
            zv += v[i] * zi
            wz += w[i] * zi
            wx += w[i] * xii
        cu = su * lam
        cv = nu_scale * nu - shrink * zv  # x0 = z + cu u + cv v
        p = scale * wz + cu * au + cv * av
        zeta = scale * wx
        k0, kxi, loss = neuron_coefficients(p, zeta, a, s, c, amp, code)
        loss_sum += loss
        loss_n += 1
        keep = (1.0 + lr * (k0 * p + kxi * zeta)) * scale
        b0 = -lr * k0
        bx = -lr * kxi
        bu = b0 * cu
        bv = b0 * cv
        norm2 = 0.0
        au = 0.0
        av = 0.0
        for i in range(d):
            x = keep * w[i] + b0 * z[i] + bx * xi[i] + bu * u[i] + bv * v[i]
            wn[i] = x
            norm2 += x * x
            au += x * u[i]
            av += x * v[i]
        scale = 1.0 / math.sqrt(norm2)
        au *= scale
        av *= scale
        w, wn = wn, w
        pass_u, pass_v, done = track_passage(n, abs(au), abs(av), eta_u, eta_v, stop, pass_u, pass_v)
        if r < rec.size and rec[r] == n:
            out_u[r] = au
            out_v[r] = av
            out_loss[r] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            r += 1
        if done:
            break
    out_pass[0], out_pass[1] = pass_u, pass_v
    for i in range(d):
        out_w[i] = w[i] * scale


def initial_weights(
    rng: np.random.Generator, neurons: int, u: np.ndarray, v: np.ndarray, init: np.ndarray | None,
) -> np.ndarray:
    """Initial unit weights.

    (neurons, d) rows uniform on the sphere, or ``alpha_u u + alpha_v v + r e`` with e a
    random unit vector orthogonal to u and v (the same overlaps for every row).
    """
    W = rng.standard_normal((neurons, u.size))
    if init is not None:
        W -= (W @ u)[:, None] * u + (W @ v)[:, None] * v
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        W = init[0] * u + init[1] * v + math.sqrt(1.0 - float(init @ init)) * W
    return W / np.linalg.norm(W, axis=1, keepdims=True)


def run_numba(
    params: Problem, neurons: int, walkers: int, schedule: Schedule, seed: int,
    init: np.ndarray | None, *, threads: int = 1, progress: bool = False, first: int = 0,
) -> tuple[np.ndarray, ...]:
    """Run the compiled direct engine.

    Walkers ``first .. first + walkers - 1`` of the compiled direct engine, walker i
    from :func:`~easyhard.sgd._kernels.walker_generator` ``(seed, i)``, in chunks on
    ``threads`` threads. Returns ``(alpha_u, alpha_v, loss, passage, weights)``.
    """
    P = params.kernel()
    u = params.model.u.detach().cpu().double().numpy()
    v = params.model.v.detach().cpu().double().numpy()
    R = schedule.rec.size
    out_u = np.full((walkers, neurons, R), np.nan)
    out_v = np.full((walkers, neurons, R), np.nan)
    out_loss = np.full((walkers, R), np.nan)
    out_pass = np.full((walkers, 2), np.nan)
    out_w = np.empty((walkers, neurons, params.d))

    flag = np.zeros(1, dtype=np.uint8)
    schedule = schedule._replace(abort=flag)

    def work(lo: int, hi: int) -> None:
        for i in range(lo, hi):
            rng = walker_generator(seed, first + i)
            W0 = initial_weights(rng, neurons, u, v, init)
            if neurons == 1:
                _direct_single(rng, W0[0], u, v, P, schedule, out_u[i, 0], out_v[i, 0],
                               out_loss[i], out_pass[i], out_w[i, 0])
            else:
                _direct_walker(rng, W0, u, v, P, schedule, out_u[i], out_v[i], out_loss[i],
                               out_pass[i], out_w[i])

    map_chunks(work, walkers, threads, progress=progress, desc=f"direct d={params.d}", abort=flag)
    return out_u, out_v, out_loss, out_pass, out_w

"""The reduced engine's kernel as it was before the one-chi-square complement (baseline).

A frozen, self-contained copy of the kernel the benchmark compares the current one
with: per step two latents, six normals, a Bartlett step of two Marsaglia-Tsang
chi-squares and one normal. Only :func:`ns_per_step` is meant to be called.
"""

from __future__ import annotations

import math
import time

import numba as nb
import numpy as np

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


@nb.njit(inline="always")
def _activation_and_slope(h, code):  # pragma: no cover - compiled
    if code == 0:
        t = math.tanh(h)
        return t, 1.0 - t * t
    if code == 1:
        return math.erf(h * _INV_SQRT2), _SQRT_2_OVER_PI * math.exp(-0.5 * h * h)
    if code == 2:
        return (h, 1.0) if h > 0.0 else (0.0, 0.0)
    return h, 1.0


@nb.njit(inline="always")
def _coefficients(p, zeta, a, s, c, amp, code):  # pragma: no cover - compiled
    h = a * p + s * zeta
    sig, dsig = _activation_and_slope(h, code)
    g1 = -2.0 * amp * dsig * (p - c * h - amp * sig)
    g2 = -2.0 * amp * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    loss = amp * amp * sig * sig - 2.0 * amp * sig * (p - c * h)
    return k0, kxi, loss


@nb.njit(inline="always")
def _draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr):  # pragma: no cover - compiled
    lam = rng.standard_normal()
    coupled = p_corr > 0.0 and rng.random() < p_corr
    if gaussian:
        return lam, lam if coupled else rng.standard_normal()
    if coupled:
        j = 0
        while j < cuts.size and lam > cuts[j]:
            j += 1
        return lam, atoms[j]
    x = rng.random()
    j = 0
    while j < cdf.size - 1 and x >= cdf[j]:
        j += 1
    return lam, atoms[j]


@nb.njit(inline="always")
def _chi_square(rng, df, mt_d, mt_c):  # pragma: no cover - compiled
    if df == 1:
        g = rng.standard_normal()
        return g * g
    while True:
        x = rng.standard_normal()
        t = 1.0 + mt_c * x
        if t <= 0.0:
            continue
        t = t * t * t
        y = rng.random()
        x2 = x * x
        if y < 1.0 - 0.0331 * x2 * x2:
            return 2.0 * mt_d * t
        if math.log(y) < 0.5 * x2 + mt_d * (1.0 - t + math.log(t)):
            return 2.0 * mt_d * t


@nb.njit
def _mt_constants(df):  # pragma: no cover - compiled
    if df < 2:
        return 1.0, 1.0
    dd = df / 2.0 - 1.0 / 3.0
    return dd, 1.0 / math.sqrt(9.0 * dd)


@nb.njit
def _reduced_walker(
    rng, mu, mv, d, beta_u, nu_scale, inv_sqrt_1bv, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop, complement,
    out_u, out_v, out_loss, out_pass,
):  # pragma: no cover - compiled
    r = math.sqrt(max(0.0, 1.0 - mu * mu - mv * mv))
    su = math.sqrt(beta_u)
    df1, df2 = d - 3, d - 4
    d1, c1_ = _mt_constants(df1)
    d2, c2_ = _mt_constants(df2)
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
        lam, nu = _draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr)
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
        k0, kxi, loss = _coefficients(p, zeta, a, s, c, amp, code)
        loss_sum += loss
        loss_n += 1
        gamma = 1.0 + lr * (k0 * p + kxi * zeta)
        wu = gamma * mu - lr * (k0 * x_u + kxi * xi_u)
        wv = gamma * mv - lr * (k0 * x_v + kxi * xi_v)
        we = gamma * r - lr * (k0 * z_e + kxi * xi_e)
        if complement == 0:
            c1 = math.sqrt(_chi_square(rng, df1, d1, c1_))
            c2 = math.sqrt(_chi_square(rng, df2, d2, c2_))
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


def ns_per_step(d: int, steps: int, beta_v: float = 5.0, seed: int = 0) -> float:
    """ns per step of the baseline kernel: quartic spike (beta_v), tanh, a = 0.6, lr = 0.1/d^2,
    Rademacher latents, from alpha = 0, no threshold (the same setting as the benchmark)."""
    a = 0.6
    s = math.sqrt(1.0 - a * a)
    rec = np.array([0, steps], dtype=np.int64)
    eta = np.full(2, np.nan)
    out = [np.full(2, np.nan) for _ in range(3)] + [np.full(2, np.nan)]
    args = (d, 0.0, math.sqrt(beta_v / (1 + beta_v)), 1.0 / math.sqrt(1 + beta_v), a, s, a, 1.0, 0,
            0.1 / d**2, False, np.array([-1.0, 1.0]), np.array([0.5, 1.0]), np.array([0.0]), 0.0)
    rng = np.random.default_rng(seed)
    _reduced_walker(rng, 0.0, 0.0, *args, np.array([0, 2], dtype=np.int64), eta, False, 0, *out)
    t0 = time.process_time()
    _reduced_walker(rng, 0.0, 0.0, *args, rec, eta, False, 0, *out)
    return (time.process_time() - t0) / steps * 1e9

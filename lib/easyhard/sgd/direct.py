"""The direct engine: projected online SGD in d dimensions (science.md 5).

Every step draws a fresh MCM sample ``x0`` (latents, ``z ~ N(0, I_d)``) and
fresh noise ``xi ~ N(0, I_d)``, forms ``x_t = a x0 + s xi`` and, for each of
the p neurons ``w_j`` of ``D(x_t) = c x_t + A sum_j w_j sigma(w_j.x_t)``, takes
the spherical gradient step

    w_j <- (w_j - lr G_j) / ||w_j - lr G_j||,   G_j = (I - w_j w_j^T) grad_{w_j} l,

with ``l = ||R||^2``, ``R = x0 - c x_t - A sum_k w_k sigma_k``:

    grad_{w_j} l = -2 A sigma_j R - 2 A sigma_j' (w_j.R) x_t,
    w_j.R = (1 - c a) p_j - c s zeta_j - A sum_k Q_jk sigma_k     (Q = W W^T).

``lr`` is the per-step factor, ``delta / d`` in science.md's notation. Two
backends: a compiled CPU loop (numba, ``np.random.Generator`` inside, one
generator per walker spawned from the seed) and a torch loop batched over
walkers that runs on CUDA when present. Both produce the same process; their
random streams differ, so only the seeded numbers of each backend are fixed.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import torch

from easyhard.sgd._common import (
    Problem,
    activation_and_slope,
    draw_latents,
    single_neuron_coefficients,
    walker_chunks,
)


@nb.njit(cache=True)
def _direct_walker(
    rng, W, u, v, beta_u, nu_scale, shrink, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop,
    out_u, out_v, out_loss, out_pass, out_w,
):  # pragma: no cover - compiled
    """Run one walker from neurons ``W`` (p, d), unit rows (overwritten).

    Fills ``out_u``, ``out_v`` (p, R), ``out_loss`` (R,) at the steps ``rec``
    and ``out_pass`` (2,) with first-passage steps of ``max_j |alpha|`` to
    ``eta`` (NaN entries of ``eta``: not tracked), ``out_w`` (p, d) with the final
    weights. ``W`` holds unnormalised rows
    times ``scale`` between steps, so one pass per step is saved.
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
    sig = np.empty(p)
    dsig = np.empty(p)
    k0 = np.empty(p)
    kxi = np.empty(p)
    M = np.empty((p, p))
    norm2 = np.empty(p)
    su = math.sqrt(beta_u)
    tracked_u = not math.isnan(eta[0])
    tracked_v = not math.isnan(eta[1])
    nrec = rec.size
    r = 0
    if rec[0] == 0:
        out_u[:, 0] = au
        out_v[:, 0] = av
        out_loss[0] = np.nan
        r = 1
    loss_sum = 0.0
    loss_n = 0
    steps = rec[nrec - 1]
    for n in range(1, steps + 1):
        lam, nu = draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr)
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
        loss = 0.0
        for j in range(p):
            pj = scale[j] * wz[j] + cu * au[j] + cv * av[j]
            zj = scale[j] * wx[j]
            wz[j] = pj
            wx[j] = zj
            sig[j], dsig[j] = activation_and_slope(a * pj + s * zj, code)
        for j in range(p):
            pj = wz[j]
            zj = wx[j]
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
        for j in range(p):
            for k in range(j + 1, p):
                q = 0.0
                for i in range(d):
                    q += Wn[j, i] * Wn[k, i]
                Q[j, k] = q * scale[j] * scale[k]
                Q[k, j] = Q[j, k]
        W, Wn = Wn, W
        if tracked_u and math.isnan(out_pass[0]):
            if np.max(np.abs(au)) >= eta[0]:
                out_pass[0] = n
        if tracked_v and math.isnan(out_pass[1]):
            if np.max(np.abs(av)) >= eta[1]:
                out_pass[1] = n
        if r < nrec and rec[r] == n:
            out_u[:, r] = au
            out_v[:, r] = av
            out_loss[r] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            r += 1
        if stop and (tracked_u or tracked_v):
            if (not tracked_u or not math.isnan(out_pass[0])) and (
                not tracked_v or not math.isnan(out_pass[1])
            ):
                break
    for j in range(p):
        for i in range(d):
            out_w[j, i] = W[j, i] * scale[j]


@nb.njit(cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _direct_single(
    rng, w, u, v, beta_u, nu_scale, shrink, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop,
    out_u, out_v, out_loss, out_pass, out_w,
):  # pragma: no cover - compiled
    """:func:`_direct_walker` for one neuron (``w`` of shape (d,)): two passes over d per
    step, the second one vectorised; same process, about twice as fast."""
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
    su = math.sqrt(beta_u)
    tracked_u = not math.isnan(eta[0])
    tracked_v = not math.isnan(eta[1])
    nrec = rec.size
    r = 0
    if rec[0] == 0:
        out_u[0] = au
        out_v[0] = av
        out_loss[0] = np.nan
        r = 1
    loss_sum = 0.0
    loss_n = 0
    steps = rec[nrec - 1]
    for n in range(1, steps + 1):
        lam, nu = draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr)
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
        k0, kxi, loss = single_neuron_coefficients(p, zeta, a, s, c, amp, code)
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
        if tracked_u and math.isnan(out_pass[0]) and abs(au) >= eta[0]:
            out_pass[0] = n
        if tracked_v and math.isnan(out_pass[1]) and abs(av) >= eta[1]:
            out_pass[1] = n
        if r < nrec and rec[r] == n:
            out_u[r] = au
            out_v[r] = av
            out_loss[r] = loss_sum / loss_n
            loss_sum = 0.0
            loss_n = 0
            r += 1
        if stop and (tracked_u or tracked_v):
            if (not tracked_u or not math.isnan(out_pass[0])) and (
                not tracked_v or not math.isnan(out_pass[1])
            ):
                break
    for i in range(d):
        out_w[i] = w[i] * scale


@nb.njit(cache=True)
def _direct_batch(
    rng, W0, single, u, v, beta_u, nu_scale, shrink, a, s, c, amp, code, lr,
    gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop,
    out_u, out_v, out_loss, out_pass, out_w,
):  # pragma: no cover - compiled
    """Walkers one after the other on one generator from initial weights ``W0`` (B, p, d)."""
    for b in range(W0.shape[0]):
        if single:
            _direct_single(
                rng, W0[b, 0], u, v, beta_u, nu_scale, shrink, a, s, c, amp, code, lr,
                gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop,
                out_u[b, 0], out_v[b, 0], out_loss[b], out_pass[b], out_w[b, 0],
            )
        else:
            _direct_walker(
                rng, W0[b], u, v, beta_u, nu_scale, shrink, a, s, c, amp, code, lr,
                gaussian, atoms, cdf, cuts, p_corr, rec, eta, stop,
                out_u[b], out_v[b], out_loss[b], out_pass[b], out_w[b],
            )


def initial_weights(
    rng: np.random.Generator, walkers: int, neurons: int, u: np.ndarray, v: np.ndarray,
    init: np.ndarray | None,
) -> np.ndarray:
    """(walkers, neurons, d) rows uniform on the sphere, or ``alpha_u u + alpha_v v + r e``
    with e a random unit vector orthogonal to u and v (the same overlaps for every row)."""
    W = rng.standard_normal((walkers, neurons, u.size))
    if init is not None:
        W -= (W @ u)[..., None] * u + (W @ v)[..., None] * v
        W /= np.linalg.norm(W, axis=2, keepdims=True)
        W = init[0] * u + init[1] * v + math.sqrt(1.0 - float(init @ init)) * W
    return W / np.linalg.norm(W, axis=2, keepdims=True)


def run_numba(
    prob: Problem, u: np.ndarray, v: np.ndarray, neurons: int, walkers: int, rec: np.ndarray,
    eta: np.ndarray, stop: bool, seed: int, init: np.ndarray | None, progress: bool,
) -> tuple[np.ndarray, ...]:
    """All walkers of the compiled direct engine, in :func:`~easyhard.sgd._common.walker_chunks`.

    Returns ``(alpha_u, alpha_v, loss, passage, weights)``.
    """
    R = rec.size
    out_u = np.full((walkers, neurons, R), np.nan)
    out_v = np.full((walkers, neurons, R), np.nan)
    out_loss = np.full((walkers, R), np.nan)
    out_pass = np.full((walkers, 2), np.nan)
    out_w = np.empty((walkers, neurons, prob.d))
    for rng, sl in walker_chunks(seed, walkers, progress, f"direct d={prob.d}"):
        W0 = initial_weights(rng, sl.stop - sl.start, neurons, u, v, init)
        _direct_batch(
            rng, W0, neurons == 1, u, v, prob.beta_u, prob.nu_scale, prob.shrink, prob.a, prob.s,
            prob.c, prob.amp, prob.act_code, prob.lr, prob.gaussian_latent, prob.atoms, prob.cdf,
            prob.cuts, prob.p_corr, rec, eta, stop, out_u[sl], out_v[sl], out_loss[sl],
            out_pass[sl], out_w[sl],
        )
    return out_u, out_v, out_loss, out_pass, out_w


def _torch_activation(name: str, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if name == "tanh":
        t = torch.tanh(h)
        return t, 1.0 - t * t
    if name == "erf":
        return torch.erf(h / math.sqrt(2.0)), math.sqrt(2.0 / math.pi) * torch.exp(-0.5 * h * h)
    if name == "relu":
        return torch.relu(h), (h > 0).to(h.dtype)
    return h, torch.ones_like(h)


def run_torch(
    prob: Problem, model_law, u: np.ndarray, v: np.ndarray, neurons: int, walkers: int,
    rec: np.ndarray, eta: np.ndarray, stop: bool, seed: int, init: np.ndarray | None,
    progress: bool, device: torch.device,
) -> tuple[np.ndarray, ...]:
    """The direct engine in torch, all walkers at once (float64 on CPU, float32 on CUDA)."""
    from tqdm.auto import tqdm

    dtype = torch.float32 if device.type == "cuda" else torch.float64
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    rng = np.random.default_rng(seed)
    W0 = initial_weights(rng, walkers, neurons, u, v, init)
    W = torch.as_tensor(W0, device=device, dtype=dtype)  # (B, p, d)
    ut = torch.as_tensor(u, device=device, dtype=dtype)
    vt = torch.as_tensor(v, device=device, dtype=dtype)
    B, d = walkers, prob.d
    a, s, c, amp, lr = prob.a, prob.s, prob.c, prob.amp, prob.lr
    R = rec.size
    out_u = np.full((B, neurons, R), np.nan)
    out_v = np.full((B, neurons, R), np.nan)
    out_loss = np.full((B, R), np.nan)
    out_pass = np.full((B, 2), np.nan)
    active = np.ones(B, dtype=bool)
    au, av = W @ ut, W @ vt
    out_u[:, :, 0], out_v[:, :, 0] = au.cpu().numpy(), av.cpu().numpy()
    loss_sum = torch.zeros(B, device=device, dtype=dtype)
    loss_n = 0
    r = 1
    eye = torch.eye(neurons, device=device, dtype=dtype)
    for n in tqdm(range(1, int(rec[-1]) + 1), desc=f"torch d={d}", disable=not progress, leave=False):
        lam = torch.randn(B, generator=gen, device=device, dtype=dtype)
        nu = model_law.sample(B, gen, device, dtype)
        if prob.p_corr > 0.0:
            coupled = torch.rand(B, generator=gen, device=device, dtype=torch.float64) < prob.p_corr
            nu = torch.where(coupled, model_law.coupled(lam), nu)
        z = torch.randn(B, d, generator=gen, device=device, dtype=dtype)
        xi = torch.randn(B, d, generator=gen, device=device, dtype=dtype)
        cv = prob.nu_scale * nu - prob.shrink * (z @ vt)
        x0 = z + cv[:, None] * vt + math.sqrt(prob.beta_u) * lam[:, None] * ut
        pj = torch.einsum("bkd,bd->bk", W, x0)
        zj = torch.einsum("bkd,bd->bk", W, xi)
        h = a * pj + s * zj
        sig, dsig = _torch_activation(prob.activation, h)
        Q = W @ W.transpose(1, 2)
        qs = (Q @ sig[:, :, None])[:, :, 0]
        wr = (1.0 - c * a) * pj - c * s * zj - amp * qs
        g1 = -2.0 * amp * dsig * wr
        g2 = -2.0 * amp * sig
        k0 = a * g1 + (1.0 - c * a) * g2
        kxi = s * g1 - c * s * g2
        radial = k0 * pj + kxi * zj + 2.0 * amp * amp * sig * qs
        M = eye * (1.0 + lr * radial)[:, :, None] - lr * 2.0 * amp * amp * sig[:, :, None] * sig[:, None, :]
        W = M @ W - lr * (k0[:, :, None] * x0[:, None, :] + kxi[:, :, None] * xi[:, None, :])
        W = W / torch.linalg.vector_norm(W, dim=2, keepdim=True)
        loss_sum += (amp * amp * sig * qs - 2.0 * amp * sig * (pj - c * h)).sum(1)
        loss_n += 1
        au, av = W @ ut, W @ vt
        track = False
        for e, alpha in ((0, au), (1, av)):
            if not math.isnan(eta[e]):
                track = True
                hit = (alpha.abs().amax(1) >= eta[e]).cpu().numpy() & np.isnan(out_pass[:, e]) & active
                out_pass[hit, e] = n
        if r < R and rec[r] == n:
            out_u[active, :, r] = au.cpu().numpy()[active]
            out_v[active, :, r] = av.cpu().numpy()[active]
            out_loss[active, r] = (loss_sum / loss_n).cpu().numpy()[active]
            loss_sum.zero_()
            loss_n = 0
            r += 1
        if stop and track:
            done = np.all(~np.isnan(out_pass) | np.isnan(eta)[None, :], axis=1)
            active &= ~done
            if not active.any():
                break
    return out_u, out_v, out_loss, out_pass, W.cpu().double().numpy()

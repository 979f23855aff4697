"""The direct engine in torch: all walkers at once, on CUDA when present.

The step is :func:`torch_step`, a pure function of the weights and one sample
per walker (the closed-form spherical gradient of :mod:`easyhard.sgd.direct_numba`,
tested against autograd of :meth:`easyhard.denoisers.neuron.NeuronDenoiser.loss`).
Samples come from :meth:`easyhard.data.mcm.MixedCumulantModel.sample`. The loop
never waits for the device between records: first passages and the stopped
walkers are tensors on the device, and a stopped walker's weights are frozen.
All walkers share one torch generator seeded with ``seed``, so (unlike the
numba backend) walker i's numbers depend on the number of walkers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

from easyhard.activations import Activation
from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd._kernels import Schedule
from easyhard.sgd.direct_numba import initial_weights

if TYPE_CHECKING:
    from easyhard.sgd.run import Problem


def torch_step(
    W: torch.Tensor, x0: torch.Tensor, xi: torch.Tensor, activation: Activation,
    a: float, s: float, c: float, amp: float, lr: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One projected SGD step of every walker on its own sample.

    ``W`` (B, p, d) unit rows, ``x0``, ``xi`` (B, d); returns the new unit rows
    ``(W - lr G) / ||W - lr G||`` with ``G_j = (I - w_j w_j^T) grad_{w_j} ||R||^2``
    (:mod:`easyhard.sgd.direct_numba`), and the w-dependent loss ``G_loss`` (B,)
    of the sample before the step.
    """
    pj = torch.einsum("bkd,bd->bk", W, x0)
    zj = torch.einsum("bkd,bd->bk", W, xi)
    h = a * pj + s * zj
    sig, dsig = activation.torch(h), activation.slope(h)
    Q = W @ W.transpose(1, 2)
    qs = (Q @ sig[:, :, None])[:, :, 0]
    wr = (1.0 - c * a) * pj - c * s * zj - amp * qs
    g1 = -2.0 * amp * dsig * wr
    g2 = -2.0 * amp * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    radial = k0 * pj + kxi * zj + 2.0 * amp * amp * sig * qs
    eye = torch.eye(W.shape[1], device=W.device, dtype=W.dtype)
    M = eye * (1.0 + lr * radial)[:, :, None] - lr * 2.0 * amp * amp * sig[:, :, None] * sig[:, None, :]
    Wn = M @ W - lr * (k0[:, :, None] * x0[:, None, :] + kxi[:, :, None] * xi[:, None, :])
    Wn = Wn / torch.linalg.vector_norm(Wn, dim=2, keepdim=True)
    loss = (amp * amp * sig * qs - 2.0 * amp * sig * (pj - c * h)).sum(1)
    return Wn, loss


def run_torch(
    params: Problem, neurons: int, walkers: int, schedule: Schedule, seed: int,
    init: np.ndarray | None, *, progress: bool = False, device: torch.device,
) -> tuple[np.ndarray, ...]:
    """The direct engine in torch (float64 on CPU, float32 on CUDA).

    Returns ``(alpha_u, alpha_v, loss, passage, weights)`` as the numba backend does;
    the weights are those at each walker's stop.
    """
    from tqdm.auto import tqdm

    dtype = torch.float32 if device.type == "cuda" else torch.float64
    m0 = params.model
    model = MixedCumulantModel(m0.d, beta_u=m0.beta_u, beta_v=m0.beta_v, latent=m0.latent,
                               p_corr=m0.p_corr, skew_p=m0.skew_p, seed=m0.seed, device=device,
                               dtype=dtype)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    u = m0.u.detach().cpu().double().numpy()
    v = m0.v.detach().cpu().double().numpy()
    rng = np.random.default_rng(seed)
    W0 = np.stack([initial_weights(rng, neurons, u, v, init) for _ in range(walkers)])
    W = torch.as_tensor(W0, device=device, dtype=dtype)  # (B, p, d)
    # the directions the caller's model holds (as the numba backend uses them)
    model.u = ut = torch.as_tensor(u, device=device, dtype=dtype)
    model.v = vt = torch.as_tensor(v, device=device, dtype=dtype)
    rec, B, d, nrn = schedule.rec, walkers, params.d, params.neuron
    R = rec.size
    out_u = np.full((B, neurons, R), np.nan)
    out_v = np.full((B, neurons, R), np.nan)
    out_loss = np.full((B, R), np.nan)
    eta = [float(e) for e in schedule.eta]
    passage = torch.full((B, 2), math.nan, device=device, dtype=torch.float64)
    active = torch.ones(B, dtype=torch.bool, device=device)
    loss_sum = torch.zeros(B, device=device, dtype=dtype)
    loss_n = 0
    r = 0
    if rec[0] == 0:
        out_u[:, :, 0] = (W @ ut).cpu().numpy()
        out_v[:, :, 0] = (W @ vt).cpu().numpy()
        r = 1
    for n in tqdm(range(1, int(rec[-1]) + 1), desc=f"torch d={d}", disable=not progress, leave=False):
        x0 = model.sample(B, gen)
        xi = torch.randn(B, d, generator=gen, device=device, dtype=dtype)
        Wn, loss = torch_step(W, x0, xi, nrn.activation, nrn.a, nrn.s, nrn.c, nrn.A,
                              params.lr)
        W = torch.where(active[:, None, None], Wn, W)
        loss_sum += torch.where(active, loss, 0.0)
        loss_n += 1
        au, av = W @ ut, W @ vt
        for e, alpha in ((0, au), (1, av)):
            if not math.isnan(eta[e]):
                hit = (alpha.abs().amax(1) >= eta[e]) & passage[:, e].isnan() & active
                passage[:, e] = torch.where(hit, float(n), passage[:, e])
        if schedule.stop:
            done = torch.ones(B, dtype=torch.bool, device=device)
            for e in (0, 1):
                if not math.isnan(eta[e]):
                    done &= ~passage[:, e].isnan()
            active &= ~done
        if r < R and rec[r] == n:
            keep = _recorded(passage.cpu().numpy(), eta, n) if schedule.stop else np.ones(B, dtype=bool)
            out_u[keep, :, r] = au.cpu().numpy()[keep]
            out_v[keep, :, r] = av.cpu().numpy()[keep]
            out_loss[keep, r] = (loss_sum / loss_n).cpu().numpy()[keep]
            loss_sum.zero_()
            loss_n = 0
            r += 1
            if schedule.stop and not bool(active.any()):
                break
    return out_u, out_v, out_loss, passage.cpu().numpy(), W.cpu().double().numpy()


def _recorded(passage: np.ndarray, eta: list[float], n: int) -> np.ndarray:
    """Mask of the walkers still running at step n.

    Walkers still running at step n (stopped walkers, whose last tracked passage came
    before n, get NaN records, as on the numba backend).
    """
    last = np.zeros(passage.shape[0])
    for e in (0, 1):
        if not math.isnan(eta[e]):
            last = np.maximum(last, np.where(np.isnan(passage[:, e]), np.inf, passage[:, e]))
    return last >= n

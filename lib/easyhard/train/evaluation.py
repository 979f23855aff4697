"""Test denoising loss on real images and on surrogate samples (book: chapters/cifar_simplicity_bias.ipynb, ``sec-cifar-experiment``).

At each noise level t the same eps draws corrupt ``n_eval`` CIFAR-10 test
images and ``n_eval`` fresh surrogate samples, so the two losses are paired:
the standard error of their difference is ``std(l_real,i - l_sur,i) / sqrt(n)``.
Losses are eps-MSE per dimension, ``|eps - eps_hat|^2 / d``, the units of the
Wiener floor ``(a/s)^2 MMSE(a) / d``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from easyhard.config import torch_generator
from easyhard.data.cifar import Cifar10
from easyhard.data.cifar_surrogate import wiener_eps_mse
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.train.config import TrainConfig


@dataclass
class EvalSet:
    """Fixed evaluation inputs: test images, surrogate samples, eps per noise level."""

    t: tuple[int, ...]
    a: np.ndarray
    real: torch.Tensor
    surrogate: torch.Tensor
    eps: torch.Tensor  # (n_t, n, 3, 32, 32), shared by real and surrogate


def make_eval_set(cfg: TrainConfig, test: Cifar10, sur: GaussianSurrogate) -> EvalSet:
    """Draw the evaluation set from ``cfg.eval_seed``.

    It is identical for real and control runs, on any device (it is drawn on the CPU).
    """
    if cfg.n_eval > len(test):
        raise ValueError(f"n_eval must be <= {len(test)} test images, got {cfg.n_eval}")
    gen = torch_generator(cfg.eval_seed)
    idx = torch.randperm(len(test), generator=gen)[: cfg.n_eval]
    real = test.images(idx)
    surrogate = sur.sample(cfg.n_eval, generator=gen).reshape(real.shape)
    eps = torch.randn((len(cfg.eval_t), *real.shape), generator=gen)
    abar = ddpm_alpha_bar(cfg.T, cfg.beta_start, cfg.beta_end)
    a = np.array([float(abar[t - 1].sqrt()) for t in cfg.eval_t])
    return EvalSet(tuple(cfg.eval_t), a, real, surrogate, eps)


def to_device(ev: EvalSet, device: torch.device) -> EvalSet:
    """The evaluation set with its tensors on ``device`` (moved once, not per evaluation)."""
    return EvalSet(ev.t, ev.a, ev.real.to(device), ev.surrogate.to(device), ev.eps.to(device))


def eval_batch(device: torch.device) -> int:
    """Images per forward pass in evaluation: 64 on the CPU, 512 on an accelerator."""
    return 64 if device.type == "cpu" else 512


def autocast(cfg: TrainConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on the device when ``cfg.precision == "bf16"``, else nothing."""
    if cfg.precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def per_image_losses(
    model: nn.Module, x0: torch.Tensor, eps: torch.Tensor, t: int, a: float,
    cfg: TrainConfig, device: torch.device, batch: int | None = None,
) -> torch.Tensor:
    """eps-MSE per dimension of each image, ``|eps - f(a x0 + s eps, t)|^2 / d`` (float64, CPU)."""
    s = float(np.sqrt(1.0 - a * a))
    batch = batch if batch is not None else eval_batch(device)
    out = []
    for i in range(0, len(x0), batch):
        x, e = x0[i : i + batch].to(device), eps[i : i + batch].to(device)
        tt = torch.full((len(x),), t, device=device, dtype=torch.long)
        x_t = a * x + s * e
        if device.type == "cuda":
            x_t = x_t.contiguous(memory_format=torch.channels_last)
        with autocast(cfg, device):
            pred = model(x_t, tt)
        out.append((pred.float() - e).pow(2).flatten(1).mean(1))
    return torch.cat(out).double().cpu()


def evaluate(
    model: nn.Module, ev: EvalSet, cfg: TrainConfig, device: torch.device
) -> dict[str, np.ndarray]:
    """Mean losses per noise level on real and surrogate inputs with their SEs.

    Returns arrays of shape (n_t + 1,): entries for each ``eval_t`` then the
    average over them: ``real``, ``surrogate``, ``se_real``, ``se_surrogate``
    and ``se_diff`` (paired SE of real minus surrogate); and the per-image
    losses ``real_per_image``, ``surrogate_per_image`` of shape (n_t, n_eval).
    """
    was_training = model.training
    model.eval()
    lr, ls = [], []
    for k, (t, a) in enumerate(zip(ev.t, ev.a, strict=True)):
        lr.append(per_image_losses(model, ev.real, ev.eps[k], t, float(a), cfg, device))
        ls.append(per_image_losses(model, ev.surrogate, ev.eps[k], t, float(a), cfg, device))
    model.train(was_training)
    lr_t, ls_t = torch.stack(lr), torch.stack(ls)
    return {**paired_summary(lr_t, ls_t), "real_per_image": lr_t.float().numpy(),
            "surrogate_per_image": ls_t.float().numpy()}


def paired_summary(lr: torch.Tensor, ls: torch.Tensor) -> dict[str, np.ndarray]:
    """Means and SEs from per-image losses (n_t, n); appends the average over t."""
    lr = torch.cat([lr, lr.mean(0, keepdim=True)])
    ls = torch.cat([ls, ls.mean(0, keepdim=True)])
    n = lr.shape[1]

    def se(v: torch.Tensor) -> np.ndarray:
        return (v.std(1) / n**0.5).numpy()

    return {
        "real": lr.mean(1).numpy(), "surrogate": ls.mean(1).numpy(),
        "se_real": se(lr), "se_surrogate": se(ls), "se_diff": se(lr - ls),
    }


def wiener_reference(ev: EvalSet, sur: GaussianSurrogate) -> dict[str, np.ndarray]:
    """The Wiener floor and the Wiener denoiser's measured loss.

    The floor per eval level (and the average) comes from the eigenvalues; the
    Wiener denoiser's eps-MSE is measured on the same real and surrogate inputs.
    """
    lr, ls = [], []
    for k, a in enumerate(ev.a):
        s = float(np.sqrt(1.0 - a * a))
        for x0, out in ((ev.real, lr), (ev.surrogate, ls)):
            x_t = a * x0.double() + s * ev.eps[k].double()
            x0_hat = sur.denoise(x_t.flatten(1), float(a)).reshape(x_t.shape)
            eps_hat = (x_t - a * x0_hat) / s
            out.append((eps_hat - ev.eps[k].double()).pow(2).flatten(1).mean(1))
    summary = paired_summary(torch.stack(lr), torch.stack(ls))
    floor = np.array([wiener_eps_mse(sur, float(a)) for a in ev.a])
    return {
        "floor": np.append(floor, floor.mean()),
        **{f"wiener_{k}": v for k, v in summary.items()},
    }


@torch.no_grad()
def denoise_examples(
    model: nn.Module, ev: EvalSet, cfg: TrainConfig, device: torch.device
) -> np.ndarray:
    """Denoised examples ``x0_hat = (x_t - s eps_hat) / a`` at ``cfg.show_t``.

    For the first ``n_show`` real eval images, as uint8 (n_show, 32, 32, 3).
    """
    abar = ddpm_alpha_bar(cfg.T, cfg.beta_start, cfg.beta_end)
    a = float(abar[cfg.show_t - 1].sqrt())
    s = float(np.sqrt(1.0 - a * a))
    x0 = ev.real[: cfg.n_show].to(device)
    eps = torch.randn(x0.shape, generator=torch_generator(cfg.eval_seed + 1)).to(device)
    if cfg.n_show == 0:
        return np.zeros((0, 32, 32, 3), dtype=np.uint8)
    x_t = a * x0 + s * eps
    was_training = model.training
    model.eval()
    with autocast(cfg, device):
        pred = model(x_t, torch.full((len(x0),), cfg.show_t, device=device, dtype=torch.long))
    model.train(was_training)
    x0_hat = (x_t - s * pred.float()) / a
    return to_uint8(x0_hat)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] (n, 3, H, W) to uint8 (n, H, W, 3)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def parting_step(steps: np.ndarray, gap: np.ndarray, se: np.ndarray, z: float = 2.0) -> int | None:
    """First step from which ``gap > z * se`` holds at every later evaluation (None if never).

    This is the uncontrolled criterion; :func:`easyhard.train.parting.parting` references
    the gap to the control run instead.
    """
    above = gap > z * se
    for i in range(len(steps)):
        if above[i:].all():
            return int(steps[i])
    return None

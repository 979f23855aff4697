"""Figures of the CIFAR-10 simplicity-bias chapter ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from easyhard.plotting import PALETTE

REAL, SURR, FLOOR = PALETTE["blue"], PALETTE["orange"], PALETTE["black"]


def as_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """Images as uint8 (n, H, W, 3): float [-1, 1] (n, 3, H, W) tensors are converted."""
    if isinstance(images, torch.Tensor):
        x = images.detach().float().reshape(len(images), 3, 32, 32).clamp(-1, 1)
        return ((x + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return np.asarray(images)


def image_row(ax: plt.Axes, images: torch.Tensor | np.ndarray, title: str = "") -> None:
    """The images side by side in one axis, 1-pixel white gaps."""
    imgs = as_uint8(images)
    n, h, w, _ = imgs.shape
    strip = np.full((h, n * (w + 1) - 1, 3), 255, dtype=np.uint8)
    for i, img in enumerate(imgs):
        strip[:, i * (w + 1) : i * (w + 1) + w] = img
    ax.imshow(strip, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(title, fontsize=9, loc="left")


def spectrum(ax: plt.Axes, eigvals: torch.Tensor, fit_range: tuple[int, int] = (10, 1000)) -> float:
    """Eigenvalues in decreasing order on log-log axes with a power-law fit
    ``lambda_k ~ k^-alpha`` over ``fit_range``; returns alpha."""
    lam = np.sort(np.asarray(eigvals, dtype=float))[::-1]
    k = np.arange(1, len(lam) + 1)
    lo, hi = fit_range
    slope, icpt = np.polyfit(np.log(k[lo - 1 : hi]), np.log(lam[lo - 1 : hi]), 1)
    ax.loglog(k, lam, color=REAL, lw=1.5, label="eigenvalues of the covariance")
    ax.loglog(k[lo - 1 : hi], np.exp(icpt) * k[lo - 1 : hi] ** slope, "--", color=FLOOR,
              label=rf"fit $k^{{-{-slope:.2f}}}$ for $k\in[{lo},{hi}]$")
    ax.set(xlabel="rank k", ylabel=r"$\lambda_k$")
    ax.legend()
    return float(-slope)


def _steps_axis(ax: plt.Axes) -> None:
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)
    ax.set_xlabel("training step (0, then log)")


def losses(axes: Sequence[plt.Axes], r: Mapping[str, np.ndarray], z: float = 2.0) -> None:
    """Per noise level: test eps-MSE on real images and surrogate samples (bands:
    +- z SE) against training step, with the Wiener floor."""
    steps = r["steps"]
    for j, ax in enumerate(axes):
        for key, colour, label in (("real", REAL, "CIFAR-10 test images"),
                                   ("surrogate", SURR, "surrogate samples")):
            m, se = r[key][:, j], r[f"se_{key}"][:, j]
            ax.plot(steps, m, color=colour, label=label)
            ax.fill_between(steps, m - z * se, m + z * se, color=colour, alpha=0.25, lw=0)
        ax.axhline(r["floor"][j], color=FLOOR, ls="--", lw=1, label="Wiener floor")
        t = f"t = {r['eval_t'][j]}" if j < len(r["eval_t"]) else "average over t"
        ax.set_title(t, fontsize=10)
        ax.set_yscale("log")
        _steps_axis(ax)
    axes[0].set_ylabel("test loss (eps-MSE per dim)")


def gaps(ax: plt.Axes, r: Mapping[str, np.ndarray], z: float = 2.0) -> None:
    """Surrogate minus real loss per noise level, with +- z paired SE bands."""
    steps = r["steps"]
    colours = list(PALETTE.values())
    for j, t in enumerate(r["eval_t"]):
        gap, se = r["surrogate"][:, j] - r["real"][:, j], r["se_diff"][:, j]
        ax.plot(steps, gap, color=colours[j], label=f"t = {t}")
        ax.fill_between(steps, gap - z * se, gap + z * se, color=colours[j], alpha=0.2, lw=0)
    ax.axhline(0, color=FLOOR, lw=0.8)
    ax.set_ylabel("surrogate - real (eps-MSE per dim)")
    _steps_axis(ax)
    ax.legend(ncol=2)


def examples(fig: plt.Figure, r: Mapping[str, np.ndarray], picks: Sequence[int], label: str) -> None:
    """Clean test images, then the network's denoised estimates at a few evaluation steps."""
    axes = fig.subplots(len(picks) + 1, 1)
    image_row(axes[0], r["clean"], "clean test images")
    for ax, i in zip(axes[1:], picks, strict=True):
        image_row(ax, r["examples"][i], f"{label}: denoised from t = {r['show_t']}, step {r['steps'][i]}")

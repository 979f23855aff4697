"""Figures of the CIFAR-10 simplicity-bias chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import torch

from easyhard.data.cifar import Cifar10
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.plotting import PALETTE
from easyhard.stats import excess_kurtosis

if TYPE_CHECKING:
    from easyhard.experiments.cifar_bias import KurtosisStudy

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
    """Draw the eigenvalue spectrum with a power-law fit and return its exponent.

    Eigenvalues in decreasing order on log-log axes with a power-law fit
    ``lambda_k ~ k^-alpha`` over ``fit_range``; returns alpha.
    """
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
    """Draw the real and surrogate test losses against step, one panel per noise level.

    Per noise level: test eps-MSE on real images and surrogate samples (bands:
    +- z SE) against training step, with the Wiener floor.
    """
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


def data_figure(train_set: Cifar10, surrogate: GaussianSurrogate, n: int = 10, seed: int = 0) -> plt.Figure:
    """``n`` evenly spaced training images above ``n`` samples of the surrogate (from ``seed``)."""
    fig = plt.figure(figsize=(8, 2.3), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    image_row(top, train_set.images(slice(0, len(train_set), len(train_set) // n))[:n], "CIFAR-10 training images")
    image_row(bottom, surrogate.sample(n, generator=torch.Generator().manual_seed(seed)),
              "samples of the Gaussian surrogate N(mean, covariance)")
    return fig


def histograms(ax: plt.Axes, real: torch.Tensor, surrogate: torch.Tensor, title: str, bins: int = 60) -> None:
    """Draw the histograms of one projection of CIFAR-10 and of the surrogate.

    Step histograms (log density), labelled with their excess kurtosis.
    """
    lo, hi = float(min(real.min(), surrogate.min())), float(max(real.max(), surrogate.max()))
    edges = np.linspace(lo, hi, bins)
    for x, colour, name in ((real, REAL, "CIFAR-10"), (surrogate, SURR, "surrogate")):
        ax.hist(np.asarray(x), edges, density=True, histtype="step", lw=1.5, color=colour,
                label=f"{name}, excess kurtosis {excess_kurtosis(x):.2f}")
    ax.set(title=title, yscale="log", ylabel="density")
    ax.legend(fontsize=7, loc="lower center")


def kurtosis_figure(study: KurtosisStudy) -> plt.Figure:
    """Figure of the excess kurtosis of CIFAR-10 along principal and random directions.

    Two histogram panels and the excess kurtosis along principal axes (by rank) and along
    random directions (unordered, as unconnected markers at the right).
    """
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
    for ax, (title, real, sur) in zip(axes[:2], study.panels, strict=True):
        histograms(ax, real, sur, title)
    ax = axes[2]
    for (kind, src), values in study.kurtosis.items():
        colour = REAL if src == "real" else SURR
        if kind == "pca":
            ax.plot(np.arange(1, len(values) + 1), values, "o-", ms=3, color=colour, label=f"{src}, principal axes")
        else:
            x = len(values) + 5 + 0.15 * np.random.default_rng(0).standard_normal(len(values))
            ax.plot(x, values, "s", ms=3, mfc="none", color=colour, label=f"{src}, random directions")
    n = len(study.kurtosis["pca", "real"])
    ax.axhline(0, color=FLOOR, lw=0.8)
    ranks = [k for k in (1, 5, 10, 15, 20, 30, 50) if k <= n]
    ax.set_xticks([*ranks, n + 5], [*map(str, ranks), "random"])
    ax.set(xlabel="principal-axis rank", ylabel="excess kurtosis", title=f"along {n} + {n} directions")
    ax.legend(fontsize=7)
    return fig


def loss_figure(r: Mapping[str, np.ndarray], title: str) -> plt.Figure:
    """Figure of the real vs surrogate test loss against step.

    One panel per noise level (:func:`losses`) and one for the average over levels.
    """
    n = len(r["eval_t"]) + 1
    fig, axes = plt.subplots(1, n, figsize=(min(2.9 * n, 12), 3.1), layout="constrained", sharex=True)
    losses(axes, r)
    axes[-1].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def examples_figure(real: Mapping[str, np.ndarray], control: Mapping[str, np.ndarray], show_t: int,
                    steps: Sequence[int] = (0, 80, 200)) -> plt.Figure:
    """Figure of denoised test images of the real-trained and the control net.

    Denoised test images of the real-trained net at the saved evaluation steps nearest to
    ``steps`` and its last, above the control net's at its last step.
    """
    picks = [int(np.searchsorted(real["steps"], s)) for s in (*steps, real["steps"][-1])]
    fig = plt.figure(figsize=(7.5, 9.5), layout="constrained")
    rows = fig.subfigures(2, 1, height_ratios=[len(picks) + 1, 1])
    examples(rows[0], {**real, "show_t": show_t}, picks, "trained on CIFAR-10")
    image_row(rows[1].subplots(), control["examples"][-1], f"control (trained on surrogate): step {control['steps'][-1]}")
    return fig

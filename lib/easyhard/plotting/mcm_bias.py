"""Figures of the chapter "The simplicity bias in the minimal model".

The gap is drawn as surrogate minus MCM loss, the orientation of the CIFAR-10 chapter's
surrogate minus real: positive once the denoiser uses higher-order statistics.

The colours follow the CIFAR-10 chapter: data (here the MCM) blue, surrogate
orange, Wiener floor black dashed; u blue and v orange in the overlap panels.
Steps run on a log axis (0 drawn at the left edge, as in the CIFAR figures).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.experiments.mcm_bias import BiasRun, LabelledRun, staircase
from easyhard.plotting import PALETTE

MCM, SURR, FLOOR = PALETTE["blue"], PALETTE["orange"], PALETTE["black"]


def _steps_axis(ax: plt.Axes, label: str = "training step (0, then log)") -> None:
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)
    ax.set_xlabel(label)


def losses(ax: plt.Axes, r: BiasRun, title: str = "", walkers: bool = True) -> None:
    """Draw the exact test loss on the MCM and on its surrogate against step.

    Median over walkers (thick) and each walker (thin), with the Wiener floor.
    """
    for key, colour, label in (("mcm", MCM, "MCM"), ("surrogate", SURR, "Gaussian surrogate")):
        y = getattr(r, key)
        if walkers:
            ax.plot(r.loss_steps, y.T, color=colour, lw=0.5, alpha=0.35)
        ax.plot(r.loss_steps, np.median(y, 0), color=colour, lw=2, label=f"{label} (median)",
                ls="-" if key == "mcm" else "--")
    ax.axhline(r.floor, color=FLOOR, ls=":", lw=1.2, label="Wiener floor")
    ax.set_ylabel(r"test loss ($x_0$ units, summed over $d$)")
    ax.set_title(title, fontsize=10)
    _steps_axis(ax)


def gaps(ax: plt.Axes, r: BiasRun, v_step: np.ndarray | None = None, title: str = "",
         floor: float = 1e-7) -> None:
    """Draw the surrogate minus MCM loss per walker on a log axis.

    The gain from higher-order statistics; values below ``floor``, including the exact
    zeros, are drawn at ``floor``. Dots mark the step from which each walker uses v.
    """
    gain = np.maximum(r.surrogate - r.mcm, floor)
    colours = list(PALETTE.values())
    for i, g in enumerate(gain):
        ax.plot(r.loss_steps, g, color=colours[i % len(colours)], lw=1)
        if v_step is not None and np.isfinite(v_step[i]):
            k = min(np.searchsorted(r.loss_steps, v_step[i]), len(g) - 1)
            ax.plot(r.loss_steps[k], g[k], "o", color=colours[i % len(colours)], ms=5)
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 2)
    ax.set_ylabel("surrogate - MCM loss")
    ax.set_title(title, fontsize=10)
    _steps_axis(ax)


def overlaps(axes: Sequence[plt.Axes], r: BiasRun, walker: int) -> None:
    """Draw one walker's overlaps with the spikes and between its neurons over time.

    The overlap matrix over time, |w_j . u| and |w_j . v| per neuron (left),
    and the neurons' mutual overlaps w_j . w_k (right).
    """
    styles = ["-", "--", ":", "-."]
    for j in range(r.alpha_u.shape[1]):
        ls = styles[j % len(styles)]
        axes[0].plot(r.steps, np.abs(r.alpha_u[walker, j]), color=PALETTE["blue"], ls=ls,
                     label=rf"$|w_{j + 1}\cdot u|$")
        axes[0].plot(r.steps, np.abs(r.alpha_v[walker, j]), color=PALETTE["orange"], ls=ls,
                     label=rf"$|w_{j + 1}\cdot v|$")
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("overlap")
    axes[0].legend(ncol=2, fontsize=8)
    _steps_axis(axes[0])
    p = r.gram.shape[-1]
    for j in range(p):
        for k in range(j + 1, p):
            axes[1].plot(r.loss_steps, r.gram[walker, :, j, k], label=rf"$w_{j + 1}\cdot w_{k + 1}$")
    axes[1].set_ylim(-1, 1)
    axes[1].set_ylabel("mutual overlap")
    axes[1].legend(ncol=2, fontsize=8)
    _steps_axis(axes[1])


def relative_excess(ax: plt.Axes, steps: np.ndarray, data: np.ndarray, surrogate: np.ndarray,
                    floor: float, labels: tuple[str, str], title: str) -> None:
    """Draw the excess over the Wiener floor, loss / floor - 1, on data and surrogate.

    Unit-free, so a CIFAR-10 run and an MCM run can sit side by side; below 0 means
    below the Wiener floor.
    """
    ax.plot(steps, data / floor - 1.0, color=MCM, lw=2, label=labels[0])
    ax.plot(steps, surrogate / floor - 1.0, color=SURR, lw=2, ls="--", label=labels[1])
    ax.axhline(0.0, color=FLOOR, ls=":", lw=1.2, label="Wiener floor")
    ax.set_ylabel("loss / Wiener floor - 1")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    _steps_axis(ax)


def side_by_side(axes: Sequence[plt.Axes], cifar: Mapping[str, np.ndarray], t: int, r: BiasRun) -> None:
    """The saved CIFAR-10 U-Net run at noise level ``t`` (left) beside the MCM run's median (right)."""
    j = list(np.asarray(cifar["eval_t"])).index(t)
    relative_excess(axes[0], np.asarray(cifar["steps"]), cifar["real"][:, j], cifar["surrogate"][:, j],
                    float(cifar["floor"][j]), ("CIFAR-10 test images", "surrogate samples"),
                    f"U-Net on CIFAR-10, t = {t}")
    relative_excess(axes[1], r.loss_steps, np.median(r.mcm, 0), np.median(r.surrogate, 0), r.floor,
                    ("MCM", "Gaussian surrogate"), f"{r.gram.shape[-1]} tied neurons on the MCM")


def staircase_figure(runs: Sequence[LabelledRun]) -> plt.Figure:
    """Figure with one column per run: the losses above the gain per walker.

    The losses (:func:`losses`) above the gain per walker (:func:`gaps`, a dot where
    the walker uses v from then on).
    """
    fig, axes = plt.subplots(2, len(runs), figsize=(3.6 * len(runs), 6.4), layout="constrained", squeeze=False)
    for col, lr in enumerate(runs):
        losses(axes[0, col], lr.run, f"two tied neurons, {lr.title}")
        gaps(axes[1, col], lr.run, staircase(lr.run).v_used, "gain per walker (dot: v used from here on)")
    axes[0, 0].legend(fontsize=7)
    return fig


def loss_grid(panels: Sequence[tuple[BiasRun, str]], columns: int = 2) -> plt.Figure:
    """:func:`losses` of each ``(run, title)`` in a grid of ``columns`` columns."""
    rows = (len(panels) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(5 * columns, 3.3 * rows), layout="constrained", squeeze=False)
    for ax, (r, title) in zip(axes.flat, panels, strict=False):
        losses(ax, r, title)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    axes[0, 0].legend(fontsize=7)
    return fig

"""Figures of the chapter "Sliding down the stairs: correlated latents"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.plotting import PALETTE

COLORS: dict[str, str] = {"rademacher": PALETTE["orange"], "control": PALETTE["sky"],
                          "flip": PALETTE["purple"], "independent": PALETTE["blue"]}
LABELS: dict[str, str] = {"rademacher": r"$\nu = \mathrm{sign}\,\lambda$", "control": "Gaussian control",
                          "flip": "sign-flip coupling", "independent": "independent"}


def circle_losses(ax: plt.Axes, theta: np.ndarray, data: np.ndarray, surrogate: np.ndarray,
                  marks: Mapping[str, float]) -> None:
    """Draw the excess loss on the unit circle of span(u, v), data and surrogate.

    Excess loss against alpha_v = sin(theta), on the data and on its Gaussian
    surrogate; vertical lines at the named alpha_v values.
    """
    av = np.sin(theta)
    ax.plot(av, data, color=COLORS["rademacher"], label="data (MCM)")
    ax.plot(av, surrogate, color=COLORS["control"], label="Gaussian surrogate")
    styles = iter(("--", ":", "-."))
    for name, x in marks.items():
        ax.axvline(x, color="0.3", ls=next(styles), lw=1, label=f"{name}: {x:.3f}")
    ax.set(xlabel=r"$\alpha_v$ on the circle $\alpha_u^2 + \alpha_v^2 = 1$",
           ylabel=r"$L - L^{\rm iso}$ (x$_0$ units)")
    ax.legend(fontsize=8)


def trajectories(axes: Sequence[plt.Axes], steps: np.ndarray, d: int, curves: Mapping[str, dict],
                 eta: float) -> None:
    """Draw the median overlap with v and the median higher-order gain against n/d.

    Left: median |alpha_v| against n/d per case, with the mean-field flow (dashed);
    right: the median exact gain L_MCM - L_surrogate along the same runs.
    """
    x = steps / d
    for case, c in curves.items():
        axes[0].plot(x[1:], np.median(np.abs(c["alpha_v"]), 0)[1:], color=COLORS[case], label=LABELS[case])
        axes[0].plot(x[1:], np.abs(c["flow"])[1:], "--", color=COLORS[case], lw=1)
        axes[1].plot(x[1:], np.median(c["gain"], 0)[1:], color=COLORS[case], label=LABELS[case])
    axes[0].axhline(eta, color="0.3", lw=0.8, ls=":", label=rf"threshold $\eta$ = {eta}")
    axes[0].set(xscale="log", xlabel="n / d", ylabel=r"median $|\alpha_v|$")
    axes[1].set(xscale="log", xlabel="n / d", ylabel=r"median $L_{\rm MCM} - L_{\rm surrogate}$")
    for ax in axes:
        ax.legend(fontsize=8)


def plateaus(ax: plt.Axes, summaries: Mapping[str, dict], predicted: Mapping[str, np.ndarray],
             population: Mapping[str, float], eta: float) -> None:
    """Draw the stationary overlap with v against d, with its predictions.

    Stationary |alpha_v| (median, 5-95% band) against d per case, the mean-field
    prediction (dashed) and the population minimum (dotted).
    """
    for case, s in summaries.items():
        col = COLORS[case]
        ax.plot(s["dims"], s["median"], "o-", color=col, label=LABELS[case])
        ax.fill_between(s["dims"], s["q05"], s["q95"], color=col, alpha=0.2)
        ax.plot(s["dims"], predicted[case], "--", color=col, lw=1)
        ax.axhline(abs(population[case]), color=col, ls=":", lw=1)
    ax.axhline(eta, color="0.3", lw=0.8, ls="-.", label=rf"$\eta$ = {eta}")
    ax.set(xscale="log", xlabel="d", ylabel=r"plateau $|\alpha_v|$")
    ax.legend(fontsize=8)


def recovery(ax: plt.Axes, sweeps: Mapping[str, object], fit_dims: Mapping[str, Sequence[int]]) -> None:
    """Draw the recovery time of v, divided by d ln d, against d.

    Median first passage / (d ln d) against d per sweep (quartile bars), the
    mean-field flow (dashed) and the noiseless flow (dotted); the legend carries the
    measured slope with its 95% interval and the mean-field flow's slope over the fit dims.
    """
    colors = list(PALETTE.values())
    for i, (name, rec) in enumerate(sweeps.items()):
        col = colors[i % len(colors)]
        dims = rec.dims.astype(float)
        norm = dims * np.log(dims)
        q1, q3 = np.percentile(rec.passage, [25, 75], axis=1)
        med = rec.median
        slope, lo, hi, _ = rec.fit(fit_dims[name])
        ax.errorbar(dims, med / norm, yerr=[(med - q1) / norm, (q3 - med) / norm], fmt="o", color=col,
                    capsize=3, label=f"{name}: {slope:.2f} [{lo:.2f}, {hi:.2f}], flow {rec.flow_slope(fit_dims[name]):.2f}")
        ax.plot(dims, rec.mean_field_steps / norm, "--", color=col, lw=1)
        ax.plot(dims, rec.flow_steps / norm, ":", color=col, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel=r"first passage / $(d \ln d)$")
    ax.legend(fontsize=7)

"""Figures of the chapter "Easy and hard" (data from :mod:`easyhard.experiments.easy_hard`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from easyhard.experiments.easy_hard import Collapse, Curve, log_factor, mean_over_d3, slopes
from easyhard.plotting import PALETTE, label_scale
from easyhard.sgd import SampleComplexity, Trajectories
from easyhard.theory.quartic_escape import QuarticDiffusion

COLORS: list[str] = [PALETTE[k] for k in ("blue", "orange", "green", "red", "purple", "sky", "black", "yellow")]


def trajectories(curves: Mapping[str, Sequence[Curve]], provenance: str) -> plt.Figure:
    """Median |alpha| against n/d (covariance) and n/d^3 (quartic), with the noiseless flow dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), layout="constrained")
    titles = {"covariance": (r"covariance spike $u$, $\delta = 1/\ln d$", "n / d", r"median $|\alpha_u|$"),
              "quartic": (r"quartic spike $v$, $\delta = 0.1/d$", r"n / d$^3$", r"median $|\alpha_v|$")}
    for ax, (case, cs) in zip(axes, curves.items(), strict=True):
        for curve, color in zip(cs, COLORS, strict=False):
            ax.plot(curve.scaled_steps, curve.median, color=color, label=f"d = {curve.d}")
            ax.plot(curve.scaled_steps, curve.flow, "--", color=color, lw=1)
        title, xlabel, ylabel = titles[case]
        ax.set(xscale="log", xlabel=xlabel, ylabel=ylabel, title=title, ylim=(0, 1.02))
        ax.plot([], [], "k--", lw=1, label="noiseless flow")
        ax.legend(fontsize=8)
    label_scale(fig, provenance)
    return fig


def _scaled_median(sc: SampleComplexity, steps: np.ndarray) -> tuple[np.ndarray, str]:
    dims = sc.dims.astype(float)
    if sc.config.get("step_rule") == "log":
        return steps / (dims * log_factor(dims, sc.config["eta"])), r"$n / (d \ln d \ln \eta\sqrt{d})$"
    return steps / dims**3, r"$n / d^3$"


def sweeps(sweeps: Mapping[str, SampleComplexity], provenance: str) -> plt.Figure:
    """Figure of the first-passage sweeps against d, raw and divided by the predicted law.

    Left: median first passage (quartiles) with the flow's prediction dashed, log-log.
    Right: the median divided by the predicted scaling, normalised to 1 at the smallest d
    (linear axis: flat = the predicted law; the flow the same way, dashed).
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), layout="constrained")
    for (label, sc), color in zip(sweeps.items(), COLORS, strict=False):
        med, (q1, q3) = sc.median, sc.quartiles
        raw = slopes(sc)["raw"]
        axes[0].errorbar(sc.dims, med, yerr=[med - q1, q3 - med], fmt="o", color=color, capsize=3,
                         label=f"{label}: slope {raw.slope:.2f} [{raw.lo:.2f}, {raw.hi:.2f}]")
        axes[0].plot(sc.dims, sc.theory_steps, "--", color=color, lw=1)
        scaled, name = _scaled_median(sc, med)
        flow_scaled, _ = _scaled_median(sc, sc.theory_steps)
        axes[1].plot(sc.dims, scaled / scaled[0], "o-", color=color, label=f"{label}: {name}")
        axes[1].plot(sc.dims, flow_scaled / scaled[0], "--", color=color, lw=1)
    axes[0].plot([], [], "k--", lw=1, label="flow (median start)")
    axes[0].set(xscale="log", yscale="log", xlabel="d", ylabel="first-passage step (median, quartiles)")
    axes[1].set(xscale="log", ylim=(0, 2), xlabel="d", ylabel="median scaled passage / value at smallest d")
    for ax in axes:
        ax.legend(fontsize=8)
    label_scale(fig, provenance)
    return fig


def collapse(views: Sequence[Collapse], provenance: str) -> plt.Figure:
    """Empirical CDFs of passage / d^power, one curve per d, one panel per power."""
    fig, axes = plt.subplots(1, len(views), figsize=(5 * len(views), 3.6), layout="constrained", sharey=True)
    for ax, view in zip(np.atleast_1d(axes), views, strict=True):
        for d, row, color in zip(view.dims, view.scaled, COLORS, strict=False):
            finite = np.sort(row[np.isfinite(row)])  # walkers that never passed stay above
            ax.step(finite, np.arange(1, finite.size + 1) / row.size, where="post", color=color,
                    label=f"d = {d}")
        slope, lo, hi = view.drift
        ax.set(xscale="log", xlabel=f"first passage / d$^{{{view.power:g}}}$",
               title=f"median $\\propto d^{{{slope:.2f}}}$ [{lo:.2f}, {hi:.2f}]; AD p = {view.pvalue:.2g}")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    np.atleast_1d(axes)[0].set_ylabel("fraction of walkers")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    label_scale(fig, provenance)
    return fig


def step_size(measured: Mapping[str, tuple[SampleComplexity, float]], theory: Mapping[float, QuarticDiffusion],
              eta: float, provenance: str, d_max: float = 1e4) -> plt.Figure:
    """Figure of the mean first passage / d^3 against d for each step constant.

    Mean first passage / d^3 against d for each step constant, with the rescaled diffusion's
    mean (lines, to ``d_max``; the d -> infinity limit as a dotted line) and, shaded, the d whose
    exit level ``d eta^2`` lies inside the noise band of the largest c.
    """
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    grid = np.geomspace(8, d_max, 60).round()
    colors = {c: color for c, color in zip(sorted(theory), (PALETTE["blue"], PALETTE["red"], PALETTE["green"]),
                                           strict=False)}
    for c, q in sorted(theory.items()):
        ax.plot(grid, q.mean_steps_over_d3(grid, eta), color=colors[c], lw=1.2,
                label=f"c = {c:g}: rescaled diffusion (c* = {q.critical_step:.3f})")
        ax.axhline(q.mean_steps_over_d3([np.inf], eta)[0], color=colors[c], ls=":", lw=1)
    band = theory[max(theory)].noise_band()
    if band is not None:
        ax.axvspan(band[0] / eta**2, band[1] / eta**2, color="0.9", zorder=0,
                   label=rf"exit $d\eta^2$ inside the noise band of c = {max(theory):g}")
    markers = iter("osD^v")
    for label, (sc, c) in measured.items():
        mean, se = mean_over_d3(sc, censored="nan")
        ax.errorbar(sc.dims, mean, yerr=2 * se, fmt=next(markers), color=colors.get(c, "k"), capsize=3,
                    ms=5, mfc="white", label=f"{label} (mean $\\pm$ 2 SE)")
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel=r"mean first passage / $d^3$")
    ax.legend(fontsize=7.5, loc="lower right")
    label_scale(fig, provenance)
    return fig


def large_d(effective: Mapping[float, SampleComplexity], exact: Mapping[str, tuple[SampleComplexity, float]],
            theory: Mapping[float, QuarticDiffusion], eta: float, provenance: str) -> plt.Figure:
    """Figure of the mean first passage / d^3 at large d, effective engine against theory.

    Mean first passage / d^3 (uniform start) against d: the effective engine (open squares),
    exact runs where they exist (filled circles) and the rescaled diffusion (lines).
    """
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    colors = dict(zip(sorted(theory), (PALETTE["blue"], PALETTE["red"], PALETTE["green"]), strict=False))
    d_max = max(float(sc.dims[-1]) for sc in effective.values()) if effective else 1e4
    grid = np.geomspace(8, d_max, 60).round()
    for c, q in sorted(theory.items()):
        ax.plot(grid, q.mean_steps_over_d3(grid, eta, start="uniform"), color=colors[c], lw=1.2,
                label=f"c = {c:g}: rescaled diffusion")
    for c, sc in effective.items():
        mean, se = mean_over_d3(sc, censored="nan")
        ax.errorbar(sc.dims, mean, yerr=2 * se, fmt="s", mfc="white", ms=5, capsize=3,
                    color=colors.get(c, "k"), label=f"c = {c:g}: effective engine")
    for label, (sc, c) in exact.items():
        mean, se = mean_over_d3(sc, censored="nan")
        ax.errorbar(sc.dims, mean, yerr=2 * se, fmt="o", ms=5, capsize=3, color=colors.get(c, "k"),
                    label=label)
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel=r"mean first passage / $d^3$ ($\pm$ 2 SE)")
    ax.legend(fontsize=7.5, loc="lower right")
    label_scale(fig, provenance)
    return fig


def engine_agreement(runs: Mapping[str, Trajectories], spike: str, pvalue: float, provenance: str) -> plt.Figure:
    """Mean and s.d. of |alpha| over time, and the law of first passage, per engine."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    for (name, tr), color in zip(runs.items(), (PALETTE["blue"], PALETTE["orange"]), strict=True):
        al = np.abs((tr.alpha_u if spike == "u" else tr.alpha_v)[:, 0])
        mean, sd = al.mean(0), al.std(0)
        axes[0].plot(tr.steps, mean, color=color, label=f"{name} engine")
        axes[0].fill_between(tr.steps, mean - sd, mean + sd, color=color, alpha=0.2)
        axes[1].ecdf(tr.passage[spike], color=color, label=name)
    eta = next(iter(runs.values())).config["thresholds"][spike]
    axes[0].set(xscale="log", xlabel="step n", ylabel=rf"$|\alpha_{spike}|$ (mean $\pm$ sd)")
    axes[1].set(xscale="log", xlabel=rf"first passage to $|\alpha_{spike}| \geq {eta:g}$",
                ylabel="fraction of walkers", title=f"two-sample KS p = {pvalue:.2g}")
    axes[0].legend()
    label_scale(fig, provenance)
    return fig


def cost(dims: Sequence[int], ns: Mapping[str, Sequence[float]], provenance: str) -> plt.Figure:
    """Nanoseconds per walker-step against d, per engine."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    for (name, values), color in zip(ns.items(), COLORS, strict=False):
        ax.plot(dims, values, "o-", color=color, label=f"{name} engine")
    ax.set(xscale="log", yscale="log", xlabel="d", ylabel="ns per walker-step")
    ax.legend()
    label_scale(fig, provenance)
    return fig

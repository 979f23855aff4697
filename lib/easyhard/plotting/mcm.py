"""Figures of the mixed cumulant model chapter: projections, histograms, small multiples, explorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import scipy.stats
import torch

from easyhard.data.mcm import MixedCumulantModel
from easyhard.plotting import PALETTE
from easyhard.stats import kstats, project

if TYPE_CHECKING:
    from easyhard.experiments.mcm_model import CorrelatedSweep, Kappa4Sweep, Spectrum


def random_unit_vector(d: int, seed: int) -> torch.Tensor:
    """A uniformly random unit vector in R^d (float64)."""
    g = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return g / g.norm()


def plane_scatter(
    ax: plt.Axes, p1: np.ndarray, p2: np.ndarray, color: str, max_points: int = 4000
) -> None:
    """Scatter of two projections, thinned to ``max_points`` points."""
    k = min(max_points, len(p1))
    ax.scatter(p1[:k], p2[:k], s=2, alpha=0.35, color=color, rasterized=True)
    ax.set_aspect("equal")


def histogram_vs_gaussian(
    ax: plt.Axes, p: np.ndarray, color: str, label: str, bins: int = 80
) -> None:
    """Density histogram of a projection with the Gaussian of equal mean and variance."""
    ax.hist(p, bins=bins, density=True, color=color, alpha=0.6, label=label)
    grid = np.linspace(p.min(), p.max(), 400)
    ax.plot(
        grid,
        scipy.stats.norm.pdf(grid, p.mean(), p.std()),
        color="k",
        lw=1,
        label="Gaussian, same var.",
    )
    ax.set_yticks([])


def plane_panels(model: MixedCumulantModel, x: torch.Tensor, seed: int = 0) -> plt.Figure:
    """Samples in the (u, v) plane and in a random plane."""
    pu, pv = project(x, model.u), project(x, model.v)
    r1, r2 = random_unit_vector(model.d, seed), random_unit_vector(model.d, seed + 1)
    pr1, pr2 = project(x, r1), project(x, r2)
    fig, top = plt.subplots(1, 2, figsize=(10, 4.4), sharex=True, sharey=True, layout="constrained")
    plane_scatter(top[0], pu, pv, PALETTE["blue"])
    top[0].set(xlabel=r"$u\cdot x_0$ (covariance spike)", ylabel=r"$v\cdot x_0$ (cumulant spike)")
    top[0].set_title("spike plane")
    plane_scatter(top[1], pr1, pr2, PALETTE["sky"])
    top[1].set(xlabel=r"$r_1\cdot x_0$", ylabel=r"$r_2\cdot x_0$")
    top[1].set_title("a random plane")
    return fig


def projection_histograms(model: MixedCumulantModel, x: torch.Tensor, seed: int = 0) -> plt.Figure:
    """Histograms of u.x, v.x and r.x (r random) against the Gaussian of equal variance."""
    r = random_unit_vector(model.d, seed)
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.8), layout="constrained")
    for ax, direction, color, name in zip(
        axes,
        (model.u, model.v, r),
        (PALETTE["blue"], PALETTE["orange"], PALETTE["sky"]),
        ("u", "v", "r"),
        strict=True,
    ):
        histogram_vs_gaussian(ax, project(x, direction), color, rf"${name}\cdot x_0$")
        ax.set_title(rf"along ${name}$")
    axes[0].legend(loc="upper left", fontsize=7)
    return fig


def small_multiples(
    d: int,
    n: int,
    beta_vs: Sequence[float] = (0.0, 2.0, 10.0),
    latents: Sequence[str] = ("rademacher", "skewed", "three_point", "gaussian"),
    beta_u: float = 3.0,
    p_corr: float = 0.0,
    seed: int = 0,
) -> plt.Figure:
    """Histograms of v.x0 for a grid of cumulant strengths (rows) and latent laws (columns)."""
    fig, axes = plt.subplots(
        len(beta_vs),
        len(latents),
        figsize=(2.4 * len(latents), 1.9 * len(beta_vs)),
        sharex=True,
        layout="constrained",
        squeeze=False,
    )
    for i, beta_v in enumerate(beta_vs):
        for j, latent in enumerate(latents):
            model = MixedCumulantModel(
                d, beta_u=beta_u, beta_v=beta_v, latent=latent, p_corr=p_corr, seed=seed
            )
            pv = project(model.sample(n), model.v)
            ax = axes[i, j]
            histogram_vs_gaussian(ax, pv, PALETTE["orange"], "v.x0", bins=60)
            ax.set_title(
                f"{latent}, "
                + rf"$\beta_v$={beta_v:g}"
                + "\n"
                + rf"$\kappa_4$={model.kappa4_v():.2f}",
                fontsize=8,
            )
    for ax in axes[-1]:
        ax.set_xlabel(r"$v\cdot x_0$")
    return fig


def mcm_explorer(d: int = 64, n: int = 20_000, seed: int = 0):
    """An ipywidgets explorer: sliders for beta_u, beta_v, p_corr and a latent menu.

    Redraws the (u, v)-plane scatter and the histogram of v.x0 with the
    analytic rho and kappa_4(v.x0) in the title.
    """
    import ipywidgets as widgets

    def draw(beta_u: float, beta_v: float, latent: str, p_corr: float) -> None:
        model = MixedCumulantModel(
            d, beta_u=beta_u, beta_v=beta_v, latent=latent, p_corr=p_corr, seed=seed
        )
        x = model.sample(n)
        pu, pv = project(x, model.u), project(x, model.v)
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
        plane_scatter(left, pu, pv, PALETTE["blue"])
        left.set(xlabel=r"$u\cdot x_0$", ylabel=r"$v\cdot x_0$", title=rf"$\rho$ = {model.rho:.3f}")
        histogram_vs_gaussian(right, pv, PALETTE["orange"], r"$v\cdot x_0$", bins=60)
        right.set_title(
            rf"$\kappa_4(v\cdot x_0)$ = {model.kappa4_v():.3f}, $\kappa_3$ = {model.kappa3_v():.3f}"
        )
        plt.show()

    return widgets.interactive(
        draw,
        beta_u=widgets.FloatSlider(value=3.0, min=0.0, max=10.0, step=0.5, description="beta_u"),
        beta_v=widgets.FloatSlider(value=5.0, min=0.0, max=20.0, step=0.5, description="beta_v"),
        latent=widgets.Dropdown(
            options=["rademacher", "skewed", "three_point", "gaussian"], description="latent"
        ),
        p_corr=widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="p_corr"),
    )


def spectrum_figure(spec: Spectrum) -> plt.Figure:
    """Figure of the sample covariance spectrum against the Marchenko-Pastur bulk.

    Eigenvalues of the sample covariance by rank, the Marchenko-Pastur bulk, and the
    Rayleigh quotients of ``u`` (outside the bulk) and ``v`` (inside it).
    """
    fig, ax = plt.subplots(figsize=(7, 3.2), layout="constrained")
    ranks = np.arange(1, len(spec.eigvals) + 1)
    ax.plot(ranks, spec.eigvals[::-1], "o", ms=3, color=PALETTE["black"], label="eigenvalues of the sample covariance")
    ax.axhspan(*spec.mp, color=PALETTE["sky"], alpha=0.3, label="Marchenko-Pastur bulk (noise only)")
    ax.axhline(spec.rayleigh_u, color=PALETTE["blue"], ls="--", label=rf"$u^\top \hat C u$ = {spec.rayleigh_u:.2f}")
    ax.axhline(spec.rayleigh_v, color=PALETTE["orange"], ls=":", label=rf"$v^\top \hat C v$ = {spec.rayleigh_v:.2f}")
    ax.set(xscale="log", xlabel="rank", ylabel="eigenvalue", title="covariance spectrum: $u$ visible, $v$ invisible")
    ax.legend(fontsize=8)
    return fig


def kappa4_figure(sweep: Kappa4Sweep) -> plt.Figure:
    """Figure of the fourth cumulant ``kappa_4(v.x0)`` against ``beta_v``.

    The theory (:meth:`MixedCumulantModel.kappa4_v` on a grid) and the k-statistics
    with 2 SE bars.
    """
    grid = np.geomspace(0.1, 40, 200)
    theory = [MixedCumulantModel(2, beta_u=0.0, beta_v=float(b), latent=sweep.latent, seed=0).kappa4_v() for b in grid]
    fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    ax.plot(grid, theory, color=PALETTE["black"], label=r"theory $(\beta_v/(1+\beta_v))^2\,\kappa_4(\nu)$")
    ax.errorbar(sweep.beta_v, sweep.estimate, yerr=2 * sweep.se, fmt="o", color=PALETTE["orange"],
                label="k-statistic, 2 SE")
    ax.set(xscale="log", xlabel=r"$\beta_v$", ylabel=r"$\kappa_4(v\cdot x_0)$",
           title=f"fourth cumulant along $v$, {sweep.latent} latent")
    ax.legend()
    return fig


def correlated_figure(sweep: CorrelatedSweep) -> plt.Figure:
    """Figure of the covariance of the two spikes and the tilt of the top principal component.

    Left: ``Cov(u.x0, v.x0)`` against ``p_corr`` with ``rho``; right: the top principal
    component's overlap with ``v`` against the analytic tilt.
    """
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained")
    left.plot(sweep.p_corr, sweep.rho, color=PALETTE["black"], label=r"$\rho$ (theory)")
    left.errorbar(sweep.p_corr, sweep.cov, yerr=2 * sweep.se, fmt="o", color=PALETTE["green"],
                  label=r"sample Cov$(u\cdot x_0, v\cdot x_0)$, 2 SE")
    left.set(xlabel=r"$p_{\rm corr}$", ylabel="covariance", title="off-diagonal covariance")
    left.legend()
    right.plot(sweep.p_corr, sweep.tilt_theory, color=PALETTE["black"], label=r"$\sin\theta$ (theory)")
    right.plot(sweep.p_corr, sweep.tilt, "o", color=PALETTE["purple"], label="top eigenvector $\\cdot\\, v$")
    right.set(xlabel=r"$p_{\rm corr}$", ylabel="overlap with $v$", title="the top principal component tilts towards $v$")
    right.legend()
    return fig


def surrogate_figure(data_v: np.ndarray, surrogate_v: np.ndarray) -> plt.Figure:
    """Figure of the histograms of ``v.x0`` for the data and for its Gaussian surrogate.

    Each panel carries its fourth cumulant (k-statistic) in the title.
    """
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), layout="constrained")
    for ax, p, colour, name in ((axes[0], data_v, PALETTE["orange"], "data"),
                                (axes[1], surrogate_v, PALETTE["sky"], "surrogate")):
        histogram_vs_gaussian(ax, p, colour, "MCM data" if name == "data" else name)
        ax.set_title(rf"{name} along $v$: $\kappa_4$ = {kstats(p)[3]:.2f}")
    axes[0].legend(fontsize=7)
    return fig

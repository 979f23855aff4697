"""Figures of the information-exponent chapter.

The one-dimensional loss, the Hermite coefficients g_k(a), the exact landscape and
the leading power along each spike.

Book: chapters/information_exponent.ipynb.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from easyhard.diffusion import ddpm_alpha_bar
from easyhard.plotting import PALETTE
from easyhard.theory.hermite import hermite_coefficients, population_loss_1d

#: below this, a coefficient counts as exactly zero (odd orders of odd activations)
ZERO = 1e-12
_TITLES = {"tanh": r"$\tanh$", "erf": r"$\mathrm{erf}(h/\sqrt{2})$", "relu": "ReLU"}


def coefficient_table(
    activations: Sequence[str], a_grid: np.ndarray, kmax: int = 6, A: float = 1.0
) -> dict[str, np.ndarray]:
    """``{activation: g}`` with ``g[i, k] = g_k(a_grid[i])`` (c = a, amplitude ``A``)."""
    return {
        act: np.array([hermite_coefficients(act, float(a), A=A, kmax=kmax) for a in a_grid])
        for act in activations
    }


def _ddpm_axis(ax: plt.Axes) -> None:
    """A top axis with the DDPM step t whose a_t = sqrt(abar_t) is the bottom axis' a."""
    a_t = np.sqrt(ddpm_alpha_bar().numpy())
    steps = np.arange(1, a_t.size + 1, dtype=float)
    top = ax.secondary_xaxis(
        "top",
        functions=(lambda a: np.interp(a, a_t[::-1], steps[::-1]), lambda t: np.interp(t, steps, a_t)),
    )
    top.set_xticks([750, 500, 315, 150, 50])
    top.set_xlabel("DDPM step $t$", fontsize=8)


def hermite_panels(
    g: dict[str, np.ndarray], a_grid: np.ndarray, kmax: int = 6
) -> plt.Figure:
    """Two rows, one column per activation: g_k / max|g_k| (signs and zeros), and |g_k| on a log axis.

    The log row shows the sizes the normalised row hides (|g_2| is 20-250 times
    |g_4| for tanh). Grey bands mark where g_2 > 0 (a covariance spike is not
    learnable) and hatched bands where g_4 < 0 (a spike with negative kappa_4,
    like the Rademacher one, is not learnable).
    """
    acts = list(g)
    fig, axes = plt.subplots(
        2, len(acts), figsize=(3.4 * len(acts), 6.2), sharex=True, layout="constrained"
    )
    axes = np.asarray(axes).reshape(2, len(acts))
    for col, act in enumerate(acts):
        gk = g[act]
        top, bottom = axes[:, col]
        size = np.abs(gk).max(axis=0)
        for k in range(1, kmax + 1):
            style = dict(lw=1.6, ls="-" if k % 2 == 0 else "--", color=f"C{k - 1}")
            if size[k] <= ZERO:
                top.plot([], [], label=f"$g_{k} = 0$", **style)
                continue
            top.plot(a_grid, gk[:, k] / size[k], label=f"$g_{k}$", **style)
            bottom.semilogy(a_grid, np.where(np.abs(gk[:, k]) > ZERO, np.abs(gk[:, k]), np.nan), **style)
        for ax in (top, bottom):
            ax.fill_between(a_grid, 0, 1, where=gk[:, 2] > 0, color="0.6", alpha=0.3,
                            transform=ax.get_xaxis_transform(), lw=0)
            if size[4] > ZERO:
                ax.fill_between(a_grid, 0, 1, where=gk[:, 4] < 0, facecolor="none", hatch="//",
                                edgecolor="0.5", transform=ax.get_xaxis_transform(), lw=0)
        top.axhline(0, color="0.4", lw=0.8)
        top.set_title(_TITLES.get(act, act))
        _ddpm_axis(top)
        bottom.set_xlabel("noise level $a$ (signal coefficient)")
        top.legend(fontsize=8, ncol=2, title="solid: even $k$, dashed: odd", title_fontsize=8)
    axes[0, 0].set_ylabel(r"$g_k(a)\,/\,\max_a |g_k|$")
    axes[1, 0].set_ylabel(r"$|g_k(a)|$ (log scale)")
    return fig


def one_dimensional_loss(activation: str, levels: Sequence[float], p: np.ndarray | None = None) -> plt.Figure:
    """G_t(p) of the tied neuron (c = a, A = 1) for each noise level of ``levels`` (at most three)."""
    p = np.linspace(-4, 4, 201) if p is None else np.asarray(p, float)
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    for a, colour in zip(levels, (PALETTE["blue"], PALETTE["orange"], PALETTE["green"]), strict=False):
        ax.plot(p, population_loss_1d(activation, a)(p), color=colour, label=f"$a$ = {a}")
    ax.set(xlabel=r"$p = w\cdot x_0$", ylabel=r"$G_t(p)$",
           title=f"The one-dimensional loss ({activation}, $c = a$, $A = 1$)")
    ax.legend()
    return fig


def landscape_panels(alphas: np.ndarray, panels: Mapping[Any, np.ndarray], titles: Sequence[str]) -> plt.Figure:
    """One panel per landscape ``L[i, j]`` at (alpha_u, alpha_v) = (alphas[j], alphas[i]), one colour scale."""
    AU, AV = np.meshgrid(alphas, alphas)
    norm = plt.Normalize(min(L.min() for L in panels.values()), max(L.max() for L in panels.values()))
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4.4), sharey=True, layout="constrained")
    axes = np.atleast_1d(axes)
    for ax, L, title in zip(axes, panels.values(), titles, strict=True):
        im = ax.pcolormesh(AU, AV, L, cmap="viridis", norm=norm, shading="auto")
        ax.contour(AU, AV, L, levels=15, colors="white", linewidths=0.6, linestyles="solid")
        ax.grid(False)
        ax.set(title=title, xlabel=r"$\alpha_u$", aspect="equal")
    axes[0].set_ylabel(r"$\alpha_v$")
    fig.colorbar(im, ax=axes, shrink=0.8, label=r"$L_t - L_t^{\mathrm{iso}}$ (one colour scale)")
    return fig


def leading_powers(powers: Sequence[Any], activation: str) -> plt.Figure:
    """Log-log ``|L_t(alpha) - L_t(0)|`` along each spike, one line per entry of ``powers``.

    ``powers``: records with ``a``, ``spike`` (``"covariance"`` or ``"cumulant"``),
    ``alphas``, ``loss`` and ``slope`` (:func:`easyhard.experiments.information_exponent.leading_powers`);
    solid for the first noise level, dashed for the others.
    """
    colours = {"covariance": PALETTE["blue"], "cumulant": PALETTE["orange"]}
    first = powers[0].a if powers else None
    fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
    for p in powers:
        ax.loglog(p.alphas, p.loss, "-" if p.a == first else "--", color=colours[p.spike],
                  label=f"{p.spike}, $a$ = {p.a}: slope {p.slope:.3f}")
    ax.set(xlabel=r"overlap $\alpha$", ylabel=r"$|L_t(\alpha) - L_t(0)|$",
           title=f"Leading power along each spike ({activation})")
    ax.legend(fontsize=8)
    return fig

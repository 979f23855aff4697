"""Figures of the information-exponent chapter: the Hermite coefficients g_k(a).

Book: chapters/information_exponent.ipynb, section ``sec-ie-hermite``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.diffusion import ddpm_alpha_bar
from easyhard.theory.hermite import hermite_coefficients

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

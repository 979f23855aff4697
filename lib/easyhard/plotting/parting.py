"""Figures of the control-referenced parting (:mod:`easyhard.train.parting`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.plotting import PALETTE
from easyhard.train.parting import excess_gap, gap, refinetti

Arrays = Mapping[str, np.ndarray]
SEED_COLOURS = (PALETTE["blue"], PALETTE["red"], PALETTE["green"], PALETTE["purple"], PALETTE["sky"])


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` where ``b > 0``, nan elsewhere (step 0: both losses equal, SE 0)."""
    return np.divide(a, b, out=np.full(np.shape(a), np.nan), where=np.asarray(b) > 0)


def _axis(ax: plt.Axes, z: float, title: str) -> None:
    ax.axhline(z, color=PALETTE["black"], ls="--", lw=1)
    ax.axhline(0, color=PALETTE["black"], lw=0.6)
    ax.set_xscale("symlog", linthresh=1.0)
    ax.set_xlim(left=0)
    ax.set(xlabel="training step (0, then log)", title=title)


def excess(axes: Sequence[plt.Axes], pairs: Sequence[tuple[Arrays, Arrays]], z: float = 4.0,
           weights: str = "raw") -> None:
    """Per noise level: the real-trained net's gap minus the control's, in SE (solid, one
    colour per seed), and the control's own gap in paired SE (dotted); dashed: ``z``."""
    for k, (real, ctrl) in enumerate(pairs):
        ex, se, _ = excess_gap(real, ctrl, weights)
        g_c, se_c = gap(ctrl, weights)
        colour = SEED_COLOURS[k % len(SEED_COLOURS)]
        for j, ax in enumerate(axes):
            ax.plot(real["steps"], _ratio(ex[:, j], se[:, j]), color=colour, label=f"pair {k}: real-trained - control")
            ax.plot(real["steps"], _ratio(g_c[:, j], se_c[:, j]), ":", color=colour, label=f"pair {k}: control alone")
    for j, ax in enumerate(axes):
        _axis(ax, z, f"t = {pairs[0][0]['eval_t'][j]}")
    axes[0].set_ylabel("gap (surrogate - real) in SE")


def comparison(axes: Sequence[plt.Axes], pairs: Sequence[tuple[Arrays, Arrays]], z: float = 4.0,
               weights: str = "raw") -> None:
    """Per noise level: control net minus real-trained net on the same real test images,
    ``(L^C_real - L^R_real) / SE``, one colour per pair; dashed: ``z``."""
    for k, (real, ctrl) in enumerate(pairs):
        c = refinetti(real, ctrl, z=z, weights=weights)
        for j, ax in enumerate(axes):
            ax.plot(c.steps, _ratio(c.diff[:, j], c.se[:, j]), color=SEED_COLOURS[k % len(SEED_COLOURS)],
                    label=f"pair {k}" + ("" if c.paired else " (unpaired SE)"))
    for j, ax in enumerate(axes):
        _axis(ax, z, f"t = {pairs[0][0]['eval_t'][j]}")
    axes[0].set_ylabel("control - real-trained, real images (SE)")

"""Figures of the control-referenced parting (:mod:`easyhard.train.parting`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.plotting import PALETTE
from easyhard.train.parting import Parting, SeedAverage, excess_gap, gap, refinetti

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
    """Draw, per noise level, the real-trained net's gap minus the control's, in SE.

    Solid, one colour per seed; the control's own gap in paired SE (dotted);
    dashed: ``z``.
    """
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
    """Draw, per noise level, the control net's loss minus the real-trained net's, in SE.

    On the same real test images, ``(L^C_real - L^R_real) / SE``, one colour per pair;
    dashed: ``z``.
    """
    for k, (real, ctrl) in enumerate(pairs):
        c = refinetti(real, ctrl, z=z, weights=weights)
        for j, ax in enumerate(axes):
            ax.plot(c.steps, _ratio(c.diff[:, j], c.se[:, j]), color=SEED_COLOURS[k % len(SEED_COLOURS)],
                    label=f"pair {k}" + ("" if c.paired else " (unpaired SE)"))
    for j, ax in enumerate(axes):
        _axis(ax, z, f"t = {pairs[0][0]['eval_t'][j]}")
    axes[0].set_ylabel("control - real-trained, real images (SE)")


def pair_figure(pairs: Sequence[tuple[Arrays, Arrays]], z: float = 4.0) -> plt.Figure:
    """:func:`excess` above :func:`comparison`, one column per noise level."""
    n_t = len(pairs[0][0]["eval_t"])
    fig, axes = plt.subplots(2, n_t, figsize=(min(2.9 * n_t, 12), 5.6), layout="constrained", sharex=True,
                             squeeze=False)
    excess(axes[0], pairs, z=z)
    comparison(axes[1], pairs, z=z)
    axes[0][-1].legend(fontsize=6)
    fig.suptitle("Top: gap of the real-trained net minus the control's (solid), control alone (dotted), in SE.\n"
                 f"Bottom: control minus real-trained net on the same real test images. Dashed: {z:g} SE",
                 fontsize=9)
    return fig


def spread(ax: plt.Axes, partings: Sequence[Parting], seeds: Sequence[int], last: int) -> None:
    """Draw the parting step against the noise level t, one marker per seed.

    A level that does not part within the run (of ``last`` steps) is drawn as an open
    marker at ``last``.
    """
    for k, (p, seed) in enumerate(zip(partings, seeds, strict=True)):
        colour = SEED_COLOURS[k % len(SEED_COLOURS)]
        shift = 1 + 0.03 * (k - (len(partings) - 1) / 2)  # side by side on the log axis
        t = np.array(p.eval_t, dtype=float) * shift
        hit = np.array([s is not None for s in p.step])
        steps = np.array([s if s is not None else last for s in p.step], dtype=float)
        ax.plot(t[hit], steps[hit], "o", color=colour, label=f"seed {seed}")
        ax.plot(t[~hit], steps[~hit], "o", mfc="none", color=colour)
    ax.axhline(last, color=PALETTE["black"], ls=":", lw=1, label="end of run (open: not parted)")
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xscale("log")
    ax.set_xticks(partings[0].eval_t, [str(t) for t in partings[0].eval_t])
    ax.minorticks_off()
    ax.set_ylim(0.5, 2.5 * last)
    ax.set(xlabel="noise level t", ylabel="parting step",
           title=f"parting step per seed ({len(partings)} seed{'s' if len(partings) > 1 else ''})")
    ax.legend(fontsize=7, loc="lower right")


def seed_average(axes: Sequence[plt.Axes], avg: SeedAverage, z: float = 3.0) -> None:
    """Draw, per noise level, the seed mean of control minus real-trained net, in seed SE.

    ``m / SE`` of :class:`~easyhard.train.parting.SeedAverage` on the same real test
    images; dashed: ``+-z``; dotted: the step from which every seed's net is ahead.
    """
    for j, ax in enumerate(axes):
        ax.plot(avg.steps, _ratio(avg.mean[:, j], avg.se[:, j]), "o-", ms=3, color=PALETTE["blue"],
                label=f"mean of {avg.n_seeds} seeds / seed SE")
        ax.axhline(-z, color=PALETTE["black"], ls="--", lw=1)
        if avg.all_seeds_step[j] is not None:
            ax.axvline(avg.all_seeds_step[j], color=PALETTE["red"], ls=":", lw=1.2,
                       label="every seed's net ahead from")
        _axis(ax, z, f"t = {avg.eval_t[j]}")
        ax.set_yscale("symlog", linthresh=1.0)
        ticks = [-10, -z, 0, z, 10, 100]
        ax.set_yticks(ticks, [f"{v:g}" for v in ticks])
        ax.minorticks_off()
    axes[0].set_ylabel("control - real-trained (seed SE)")
    axes[0].legend(fontsize=6, loc="upper left")

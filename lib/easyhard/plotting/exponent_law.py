"""Figures of the chapter "One law for every exponent"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from easyhard.plotting import PALETTE

COLOURS: tuple[str, ...] = ("blue", "orange", "green", "red", "purple", "sky")


def passages(ax: plt.Axes, runs: Mapping[str, Mapping[str, np.ndarray]],
             rows: Mapping[str, Mapping[str, Any]] | None = None,
             live: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> None:
    """Draw the median first-passage steps against d, log-log, with the mean-field escape.

    Median first-passage steps (quartile bars) against d, one colour per run,
    with the mean-field escape dashed (black) beside each; ``live``: runs of the current
    scale drawn as open markers in the same colour.
    """
    for i, (label, arr) in enumerate(runs.items()):
        col = PALETTE[COLOURS[i % len(COLOURS)]]
        d, p = arr["dims"], arr["passage"]
        med = np.median(p, axis=1)
        q = np.percentile(p, [25, 75], axis=1)
        text = label
        if rows is not None and label in rows:
            r = rows[label]
            text += f": slope {r['slope']:.2f} [{r['lo']:.2f}, {r['hi']:.2f}], mean field {r['mean_field']:.2f}"
        ax.errorbar(d, med, yerr=[med - q[0], q[1] - med], fmt="o-", color=col, ms=4, capsize=2, label=text)
        ax.plot(d, arr["theory_steps"], "--", color="k", lw=1)
        if live is not None and label in live:
            la = live[label]
            ax.plot(la["dims"], np.median(la["passage"], axis=1), "s", mfc="none", color=col, ms=7)
    ax.set(xscale="log", yscale="log", xlabel="dimension $d$", ylabel="steps to $|\\alpha| \\geq \\eta$")
    ax.legend(fontsize=8, loc="upper left")


def invariance(ax: plt.Axes, runs: Mapping[str, Mapping[str, np.ndarray]], power: Sequence[float]) -> None:
    """Draw the median passage divided by a power of d against d, one curve per run.

    Median passage divided by ``d^power`` (one power per run; a callable of d is also
    accepted) against d for each run, with the mean-field prediction (same division) dashed
    in the same colour.
    """
    for i, ((label, arr), pw) in enumerate(zip(runs.items(), power, strict=True)):
        col = PALETTE[COLOURS[i % len(COLOURS)]]
        d = arr["dims"].astype(float)
        norm = pw(d) if callable(pw) else d**pw
        ax.plot(d, np.median(arr["passage"], axis=1) / norm, "o-", color=col, ms=4, label=label)
        ax.plot(d, arr["theory_steps"] / norm, "--", color=col, lw=1)
    ax.set(xscale="log", yscale="log", xlabel="dimension $d$")
    ax.legend(fontsize=8)


def lower_bound(axes: Sequence[plt.Axes], arr: Mapping[str, np.ndarray], K: Mapping[float, float],
                within: Mapping[float, np.ndarray]) -> None:
    """Draw the fraction of walkers passed within ``K[p] d^p`` steps and the passage CDFs.

    Left: fraction of walkers passed within ``K[p] d^p`` steps against d, ``within[p]``, for each
    power p; middle and right: empirical CDFs of ``passage / d^p`` per d (the first two powers).
    """
    d = arr["dims"].astype(float)
    p = arr["passage"]
    powers = list(K)
    for pw, ls in zip(powers, ("-", "--"), strict=True):
        axes[0].plot(d, within[pw], "o" + ls, ms=4, color="k", label=f"within ${K[pw]:g}\\,d^{{{pw:g}}}$ steps")
    axes[0].set(xscale="log", xlabel="dimension $d$", ylabel="fraction recovered", ylim=(-0.03, 1.03))
    axes[0].legend(fontsize=8)
    cmap = plt.get_cmap("viridis")
    for ax, pw in zip(axes[1:], powers, strict=True):
        for j, dd in enumerate(d):
            x = np.sort(p[j] / dd**pw)
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=cmap(j / max(1, d.size - 1)),
                    label=f"$d = {int(dd)}$" if j in (0, d.size - 1) else None)
        ax.set(xscale="log", xlabel=f"passage / $d^{{{pw:g}}}$", ylabel="ECDF")
        ax.legend(fontsize=8)


def law_figure(runs: Mapping[str, Mapping[str, np.ndarray]], rows: Mapping[str, Mapping[str, Any]],
               live: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> plt.Figure:
    """Figure with one panel of :func:`passages`.

    The saved sweeps with the live runs as squares, or (``live`` None) the live runs alone.
    """
    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    passages(ax, runs, rows, live=live)
    ax.set_title("median first passage (bars: quartiles); dashed: mean-field escape"
                 + ("; squares: live run" if live is not None else ""))
    return fig


def invariance_panels(runs: Mapping[int, Mapping[str, Mapping[str, np.ndarray]]],
                      normalisers: Mapping[int, Any]) -> plt.Figure:
    """Figure with one :func:`invariance` panel per exponent k.

    ``runs[k]`` maps a label (the noise level) to a sweep, ``normalisers[k]`` is the
    callable of d the medians are divided by.
    """
    fig, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 4), layout="constrained")
    for ax, (k, by_level) in zip(np.atleast_1d(axes), runs.items(), strict=True):
        invariance(ax, by_level, [normalisers[k]] * len(by_level))
        ax.set_ylabel("median / $(d \\ln d\\,\\ln(\\eta^2 d/x_0))$" if k <= 2 else f"median / $d^{k - 1}$")
        ax.set_title(f"k = {k}")
    return fig

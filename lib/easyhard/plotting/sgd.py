"""Figures of online SGD: first-passage steps of the exact and the effective engines together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from easyhard.plotting import PALETTE

_COLOURS = (PALETTE["blue"], PALETTE["red"], PALETTE["green"], PALETTE["purple"], PALETTE["orange"])


def scaled_passage(ax: plt.Axes, dims: np.ndarray, passage: np.ndarray, power: float, *, label: str,
                   color: str, marker: str = "o", offset: float = 1.0) -> None:
    """Median first-passage steps / d^power against d, with the quartiles as error bars.

    ``passage`` has shape (len(dims), walkers) (inf: not reached); ``offset``
    multiplies d to keep overlapping series apart on the log axis.
    """
    dims = np.asarray(dims, float)
    scaled = np.asarray(passage, float) / dims[:, None] ** power
    q1, med, q3 = np.percentile(scaled, [25, 50, 75], axis=1)
    ax.errorbar(dims * offset, med, yerr=[med - q1, q3 - med], fmt=marker + "-", ms=4, capsize=2,
                color=color, label=label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("dimension d")
    ax.set_ylabel(f"first-passage steps / $d^{{{power:g}}}$ (median, quartiles)")


def exact_and_effective(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    power: float = 3.0,
    effective_marker: Sequence[str] = ("effective",),
) -> plt.Figure:
    """One panel of median passage / d^power for several runs, exact and effective together.

    ``series`` maps a legend label to ``(dims, passage)``; labels containing one of
    ``effective_marker`` are drawn with open squares, the others (exact engines)
    with filled circles, each pair of a label prefix in the same colour order.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    for i, (label, (dims, passage)) in enumerate(series.items()):
        eff = any(m in label for m in effective_marker)
        scaled_passage(ax, dims, passage, power, label=label, color=_COLOURS[i % len(_COLOURS)],
                       marker="s" if eff else "o", offset=1.04 if eff else 1.0)
    ax.legend(fontsize=8)
    return fig


def passage_cdfs(ax: plt.Axes, exact: np.ndarray, effective: np.ndarray, *, title: str = "",
                 pvalue: float | None = None) -> None:
    """Empirical CDFs of exact and effective first-passage steps (the KS comparison)."""
    for x, label, color in ((exact, "exact (reduced)", PALETTE["blue"]),
                            (effective, "effective (SDE)", PALETTE["red"])):
        x = np.sort(np.asarray(x, float))
        ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=color, label=label)
    ax.set_xscale("log")
    ax.set_xlabel("first-passage step")
    ax.set_ylabel("fraction of walkers")
    ax.set_title(title + ("" if pvalue is None else f"  (KS p = {pvalue:.2g})"), fontsize=9)
    ax.legend(fontsize=8)

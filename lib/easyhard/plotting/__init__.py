"""House style for the book's figures: a colour-blind-safe palette, opaque backgrounds."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt

# Okabe & Ito's colour-blind-safe palette.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "red": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}


def use_style() -> None:
    """Apply the house style to matplotlib's global settings."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
            "figure.facecolor": "white",
            "axes.facecolor": "white",
            "savefig.facecolor": "white",
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "legend.frameon": False,
        }
    )


def label_scale(fig: plt.Figure, text: str) -> None:
    """Write the provenance line (scale, data, machine) under a figure.

    It is placed as the figure's ``supxlabel``, so constrained layout keeps it
    clear of the axes labels.
    """
    fig.supxlabel(text, x=0.99, ha="right", fontsize=7, color="0.35")


def savefig(fig: plt.Figure, path: str | Path) -> Path:
    """Save ``fig`` (PNG unless the suffix says otherwise) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path

"""Checkpoints: full training state for resuming, weight snapshots at eval steps.

A resume checkpoint holds everything the next step depends on: weights, EMA
weights, the Adam state, both random generators (data/noise and dropout) and
the history so far, so an interrupted run continues with identical numbers.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

RESUME_FILE = "resume.pt"


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename (no torn files on interruption)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def save_resume(run_dir: Path, state: dict[str, Any]) -> None:
    """Write the resume checkpoint of ``run_dir``."""
    save_atomic(state, Path(run_dir) / RESUME_FILE)


def load_resume(run_dir: Path | None) -> dict[str, Any] | None:
    """The resume checkpoint of ``run_dir``, or None when there is none."""
    if run_dir is None or not (Path(run_dir) / RESUME_FILE).exists():
        return None
    return torch.load(Path(run_dir) / RESUME_FILE, map_location="cpu", weights_only=False)


def save_weights(run_dir: Path, step: int, model: torch.nn.Module, ema: list[torch.Tensor]) -> None:
    """Snapshot at ``step`` (``weights-<step>.pt``): ``{"model": state_dict, "ema": parameters}``,
    the EMA in the order of ``model.parameters()``."""
    save_atomic({"model": model.state_dict(), "ema": ema}, Path(run_dir) / f"weights-{step:07d}.pt")

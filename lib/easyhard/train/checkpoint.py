"""Checkpoints: full training state for resuming, weight snapshots at eval steps.

A resume checkpoint (:class:`TrainState`) holds everything the next step
depends on: weights, EMA weights, the Adam state, the generator of batches and
noise, the global torch generator (dropout) and the history so far, so an
interrupted run continues with identical numbers.
"""

from __future__ import annotations

import os
import pickle
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import torch

RESUME_FILE = "resume.pt"


@dataclass
class TrainState:
    """What a resume checkpoint holds (one spelling of the keys for save and load).

    ``ema`` is the EMA of the parameters in the order of ``model.parameters()``;
    ``gen`` the state of the batch/noise generator (of ``device_type``);
    ``torch_rng`` / ``cuda_rng`` the global generators of rank 0 (dropout);
    ``history`` the evaluations so far; ``wall_time`` the training seconds so far.
    """

    config: dict[str, Any]
    step: int
    model: dict[str, torch.Tensor]
    opt: dict[str, Any]
    ema: list[torch.Tensor]
    gen: torch.Tensor
    torch_rng: torch.Tensor
    history: dict[str, list]
    wall_time: float
    device_type: str = "cpu"
    cuda_rng: torch.Tensor | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for ``torch.save``."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainState:
        """The state from a loaded checkpoint; raises ``ValueError`` if keys are missing."""
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        missing = required - set(d)
        if missing:
            raise ValueError(f"resume checkpoint lacks {sorted(missing)}; it is corrupt or from an "
                             "older version: start a fresh run folder")
        return cls(**{k: v for k, v in d.items() if k in names})


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename (no torn files on interruption)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def save_resume(run_dir: Path, state: TrainState) -> None:
    """Write the resume checkpoint of ``run_dir``."""
    save_atomic(state.to_dict(), Path(run_dir) / RESUME_FILE)


def load_resume(run_dir: Path | None) -> TrainState | None:
    """The resume checkpoint of ``run_dir``, or None when there is none."""
    if run_dir is None or not (Path(run_dir) / RESUME_FILE).exists():
        return None
    try:
        raw = torch.load(Path(run_dir) / RESUME_FILE, map_location="cpu", weights_only=False)
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError) as err:
        raise ValueError(f"resume checkpoint {Path(run_dir) / RESUME_FILE} is unreadable ({err})") from err
    if not isinstance(raw, dict):
        raise ValueError(f"resume checkpoint {Path(run_dir) / RESUME_FILE} is not a checkpoint dict")
    return TrainState.from_dict(raw)


def save_weights(run_dir: Path, step: int, model: torch.nn.Module, ema: list[torch.Tensor]) -> None:
    """Snapshot at ``step`` (``weights-<step>.pt``): ``{"model": state_dict, "ema": parameters}``,
    the EMA in the order of ``model.parameters()``."""
    save_atomic({"model": model.state_dict(), "ema": ema}, Path(run_dir) / f"weights-{step:07d}.pt")

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

import numpy as np
import torch

from easyhard import paths
from easyhard.paths import remove_stale_temps

RESUME_FILE = "resume.pt"

#: what a checkpoint may hold besides tensors and plain data: numpy arrays of numbers
#: (the evaluation history). Object arrays would need further globals and are refused.
_RECONSTRUCT = getattr(np, "_core", getattr(np, "core", None)).multiarray._reconstruct
SAFE_GLOBALS: list[Any] = [
    _RECONSTRUCT,
    (_RECONSTRUCT, "numpy._core.multiarray._reconstruct"),  # written by numpy 2
    (_RECONSTRUCT, "numpy.core.multiarray._reconstruct"),  # written by numpy 1
    np.ndarray,
    np.dtype,
    *sorted({type(np.dtype(code)) for code in "?bBhHiIlLqQefdgFDG"}, key=lambda t: t.__name__),
]


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
    def from_dict(cls, d: dict[str, Any], path: Path | str | None = None) -> TrainState:
        """The state from a loaded checkpoint (read from ``path``, named in errors).

        Raises ``ValueError`` if keys are missing.
        """
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING}
        missing = required - set(d)
        if missing:
            where = f"resume checkpoint {path}" if path is not None else "resume checkpoint"
            raise ValueError(f"{where} lacks {sorted(missing)}; it is corrupt or from an "
                             "older version: start a fresh run folder")
        return cls(**{k: v for k, v in d.items() if k in names})


def check_run_dir(run_dir: Path | str) -> None:
    """Create ``run_dir`` and make sure a file can be written there, else raise ``PermissionError``.

    :func:`~easyhard.train.loop.train` calls it before building the data and the
    model, so that a run never computes its first interval only to fail at the
    first checkpoint.
    """
    paths.ensure_writable(run_dir, "checkpoints to run_dir", "pass a writable run_dir")


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename (no torn files on interruption).

    Temporary files of earlier writers that were killed are removed first.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent, f".{path.name}.*.tmp")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def save_resume(run_dir: Path, state: TrainState) -> None:
    """Write the resume checkpoint of ``run_dir``."""
    save_atomic(state.to_dict(), Path(run_dir) / RESUME_FILE)


def load_resume(run_dir: Path | str | None) -> TrainState | None:
    """The resume checkpoint of ``run_dir``, or None when there is none.

    The file is read with ``torch.load(weights_only=True)``: only tensors, plain
    Python data and numpy arrays of numbers (:data:`SAFE_GLOBALS`) are
    unpickled, so a checkpoint from someone else cannot run code on loading.

    Raises
    ------
    ValueError
        If the file is unreadable (damaged, empty, not a checkpoint), holds other
        objects than those, or lacks fields; the message names the file.
    """
    if run_dir is None or not (Path(run_dir) / RESUME_FILE).exists():
        return None
    path = Path(run_dir) / RESUME_FILE
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        detail = _first_line(err)
        if "Unsupported global" in detail or "allowlisted" in detail:  # an object, not damage
            raise ValueError(
                f"resume checkpoint {path} holds objects other than tensors, plain data and numpy "
                "arrays, so it is not loaded (unpickling them could run code); it is not a "
                f"checkpoint of this library: delete it or use a fresh run_dir ({_first_line(err)})"
            ) from err
        raise ValueError(f"resume checkpoint {path} is unreadable ({_first_line(err)}); it is damaged: "
                         "delete it to start over, or use a fresh run_dir") from err
    except Exception as err:  # a damaged file fails anywhere in torch's reader or unpickler
        raise ValueError(f"resume checkpoint {path} is unreadable ({_first_line(err)}); it is damaged "
                         "(a torn or truncated file): delete it to start over, or use a fresh run_dir") from err
    if not isinstance(raw, dict):
        raise ValueError(f"resume checkpoint {path} is not a checkpoint dict; delete it or use a fresh run_dir")
    return TrainState.from_dict(raw, path)


def _first_line(err: BaseException) -> str:
    """The informative line of a loading error (torch's weights-only errors start with advice)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "WeightsUnpickler error:" in line:
            rest = line.split("WeightsUnpickler error:", 1)[1].strip()
            return rest or next((x for x in lines[i + 1:] if not x.startswith("Check")), line)
    return lines[0] if lines else type(err).__name__


def save_weights(run_dir: Path, step: int, model: torch.nn.Module, ema: list[torch.Tensor]) -> None:
    """Save the weights at ``step`` as ``weights-<step>.pt`` in ``run_dir``.

    The file holds ``{"model": state_dict, "ema": parameters}``, the EMA in the
    order of ``model.parameters()``.
    """
    save_atomic({"model": model.state_dict(), "ema": ema}, Path(run_dir) / f"weights-{step:07d}.pt")

"""Scales, devices, threads and seeds.

Every experiment runs at three scales chosen by one switch, the environment
variable ``EASYHARD_SCALE``:

* ``ci``: minutes on two CPU cores; what the tests and the book build execute;
* ``laptop``: tens of minutes on a laptop CPU;
* ``paper``: the paper's sizes, meant for a GPU.

The device is the best one present (CUDA, then Apple MPS, then CPU) unless
the environment variable ``EASYHARD_DEVICE`` names one (``cpu``, ``cuda``,
``mps``; ``python -m easyhard reproduce --device`` sets it).
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import torch

from easyhard._validation import check_int, check_seed

__all__ = [
    "SCALES",
    "DEVICES",
    "DEVICE_ENV",
    "SCALE_ENV",
    "check_scale",
    "check_seed",
    "device",
    "numpy_rng",
    "preset",
    "scale",
    "seed_everything",
    "set_threads",
    "torch_generator",
]

#: The three scales, from the smallest.
SCALES: tuple[str, ...] = ("ci", "laptop", "paper")
SCALE_ENV = "EASYHARD_SCALE"
DEVICE_ENV = "EASYHARD_DEVICE"
DEVICES: tuple[str, ...] = ("cpu", "cuda", "mps")
T = TypeVar("T")


def check_scale(value: str) -> str:
    """Return the scale ``value`` names (case and surrounding blanks ignored), else raise.

    Raises ``TypeError`` for a non-string and ``ValueError`` for an unknown name,
    so ``"Laptop"`` means what ``EASYHARD_SCALE=Laptop`` means.
    """
    if not isinstance(value, str):
        raise TypeError(f"scale must be one of {SCALES}, got {value!r} of type {type(value).__name__}")
    name = value.strip().lower()
    if name not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {value!r}")
    return name


def scale() -> str:
    """The current scale: ``$EASYHARD_SCALE`` (default ``"ci"``, also when set but empty)."""
    value = os.environ.get(SCALE_ENV, "").strip().lower() or "ci"
    if value not in SCALES:
        raise ValueError(
            f"environment variable {SCALE_ENV} must be one of {SCALES}, got {value!r}"
        )
    return value


def preset(by_scale: Mapping[str, T], scale_name: str | None = None) -> T:
    """Pick the entry of a table of presets for one scale.

    Parameters
    ----------
    by_scale : Mapping
        One entry per scale of :data:`SCALES` (``"ci"``, ``"laptop"``, ``"paper"``).
    scale_name : str or None
        The scale (case and blanks ignored); None: the current scale, :func:`scale`.

    Returns
    -------
    object
        ``by_scale[scale_name]``.
    """
    name = check_scale(scale_name) if scale_name is not None else scale()
    missing = [s for s in SCALES if s not in by_scale]
    if missing:
        raise ValueError(f"preset table lacks scales {missing}; it needs all of {SCALES}")
    return by_scale[name]


def device() -> torch.device:
    """``$EASYHARD_DEVICE`` if set, else the best available device: CUDA, then Apple MPS, then CPU."""
    chosen = os.environ.get(DEVICE_ENV, "").strip().lower()
    if chosen:
        if chosen not in DEVICES:
            raise ValueError(f"environment variable {DEVICE_ENV} must be one of {DEVICES}, got {chosen!r}")
        return torch.device(chosen)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_threads(n: int) -> None:
    """Use ``n`` CPU threads in torch (one is often fastest under load on two cores)."""
    torch.set_num_threads(check_int(n, "n (threads)", lo=1, hi=max(os.cpu_count() or 1, 1) * 8))


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's global and torch's random generators."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def torch_generator(seed: int, device: torch.device | str | None = None) -> torch.Generator:
    """A torch generator on ``device`` seeded with ``seed``."""
    gen = torch.Generator(device=device if device is not None else "cpu")
    gen.manual_seed(check_seed(seed))
    return gen


def numpy_rng(seed: int) -> np.random.Generator:
    """A numpy ``Generator`` (PCG64) seeded with ``seed``."""
    return np.random.default_rng(check_seed(seed))

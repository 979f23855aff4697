"""Cumulant estimators along a direction.

Unbiased k-statistics (scipy.stats.kstat) for orders 1-4 and a batch-means
standard error, so that tests can use tolerances derived from n.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
import torch

from easyhard._validation import check_choice, check_int


def _as_numpy_1d(x: np.ndarray | torch.Tensor) -> np.ndarray:
    arr = x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, float)
    if arr.ndim != 1 or arr.size < 4:
        raise ValueError(f"x must be one-dimensional with at least 4 entries, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"x must be finite; it holds {int(np.sum(~np.isfinite(arr)))} NaN or inf entries")
    return arr


def kstats(x: np.ndarray | torch.Tensor) -> tuple[float, float, float, float]:
    """Unbiased estimates (k1, k2, k3, k4) of the first four cumulants of a sample."""
    arr = _as_numpy_1d(x)
    return tuple(float(scipy.stats.kstat(arr, n)) for n in (1, 2, 3, 4))  # type: ignore[return-value]


def project(x: torch.Tensor | np.ndarray, direction: torch.Tensor | np.ndarray) -> np.ndarray:
    """Projections x @ n / ||n|| of the rows of x (n, d) on a direction (d,)."""
    xs = torch.as_tensor(x, dtype=torch.float64)
    n = torch.as_tensor(direction, dtype=torch.float64).to(xs.device)
    if xs.ndim != 2 or n.shape != (xs.shape[1],):
        raise ValueError(f"x must be (n, d) and direction (d,), got {tuple(xs.shape)} and {tuple(n.shape)}")
    norm = float(n.norm())
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError(f"direction must be a finite non-zero vector, got norm {norm}")
    return (xs @ (n / norm)).cpu().numpy()


def excess_kurtosis(x: np.ndarray | torch.Tensor) -> float:
    """k4 / k2^2 of a one-dimensional sample (0 for a Gaussian)."""
    _, k2, _, k4 = kstats(x)
    if not k2 > 0.0:
        raise ValueError("x has zero variance: its excess kurtosis is undefined")
    return k4 / k2**2


def kstat_stderr(x: np.ndarray | torch.Tensor, order: int, batches: int = 25) -> float:
    """Standard error of the order-``order`` k-statistic, by batch means over ``batches`` blocks."""
    arr = _as_numpy_1d(x)
    check_choice(order, "order", (1, 2, 3, 4))
    if arr.size < 8:
        raise ValueError(f"x must hold at least 8 entries for a batch-means error, got {arr.size}")
    batches = check_int(batches, "batches", lo=2, hi=arr.size // 4)
    blocks = np.array_split(arr, batches)
    values = np.array([scipy.stats.kstat(b, order) for b in blocks])
    return float(values.std(ddof=1) / np.sqrt(batches))

"""The Gaussian surrogate of CIFAR-10 and its Wiener floor (book: chapters/cifar_simplicity_bias.ipynb, ``sec-cifar-idea``).

The surrogate is N(mu, Sigma + ridge I) with the train split's mean and full
3072 x 3072 covariance (cross-channel terms included), accumulated in float64
over chunks, eigendecomposed once and cached as ``.npy`` under
``easyhard.results.cache_dir()``. The U-Net predicts eps, so its loss is
compared with the Wiener error in eps units per dimension: from
``eps - eps_hat = -(a / s) (x0 - x0_hat)``,

    MMSE_eps(a) = (a^2 / s^2) MMSE(a) / d,   MMSE(a) = sum_i s^2 lambda_i / (a^2 lambda_i + s^2).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

from easyhard.data.cifar import Cifar10
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.diffusion import vp_coefficients
from easyhard.results import cache_dir
from easyhard.stats import excess_kurtosis


def fit_surrogate(data: Cifar10, ridge: float = 1e-5, chunk: int = 5000) -> GaussianSurrogate:
    """Mean and covariance (divisor n - 1) of ``data``'s images as (n, 3072), plus ``ridge`` I."""
    if not np.isfinite(ridge) or ridge < 0:
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}")
    n, d = len(data), int(np.prod(data.pixels.shape[1:]))
    if n < 2:
        raise ValueError(f"data must hold at least 2 images, got {n}")
    total = torch.zeros(d, dtype=torch.float64)
    for i in range(0, n, chunk):
        total += data.images(slice(i, i + chunk)).reshape(-1, d).to(torch.float64).sum(0)
    mean = total / n
    cov = torch.zeros(d, d, dtype=torch.float64)
    for i in range(0, n, chunk):
        c = data.images(slice(i, i + chunk)).reshape(-1, d).to(torch.float64) - mean
        cov.addmm_(c.T, c)
    cov /= n - 1
    cov.diagonal().add_(ridge)
    return GaussianSurrogate(mean, cov)


def cifar_surrogate(data: Cifar10, ridge: float = 1e-5) -> GaussianSurrogate:
    """:func:`fit_surrogate`, cached by the data's origin, split, size and ``ridge``."""
    tag = f"{data.source}|{data.origin}|{data.split}|{len(data)}|{ridge!r}"
    key = hashlib.sha256(tag.encode()).hexdigest()[:12]
    folder = cache_dir() / "cifar10" / f"surrogate-{key}"
    names = ("mean", "eigvals", "eigvecs")
    if all((folder / f"{k}.npy").exists() for k in names):
        return GaussianSurrogate.from_eigh(*(torch.from_numpy(np.load(folder / f"{k}.npy")) for k in names))
    sur = fit_surrogate(data, ridge)
    folder.mkdir(parents=True, exist_ok=True)
    for k in names:
        tmp = folder / f".{k}.{os.getpid()}.npy"
        np.save(tmp, getattr(sur, k).numpy())
        tmp.replace(folder / f"{k}.npy")
    return sur


def wiener_eps_mse(surrogate: GaussianSurrogate, a: float) -> float:
    """The Wiener floor in eps units per dimension: ``(a/s)^2 MMSE(a) / d``."""
    a, s = vp_coefficients(a)
    return (a / s) ** 2 * surrogate.mmse(a) / surrogate.d


def directions(surrogate: GaussianSurrogate, kind: str, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` unit directions (k, d), float64: the top-``k`` principal axes of the
    surrogate's covariance (``kind="pca"``, largest first) or uniformly random ones."""
    if kind not in ("pca", "random"):
        raise ValueError(f"kind must be 'pca' or 'random', got {kind!r}")
    if not isinstance(k, int) or not 1 <= k <= surrogate.d:
        raise ValueError(f"k must be an integer in [1, {surrogate.d}], got {k!r}")
    if kind == "pca":
        return surrogate.eigvecs[:, -k:].flip(1).T.contiguous()
    g = torch.randn(k, surrogate.d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return g / g.norm(dim=1, keepdim=True)


def excess_kurtosis_along(x: torch.Tensor, dirs: torch.Tensor) -> np.ndarray:
    """Excess kurtosis ``k4 / k2^2`` of the projections of ``x`` (n, d) on each row of ``dirs``."""
    proj = x.reshape(len(x), -1).to(torch.float64) @ dirs.T
    return np.array([excess_kurtosis(p) for p in proj.T])

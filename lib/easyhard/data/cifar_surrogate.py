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
import warnings

import numpy as np
import torch

from easyhard._validation import check_choice, check_int, check_scalar, check_seed
from easyhard.data.cifar import Cifar10
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.diffusion import vp_coefficients
from easyhard.paths import cache_dir, code_fingerprint, remove_stale_temps
from easyhard.stats import excess_kurtosis

#: The modules whose code makes a cached surrogate; a change to them makes a new one.
SURROGATE_CODE = ("easyhard.data.cifar_surrogate", "easyhard.data.surrogate")


def fit_surrogate(data: Cifar10, ridge: float = 1e-5, chunk: int = 5000) -> GaussianSurrogate:
    """Mean and covariance (divisor n - 1) of ``data``'s images as (n, 3072), plus ``ridge`` I."""
    if not isinstance(data, Cifar10):
        raise TypeError(f"data must be a Cifar10 split, got {type(data).__name__}")
    ridge = check_scalar(ridge, "ridge", lo=0.0)
    chunk = check_int(chunk, "chunk", lo=1)
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
    """:func:`fit_surrogate`, cached by the data's content, ``ridge`` and the fitting code.

    The key is :meth:`~easyhard.data.cifar.Cifar10.fingerprint` (a hash of the pixels and labels),
    so another subset of the same size, or a changed archive at the same path,
    gets its own surrogate; and a :func:`~easyhard.paths.code_fingerprint` of
    :data:`SURROGATE_CODE`, so a fix to the fitting code never serves an old one.
    A damaged cache is refitted with a warning; an unwritable one is skipped.
    """
    if not isinstance(data, Cifar10):
        raise TypeError(f"data must be a Cifar10 split, got {type(data).__name__}")
    ridge = check_scalar(ridge, "ridge", lo=0.0)
    tag = f"{data.fingerprint()}|{data.split}|{ridge!r}|{code_fingerprint(*SURROGATE_CODE)}"
    key = hashlib.sha256(tag.encode()).hexdigest()[:12]
    folder = cache_dir() / "cifar10" / f"surrogate-{key}"
    names = ("mean", "eigvals", "eigvecs")
    if all((folder / f"{k}.npy").exists() for k in names):
        try:
            stored = [torch.from_numpy(np.load(folder / f"{k}.npy")) for k in names]
            return GaussianSurrogate.from_eigh(*stored)
        except (OSError, ValueError, EOFError) as err:
            warnings.warn(f"cached surrogate {folder} is damaged ({err}); fitting it again", stacklevel=2)
    sur = fit_surrogate(data, ridge)
    tmps = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder, ".*.npy")
        for k in names:
            tmp = folder / f".{k}.{os.getpid()}.npy"
            tmps.append(tmp)
            np.save(tmp, getattr(sur, k).numpy())
        for k, tmp in zip(names, tmps, strict=True):
            tmp.replace(folder / f"{k}.npy")
    except OSError as err:
        warnings.warn(f"cannot cache the surrogate in {folder} ({err}); it is refitted next time",
                      stacklevel=2)
    finally:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
    return sur


def wiener_eps_mse(surrogate: GaussianSurrogate, a: float) -> float:
    """The Wiener floor in eps units per dimension: ``(a/s)^2 MMSE(a) / d``."""
    a, s = vp_coefficients(a)
    return (a / s) ** 2 * surrogate.mmse(a) / surrogate.d


def directions(surrogate: GaussianSurrogate, kind: str, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` unit directions (k, d), float64.

    The top-``k`` principal axes of the surrogate's covariance (``kind="pca"``,
    largest first) or uniformly random ones (``kind="random"``, from ``seed``).
    """
    check_choice(kind, "kind", ("pca", "random"))
    k = check_int(k, "k (number of directions)", lo=1, hi=surrogate.d)
    seed = check_seed(seed)
    if kind == "pca":
        return surrogate.eigvecs[:, -k:].flip(1).T.contiguous()
    g = torch.randn(k, surrogate.d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return g / g.norm(dim=1, keepdim=True)


def excess_kurtosis_along(x: torch.Tensor, dirs: torch.Tensor) -> np.ndarray:
    """Excess kurtosis ``k4 / k2^2`` of the projections of ``x`` (n, d) on each row of ``dirs``."""
    x, dirs = torch.as_tensor(x), torch.as_tensor(dirs)
    if dirs.ndim != 2 or x.ndim < 2 or x[0].numel() != dirs.shape[1]:
        raise ValueError(
            f"x must be (n, d) (or (n, ...) with d entries per sample) and dirs (k, d), got "
            f"{tuple(x.shape)} and {tuple(dirs.shape)}"
        )
    proj = x.reshape(len(x), -1).to(torch.float64) @ dirs.to(torch.float64).T
    return np.array([excess_kurtosis(p) for p in proj.T])

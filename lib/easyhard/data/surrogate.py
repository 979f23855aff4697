"""The Gaussian surrogate of a data set and its Wiener denoiser.

Book: chapters/cifar_simplicity_bias.ipynb, section ``sec-cifar-idea``.

The surrogate is N(mu, Sigma) with the data's mean and full covariance. For
x_t = a x0 + s xi with x0 ~ N(mu, Sigma) the optimal denoiser is linear,

    E[x0 | x_t] = mu + a Sigma (a^2 Sigma + s^2 I)^{-1} (x_t - a mu),

and its error, with lambda_i the eigenvalues of Sigma, is

    MMSE(a) = sum_i s^2 lambda_i / (a^2 lambda_i + s^2)     (x0 units, summed).

The Wiener filter is the best *affine* denoiser for every law with that mean
and covariance (an affine denoiser's error depends on the law only through
them); non-linear denoisers can beat it on non-Gaussian data. Sigma is eigendecomposed once, in float64.
"""

from __future__ import annotations

import math

import torch

from easyhard.diffusion import vp_coefficients


class GaussianSurrogate:
    """N(mean, cov), stored in float64 with the eigendecomposition of cov."""

    def __init__(self, mean: torch.Tensor, cov: torch.Tensor) -> None:
        mean = torch.as_tensor(mean, dtype=torch.float64).cpu()
        cov = torch.as_tensor(cov, dtype=torch.float64).cpu()
        d = mean.shape[0]
        if mean.ndim != 1 or cov.shape != (d, d):
            raise ValueError(f"mean must be (d,) and cov (d, d), got {tuple(mean.shape)}, {tuple(cov.shape)}")
        if not (torch.isfinite(mean).all() and torch.isfinite(cov).all()):
            raise ValueError("mean and cov must be finite")
        self.mean = mean
        self.cov = 0.5 * (cov + cov.T)
        eigvals, self.eigvecs = torch.linalg.eigh(self.cov)
        if eigvals.min() < -1e-8 * max(1.0, float(eigvals.max())):
            raise ValueError(f"cov must be positive semi-definite, smallest eigenvalue {float(eigvals.min()):.3g}")
        self.eigvals = eigvals.clamp_min(0.0)
        self._factor: dict[tuple, torch.Tensor] = {}

    @property
    def d(self) -> int:
        return self.mean.shape[0]

    @classmethod
    def fit(cls, x: torch.Tensor, ridge: float = 0.0) -> GaussianSurrogate:
        """Fit mean and full covariance (divisor n - 1) of x (n, d), plus ``ridge`` * I."""
        x = torch.as_tensor(x)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"x must have shape (n, d) with n >= 2, got {tuple(x.shape)}")
        if not math.isfinite(ridge) or ridge < 0:
            raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
        x = x.reshape(x.shape[0], -1).to(torch.float64)
        mean = x.mean(0)
        centred = x - mean
        cov = centred.T @ centred / (x.shape[0] - 1)
        return cls(mean, cov + ridge * torch.eye(x.shape[1], dtype=torch.float64))

    @classmethod
    def from_eigh(
        cls, mean: torch.Tensor, eigvals: torch.Tensor, eigvecs: torch.Tensor
    ) -> GaussianSurrogate:
        """Rebuild from a stored eigendecomposition Sigma = V diag(lambda) V^T (no new eigh)."""
        obj = cls.__new__(cls)
        obj.mean = torch.as_tensor(mean, dtype=torch.float64).cpu()
        obj.eigvals = torch.as_tensor(eigvals, dtype=torch.float64).cpu().clamp_min(0.0)
        obj.eigvecs = torch.as_tensor(eigvecs, dtype=torch.float64).cpu()
        d = obj.mean.shape[0]
        if obj.eigvals.shape != (d,) or obj.eigvecs.shape != (d, d):
            raise ValueError(f"eigvals must be ({d},) and eigvecs ({d}, {d})")
        obj.cov = (obj.eigvecs * obj.eigvals) @ obj.eigvecs.T
        obj._factor = {}
        return obj

    def _sqrt_factor(self, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """L = V diag(sqrt(lambda)) so that L L^T = Sigma, cached per device and dtype."""
        key = (str(device), dtype)
        if key not in self._factor:
            self._factor[key] = (self.eigvecs * self.eigvals.sqrt()).to(device, dtype)
        return self._factor[key]

    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> torch.Tensor:
        """n samples mu + L g with g ~ N(0, I), shape (n, d)."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n (number of samples) must be an integer >= 1, got {n!r}")
        dev = torch.device(device) if device is not None else (generator.device if generator is not None else torch.device("cpu"))
        g = torch.randn(n, self.d, generator=generator, device=dev, dtype=dtype)
        return self.mean.to(dev, dtype) + g @ self._sqrt_factor(dev, dtype).T

    def wiener_gains(self, a: float) -> torch.Tensor:
        """Eigen-gains a lambda / (a^2 lambda + s^2) of the Wiener filter."""
        a, s = vp_coefficients(a)
        return a * self.eigvals / (a * a * self.eigvals + s * s)

    def denoise(self, x_t: torch.Tensor, a: float) -> torch.Tensor:
        """Posterior mean E[x0 | x_t] under the surrogate, for x_t of shape (..., d)."""
        shape, dev, dtype = x_t.shape, x_t.device, x_t.dtype
        flat = x_t.reshape(-1, self.d).to(torch.float64).cpu()
        centred = flat - a * self.mean
        out = self.mean + ((centred @ self.eigvecs) * self.wiener_gains(a)) @ self.eigvecs.T
        return out.to(dev, dtype).reshape(shape)

    def mmse(self, a: float) -> float:
        """sum_i s^2 lambda_i / (a^2 lambda_i + s^2): the Wiener error in x0 units, summed over dims."""
        a, s = vp_coefficients(a)
        return float((s * s * self.eigvals / (a * a * self.eigvals + s * s)).sum())

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

import torch

from easyhard._validation import MAX_ELEMENTS, check_generator, check_int, check_scalar
from easyhard.diffusion import check_noise_level, vp_coefficients

#: relative tolerance of the symmetry, PSD and orthonormality checks
TOL = 1e-8


def _as_real_tensor(x: object, name: str) -> torch.Tensor:
    """``x`` as a float64 CPU tensor; complex values are refused, not silently dropped."""
    t = torch.as_tensor(x)
    if t.is_complex():
        raise TypeError(f"{name} must be real, got dtype {t.dtype}")
    if t.dtype == torch.bool:
        raise TypeError(f"{name} must hold numbers, got dtype {t.dtype}")
    return t.to(torch.float64).cpu()


class GaussianSurrogate:
    """N(mean, cov), stored in float64 with the eigendecomposition of cov."""

    def __init__(self, mean: torch.Tensor, cov: torch.Tensor) -> None:
        mean = _as_real_tensor(mean, "mean")
        cov = _as_real_tensor(cov, "cov")
        if mean.ndim != 1 or mean.shape[0] < 1 or cov.shape != (mean.shape[0],) * 2:
            raise ValueError(
                f"mean must be (d,) with d >= 1 and cov (d, d), got {tuple(mean.shape)}, {tuple(cov.shape)}"
            )
        if not (torch.isfinite(mean).all() and torch.isfinite(cov).all()):
            raise ValueError("mean and cov must be finite")
        asym = float((cov - cov.T).abs().max())
        if asym > TOL * max(1.0, float(cov.abs().max())):
            raise ValueError(f"cov must be symmetric, max |cov - cov^T| = {asym:.3g}")
        self.mean = mean
        self.cov = 0.5 * (cov + cov.T)
        eigvals, self.eigvecs = torch.linalg.eigh(self.cov)
        if eigvals.min() < -1e-8 * max(1.0, float(eigvals.max())):
            raise ValueError(f"cov must be positive semi-definite, smallest eigenvalue {float(eigvals.min()):.3g}")
        self.eigvals = eigvals.clamp_min(0.0)
        self._factor: dict[tuple, torch.Tensor] = {}

    @property
    def d(self) -> int:
        """The dimension."""
        return self.mean.shape[0]

    @classmethod
    def fit(cls, x: torch.Tensor, ridge: float = 0.0) -> GaussianSurrogate:
        """Fit mean and full covariance (divisor n - 1) of x (n, d), plus ``ridge`` * I.

        Samples of more than one axis, (n, ...), such as images, are flattened.
        """
        ridge = check_scalar(ridge, "ridge", lo=0.0)
        x = _as_real_tensor(x, "x")
        if x.ndim < 2 or x.shape[0] < 2 or x[0].numel() < 1:
            raise ValueError(f"x must have shape (n, d) with n >= 2 and d >= 1, got {tuple(x.shape)}")
        x = x.reshape(x.shape[0], -1)
        if not torch.isfinite(x).all():
            raise ValueError("x must be finite")
        mean = x.mean(0)
        centred = x - mean
        cov = centred.T @ centred / (x.shape[0] - 1)
        return cls(mean, cov + ridge * torch.eye(x.shape[1], dtype=torch.float64))

    @classmethod
    def from_eigh(
        cls, mean: torch.Tensor, eigvals: torch.Tensor, eigvecs: torch.Tensor
    ) -> GaussianSurrogate:
        """Rebuild from a stored eigendecomposition Sigma = V diag(lambda) V^T (no new eigh).

        The eigenvalues must be finite and non-negative (rounding-size negative
        ones are set to 0) and V orthonormal; this is checked on four random
        probes, V^T V G = G for a fixed Gaussian G (d, 4), in O(d^2).
        """
        mean = _as_real_tensor(mean, "mean")
        eigvals = _as_real_tensor(eigvals, "eigvals")
        eigvecs = _as_real_tensor(eigvecs, "eigvecs")
        if mean.ndim != 1 or mean.shape[0] < 1:
            raise ValueError(f"mean must be (d,) with d >= 1, got {tuple(mean.shape)}")
        d = mean.shape[0]
        if eigvals.shape != (d,) or eigvecs.shape != (d, d):
            raise ValueError(f"eigvals must be ({d},) and eigvecs ({d}, {d}), got "
                             f"{tuple(eigvals.shape)} and {tuple(eigvecs.shape)}")
        for name, t in (("mean", mean), ("eigvals", eigvals), ("eigvecs", eigvecs)):
            if not torch.isfinite(t).all():
                raise ValueError(f"{name} must be finite")
        top = max(1.0, float(eigvals.abs().max()))
        if float(eigvals.min()) < -TOL * top:
            raise ValueError(f"eigvals must be >= 0, smallest is {float(eigvals.min()):.3g}")
        probe = torch.randn(d, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        err = float((eigvecs.T @ (eigvecs @ probe) - probe).abs().max())
        if err > 1e-6 * float(probe.abs().max()):
            raise ValueError(f"eigvecs must be orthonormal (V^T V = I), max deviation on probes {err:.3g}")
        obj = cls.__new__(cls)
        obj.mean = mean
        obj.eigvals = eigvals.clamp_min(0.0)
        obj.eigvecs = eigvecs
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
        """Draw ``n`` samples ``mu + L g`` with ``g ~ N(0, I)`` and ``L L^T = Sigma``.

        Parameters
        ----------
        n : int
            Number of samples.
        generator : torch.Generator or None
            Draws g.
        device, dtype
            Where and in which floating-point type the samples are returned.

        Returns
        -------
        torch.Tensor
            Samples, shape (n, d).
        """
        n = check_int(n, "n (number of samples)", lo=1, hi=MAX_ELEMENTS // self.d)
        check_generator(generator)
        dev = torch.device(device) if device is not None else (generator.device if generator is not None else torch.device("cpu"))
        g = torch.randn(n, self.d, generator=generator, device=dev, dtype=dtype)
        return self.mean.to(dev, dtype) + g @ self._sqrt_factor(dev, dtype).T

    def wiener_gains(self, a: float) -> torch.Tensor:
        """Eigen-gains a lambda / (a^2 lambda + s^2) of the Wiener filter."""
        a, s = vp_coefficients(a)
        return a * self.eigvals / (a * a * self.eigvals + s * s)

    def denoise(self, x_t: torch.Tensor, a: float) -> torch.Tensor:
        """Posterior mean E[x0 | x_t] under the surrogate, for x_t of shape (..., d).

        The last axis must be the d coordinates: a (d, n) batch or a flattened
        one is refused, not reshaped. Numpy arrays are accepted (a tensor comes back).
        """
        a = check_noise_level(a)
        gains = self.wiener_gains(a)
        x_t = torch.as_tensor(x_t)
        if x_t.ndim < 1 or x_t.shape[-1] != self.d:
            raise ValueError(f"x_t must have shape (..., {self.d}), got {tuple(x_t.shape)}")
        if x_t.is_complex():
            raise TypeError(f"x_t must be real, got dtype {x_t.dtype}")
        if not x_t.is_floating_point():
            x_t = x_t.to(torch.float64)
        shape, dev, dtype = x_t.shape, x_t.device, x_t.dtype
        flat = x_t.reshape(-1, self.d).to(torch.float64).cpu()
        centred = flat - a * self.mean
        out = self.mean + ((centred @ self.eigvecs) * gains) @ self.eigvecs.T
        return out.to(dev, dtype).reshape(shape)

    def mmse(self, a: float) -> float:
        """The error of the Wiener filter, the Wiener floor.

        Parameters
        ----------
        a : float
            Noise level (signal coefficient) in (0, 1); ``s = sqrt(1 - a^2)``.

        Returns
        -------
        float
            ``sum_i s^2 lambda_i / (a^2 lambda_i + s^2)`` over the eigenvalues of the
            covariance: x0 units, summed over the d dimensions, per sample.
        """
        a, s = vp_coefficients(a)
        return float((s * s * self.eigvals / (a * a * self.eigvals + s * s)).sum())

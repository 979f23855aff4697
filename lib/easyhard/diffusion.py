"""Variance-preserving noising (book: chapters/cifar_simplicity_bias.ipynb, section ``sec-cifar-idea``).

``x_t = a x0 + s xi`` with ``xi ~ N(0, I)`` and ``a^2 + s^2 = 1``. In DDPM,
``a_t = sqrt(abar_t)`` with ``abar_t = prod_{s<=t} (1 - beta_s)`` and beta
linear from 1e-4 to 0.02 over T = 1000 steps.
"""

from __future__ import annotations

import math

import torch


def check_noise_level(a: float) -> float:
    """Return ``a`` as a float if ``0 < a < 1`` (and finite), else raise ``ValueError``."""
    try:
        value = float(a)
    except (TypeError, ValueError):
        raise TypeError(f"a (signal coefficient) must be a number, got {a!r}") from None
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise ValueError(f"a (signal coefficient) must lie in (0, 1), got {a!r}")
    return value


def vp_coefficients(a: float) -> tuple[float, float]:
    """``(a, s)`` with ``s = sqrt(1 - a^2)`` for a noise level ``a`` in (0, 1)."""
    a = check_noise_level(a)
    return a, math.sqrt(1.0 - a * a)


def ddpm_alpha_bar(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """``abar_t`` for t = 1..T (entry t-1) of the linear DDPM schedule, float64."""
    if not isinstance(T, int) or T < 1:
        raise ValueError(f"T (number of diffusion steps) must be an integer >= 1, got {T!r}")
    if not 0.0 < beta_start <= beta_end < 1.0:
        raise ValueError(
            f"betas must satisfy 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}"
        )
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def noise(
    x0: torch.Tensor, a: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ``x0``: return ``(x_t, xi)`` with ``x_t = a x0 + s xi``."""
    a, s = vp_coefficients(a)
    xi = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    return a * x0 + s * xi, xi

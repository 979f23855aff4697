"""Variance-preserving noising (book: chapters/cifar_simplicity_bias.ipynb, section ``sec-cifar-idea``).

``x_t = a x0 + s xi`` with ``xi ~ N(0, I)`` and ``a^2 + s^2 = 1``. In DDPM,
``a_t = sqrt(abar_t)`` with ``abar_t = prod_{s<=t} (1 - beta_s)`` and beta
linear from 1e-4 to 0.02 over T = 1000 steps.
"""

from __future__ import annotations

import math

import torch

from easyhard._validation import check_int, check_scalar

#: the most diffusion steps a schedule may have (a size guard, far above DDPM's 1000)
T_MAX = 10**6


def check_noise_level(a: float) -> float:
    """Return ``a`` as a float if it is a real number in (0, 1), else raise.

    ``TypeError`` for a non-number (bools and strings included), ``ValueError``
    outside (0, 1) or for NaN.
    """
    return check_scalar(a, "a (signal coefficient)", lo=0.0, hi=1.0, closed="neither")


def vp_coefficients(a: float) -> tuple[float, float]:
    """The signal and noise coefficients of a noise level.

    Parameters
    ----------
    a : float
        Signal coefficient in (0, 1).

    Returns
    -------
    tuple of float
        ``(a, s)`` with ``s = sqrt(1 - a^2)``.
    """
    a = check_noise_level(a)
    return a, math.sqrt(1.0 - a * a)


def ddpm_alpha_bar(T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The cumulative products ``abar_t`` of the linear DDPM schedule.

    Parameters
    ----------
    T : int
        Number of diffusion steps.
    beta_start, beta_end : float
        The first and last ``beta_t``, linear in between, ``0 < beta_start <= beta_end < 1``.

    Returns
    -------
    torch.Tensor
        ``abar_t = prod_{tau <= t} (1 - beta_tau)`` for t = 1..T (entry t-1), float64, so that
        ``a_t = sqrt(abar_t)``.
    """
    T = check_int(T, "T (number of diffusion steps)", lo=1, hi=T_MAX)
    beta_start = check_scalar(beta_start, "beta_start", lo=0.0, hi=1.0, closed="neither")
    beta_end = check_scalar(beta_end, "beta_end", lo=0.0, hi=1.0, closed="neither")
    if not beta_start <= beta_end:
        raise ValueError(
            f"betas must satisfy 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}"
        )
    betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def noise(
    x0: torch.Tensor, a: float, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Corrupt ``x0`` at the noise level ``a``.

    Parameters
    ----------
    x0 : torch.Tensor
        Clean samples, floating point, any shape.
    a : float
        Signal coefficient in (0, 1); ``s = sqrt(1 - a^2)``.
    generator : torch.Generator or None
        Draws the noise.

    Returns
    -------
    x_t, xi : torch.Tensor
        ``x_t = a x0 + s xi`` and the noise ``xi ~ N(0, I)``, both shaped like ``x0``.
    """
    a, s = vp_coefficients(a)
    if not isinstance(x0, torch.Tensor) or not x0.is_floating_point():
        raise TypeError(f"x0 must be a floating-point torch tensor, got {type(x0).__name__}")
    xi = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device=x0.device)
    return a * x0 + s * xi, xi

"""The mixed cumulant model (see the chapter "The mixed cumulant model").

    x0 = beta_m m + sqrt(beta_u) lam u + S (sqrt(beta_v) nu v + z),
    lam ~ N(0, 1),  nu: zero mean, unit variance, non-Gaussian,  z ~ N(0, I_d),
    S = I - (1 - 1/sqrt(1 + beta_v)) v v^T = (I + beta_v v v^T)^{-1/2}.

u carries a covariance spike (pair-wise statistics), v only a fourth (or
third) cumulant: S whitens the v direction alone, so Var(v.x0) = 1 exactly
and v is invisible to any second-order statistic. The whitening is a rank-one
update, O(d) per sample. With ``p_corr > 0`` the latents are coupled (with
probability p_corr, nu = Q(Phi(lam)), the quantile coupling, which is sign(lam)
for Rademacher), which keeps both marginals and adds the covariance entry

    rho = sqrt(beta_u beta_v / (1 + beta_v)) E[lam nu].
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch

from easyhard.config import check_seed, torch_generator
from easyhard.data.latents import LATENTS, LatentLaw, latent_law


def _check_beta(name: str, value: float) -> float:
    try:
        beta = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(beta) or beta < 0.0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return beta


class MixedCumulantModel:
    """Samples and analytic statistics of the mixed cumulant model.

    Parameters
    ----------
    d : int
        Dimension (>= 2; >= 3 when ``beta_m > 0``).
    beta_u, beta_v, beta_m : float
        Strengths of the covariance, cumulant and mean spikes (>= 0).
    latent : str
        Law of nu, one of :data:`~easyhard.data.latents.LATENTS` (see
        :mod:`easyhard.data.latents`).
    p_corr : float
        Probability in [0, 1] that nu is coupled to lam.
    skew_p : float
        For ``latent="skewed"``, the probability of the positive atom ``sqrt((1-p)/p)``.
    seed : int or None
        Seeds the spike directions and the sampling stream (None: fresh entropy).
    device, dtype
        Where and in which floating-point type the samples are made.

    Attributes
    ----------
    u, v : torch.Tensor
        The covariance and cumulant spikes, unit and orthogonal, shape (d,).
    m : torch.Tensor or None
        The mean spike (None when ``beta_m = 0``).
    law : LatentLaw
        The law of nu.

    Examples
    --------
    >>> model = MixedCumulantModel(64, beta_u=5.0, beta_v=5.0, seed=0)
    >>> model.sample(1000).shape
    torch.Size([1000, 64])
    """

    def __init__(
        self,
        d: int,
        beta_u: float = 5.0,
        beta_v: float = 5.0,
        beta_m: float = 0.0,
        latent: str = "rademacher",
        p_corr: float = 0.0,
        skew_p: float = 0.2,
        seed: int | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
            raise ValueError(f"d (dimension) must be an integer >= 2, got {d!r}")
        self.beta_u = _check_beta("beta_u", beta_u)
        self.beta_v = _check_beta("beta_v", beta_v)
        self.beta_m = _check_beta("beta_m", beta_m)
        if self.beta_m > 0 and d < 3:
            raise ValueError(f"d (dimension) must be >= 3 with a mean spike (beta_m > 0), got {d}")
        if latent not in LATENTS:
            raise ValueError(f"latent must be one of {LATENTS}, got {latent!r}")
        p = float(p_corr)
        if not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p_corr must lie in [0, 1], got {p_corr!r}")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a torch floating dtype, got {dtype!r}")
        self.d = int(d)
        self.latent = latent
        self.law: LatentLaw = latent_law(latent, skew_p)
        self.skew_p = float(skew_p)
        self.p_corr = p
        self.seed = check_seed(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.u, self.v, self.m = self._spikes()
        self.generator = torch_generator(self.seed, self.device)

    def _spikes(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Orthonormal u, v (and m when d >= 3) from the seed, identical on every device."""
        k = min(3, self.d)
        gen = torch_generator(self.seed, "cpu")
        q, _ = torch.linalg.qr(torch.randn(self.d, k, generator=gen, dtype=torch.float64))
        cols = [q[:, i].to(self.device, self.dtype) for i in range(k)]
        return cols[0], cols[1], cols[2] if k == 3 else None

    def __repr__(self) -> str:
        return (
            f"MixedCumulantModel(d={self.d}, beta_u={self.beta_u}, beta_v={self.beta_v}, "
            f"beta_m={self.beta_m}, latent={self.latent!r}, p_corr={self.p_corr}, seed={self.seed})"
        )

    # -- analytic statistics -------------------------------------------------
    @property
    def nu_scale(self) -> float:
        """The coefficient of nu in v.x0, ``sqrt(beta_v / (1 + beta_v))``."""
        return math.sqrt(self.beta_v / (1.0 + self.beta_v))

    @property
    def shrink(self) -> float:
        """The whitening ``S = I - shrink v v^T`` has ``shrink = 1 - 1/sqrt(1 + beta_v)``."""
        return 1.0 - 1.0 / math.sqrt(1.0 + self.beta_v)

    def latent_cumulant(self, k: int) -> float:
        """kappa_k(nu) of the latent law."""
        return self.law.cumulant(k)

    def kt(self, k: int) -> float:
        """kt_k = (beta_v / (1 + beta_v))^{k/2} kappa_k(nu) = kappa_k(v.x0) for k >= 3."""
        return self.nu_scale**k * self.latent_cumulant(k)

    def kappa3_v(self) -> float:
        """kappa_3(v.x0) = (beta_v/(1+beta_v))^{3/2} kappa_3(nu)."""
        return self.kt(3)

    def kappa4_v(self) -> float:
        """kappa_4(v.x0) = (beta_v/(1+beta_v))^2 kappa_4(nu) (-1.389 for beta_v = 5, Rademacher)."""
        return self.kt(4)

    @property
    def e_lam_nu(self) -> float:
        """E[lam nu] = p_corr E[lam Q(Phi(lam))] (p_corr sqrt(2/pi) for Rademacher)."""
        return self.p_corr * self.law.e_gaussian_coupled()

    @property
    def rho(self) -> float:
        """Cov(u.x0, v.x0) = sqrt(beta_u beta_v / (1 + beta_v)) E[lam nu]."""
        return math.sqrt(self.beta_u) * self.nu_scale * self.e_lam_nu

    def mean(self) -> torch.Tensor:
        """E[x0] = beta_m m."""
        if self.m is None:
            return torch.zeros(self.d, device=self.device, dtype=self.dtype)
        return self.beta_m * self.m

    def covariance(self) -> torch.Tensor:
        """C = I + beta_u u u^T + rho (u v^T + v u^T), float64 (d, d)."""
        u = self.u.double().cpu()
        v = self.v.double().cpu()
        cov = torch.eye(self.d, dtype=torch.float64) + self.beta_u * torch.outer(u, u)
        return cov + self.rho * (torch.outer(u, v) + torch.outer(v, u))

    # -- sampling --------------------------------------------------------------
    def sample_latents(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(lam, nu), each of shape (n,), with the coupling of ``p_corr``."""
        n = _check_n(n)
        gen = generator if generator is not None else self.generator
        lam = torch.randn(n, generator=gen, device=self.device, dtype=self.dtype)
        nu = self.law.sample(n, gen, self.device, self.dtype)
        if self.p_corr > 0.0:
            coupled = torch.rand(n, generator=gen, device=self.device, dtype=torch.float64) < self.p_corr
            nu = torch.where(coupled, self.law.coupled(lam), nu)
        return lam, nu

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples x0, shape (n, d), on the model's device (O(n d) work and memory)."""
        gen = generator if generator is not None else self.generator
        lam, nu = self.sample_latents(n, gen)
        z = torch.randn(n, self.d, generator=gen, device=self.device, dtype=self.dtype)
        along_v = self.nu_scale * nu - self.shrink * (z @ self.v)  # S(sqrt(beta_v) nu v + z) = z + (.) v
        x = z + along_v[:, None] * self.v + math.sqrt(self.beta_u) * lam[:, None] * self.u
        if self.beta_m > 0.0:
            x = x + self.beta_m * self.m
        return x

    def iter_samples(
        self, n: int, batch_size: int = 65536, generator: torch.Generator | None = None
    ) -> Iterator[torch.Tensor]:
        """n samples in batches of at most ``batch_size`` rows, never all in memory."""
        n = _check_n(n)
        batch_size = _check_n(batch_size, "batch_size")
        for start in range(0, n, batch_size):
            yield self.sample(min(batch_size, n - start), generator)


def _check_n(n: int, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} (number of samples) must be an integer >= 1, got {n!r}")
    return int(n)

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

from easyhard._validation import (
    MAX_ELEMENTS,
    check_choice,
    check_generator,
    check_int,
    check_scalar,
    check_seed,
)
from easyhard.config import torch_generator
from easyhard.data.latents import LATENTS, LatentLaw, latent_law

#: the largest dimension (the spikes' QR factorisation alone takes 24 d bytes; d = 2**17 is
#: the largest any experiment of the book uses)
MAX_DIMENSION = 2**24

#: no standard normal draw reaches this (``P(|g| > 40) < 1e-300``): it bounds ``|lam|`` and ``|z_i|``
#: in the overflow check of the strengths
GAUSSIAN_BOUND = 40.0


class MixedCumulantModel:
    """Samples and analytic statistics of the mixed cumulant model.

    Parameters
    ----------
    d : int
        Dimension, in ``[2, 2**24]`` (at least 3 when ``beta_m > 0``).
    beta_u, beta_v, beta_m : float
        Strengths of the covariance, cumulant and mean spikes (finite, >= 0; small
        enough that samples are finite in ``dtype``).
    latent : str
        Law of nu, one of :data:`~easyhard.data.latents.LATENTS`
        (see :mod:`easyhard.data.latents`).
    p_corr : float
        Probability in [0, 1] that nu is coupled to lam.
    skew_p : float
        For ``latent="skewed"``, the probability in (0, 1) of the positive atom
        sqrt((1-p)/p) (checked whatever the latent).
    seed : int, optional
        Seeds the spike directions and the sampling stream (None: fresh entropy).
    device : torch.device or str, optional
        Device of the spikes and samples (default CPU).
    dtype : torch.dtype
        Floating dtype of the spikes and samples.

    Raises
    ------
    TypeError
        For an argument of the wrong type (a bool or a string for a number, ...).
    ValueError
        For a value outside its range, named with the range.

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
        d = check_int(d, "d (dimension)", lo=2, hi=MAX_DIMENSION)
        self.beta_u = check_scalar(beta_u, "beta_u", lo=0.0)
        self.beta_v = check_scalar(beta_v, "beta_v", lo=0.0)
        self.beta_m = check_scalar(beta_m, "beta_m", lo=0.0)
        if self.beta_m > 0 and d < 3:
            raise ValueError(f"d (dimension) must be >= 3 with a mean spike (beta_m > 0), got {d}")
        check_choice(latent, "latent", LATENTS)
        self.p_corr = check_scalar(p_corr, "p_corr", lo=0.0, hi=1.0)
        self.skew_p = check_scalar(skew_p, "skew_p", lo=0.0, hi=1.0, closed="neither")
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a torch floating dtype, got {dtype!r}")
        self.d = d
        self.latent = latent
        self.law: LatentLaw = latent_law(latent, self.skew_p)
        self._check_overflow(dtype)
        self.seed = check_seed(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.dtype = dtype
        self.u, self.v, self.m = self._spikes()
        self.generator = torch_generator(self.seed, self.device)

    def _check_overflow(self, dtype: torch.dtype) -> None:
        """Refuse strengths whose samples would overflow ``dtype`` (inf entries).

        A coordinate of x0 is at most |z_i| + nu_scale |nu| + sqrt(beta_u) |lam| + beta_m
        in absolute value, with |z_i|, |lam| below :data:`GAUSSIAN_BOUND`.
        """
        nu_max = GAUSSIAN_BOUND if self.law.is_gaussian else float(np.abs(self.law.atoms).max())
        bound = (GAUSSIAN_BOUND + self.nu_scale * nu_max + math.sqrt(self.beta_u) * GAUSSIAN_BOUND
                 + self.beta_m)
        largest = torch.finfo(dtype).max
        if not bound < largest:
            raise ValueError(
                f"beta_u = {self.beta_u:g}, beta_m = {self.beta_m:g} (latent {self.latent!r}) give "
                f"sample entries up to {bound:.3g}, beyond the largest {dtype} ({largest:.3g}): "
                "use smaller strengths or dtype=torch.float64"
            )

    def _spikes(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Orthonormal u, v (and m when d >= 3) from the seed, identical on every device."""
        k = min(3, self.d)
        gen = torch_generator(self.seed, "cpu")
        q, _ = torch.linalg.qr(torch.randn(self.d, k, generator=gen, dtype=torch.float64))
        cols = [q[:, i].to(self.device, self.dtype) for i in range(k)]
        return cols[0], cols[1], cols[2] if k == 3 else None

    def __repr__(self) -> str:
        """The model's parameters (not its device and dtype)."""
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
        """kappa_k(nu) of the latent law, for an integer order k in [1, 8]."""
        return self.law.cumulant(k)

    def kt(self, k: int) -> float:
        """kt_k = (beta_v / (1 + beta_v))^{k/2} kappa_k(nu) = kappa_k(v.x0) for k >= 3.

        ``k`` is an integer order in [1, 8].
        """
        return self.nu_scale ** self.law.check_order(k) * self.latent_cumulant(k)

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
        """C = I + beta_u u u^T + rho (u v^T + v u^T), float64 (d, d).

        Refused (``ValueError``) when d^2 exceeds the size guard
        :data:`~easyhard._validation.MAX_ELEMENTS` (d > 46340: 16 GB).
        """
        if self.d * self.d > MAX_ELEMENTS:
            raise ValueError(
                f"covariance() of d = {self.d} would allocate a dense {self.d} x {self.d} matrix "
                f"(more than {MAX_ELEMENTS} entries); use u, v and rho instead"
            )
        u = self.u.double().cpu()
        v = self.v.double().cpu()
        cov = torch.eye(self.d, dtype=torch.float64) + self.beta_u * torch.outer(u, u)
        return cov + self.rho * (torch.outer(u, v) + torch.outer(v, u))

    # -- sampling --------------------------------------------------------------
    def sample_latents(
        self, n: int, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(lam, nu), each of shape (n,), with the coupling of ``p_corr``.

        ``generator`` is a ``torch.Generator`` on the model's device (default: the
        model's own stream).
        """
        n = check_int(n, "n (number of samples)", lo=1, hi=MAX_ELEMENTS)
        check_generator(generator)
        gen = generator if generator is not None else self.generator
        lam = torch.randn(n, generator=gen, device=self.device, dtype=self.dtype)
        nu = self.law.sample(n, gen, self.device, self.dtype)
        if self.p_corr > 0.0:
            coupled = torch.rand(n, generator=gen, device=self.device, dtype=torch.float64) < self.p_corr
            nu = torch.where(coupled, self.law.coupled(lam), nu)
        return lam, nu

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` samples x0, shape (n, d), on the model's device (O(n d) work and memory).

        ``n`` is refused before any work when n d exceeds the size guard
        :data:`~easyhard._validation.MAX_ELEMENTS` (use :meth:`iter_samples`).
        """
        n = check_int(n, "n (number of samples)", lo=1, hi=MAX_ELEMENTS // self.d)
        check_generator(generator)
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
        """Draw ``n`` samples in batches of at most ``batch_size`` rows, never all in memory."""
        n = check_int(n, "n (number of samples)", lo=1)
        batch_size = check_int(batch_size, "batch_size", lo=1, hi=MAX_ELEMENTS // self.d)
        for start in range(0, n, batch_size):
            yield self.sample(min(batch_size, n - start), generator)


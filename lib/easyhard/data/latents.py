"""Laws of the non-Gaussian latent nu of the mixed cumulant model (book: chapters/mixed_cumulant_model.ipynb, ``sec-mcm-model``).

Every law has zero mean and unit variance. Discrete laws are given by their
atoms and probabilities, so cumulants, samplers and the quantile coupling to
the Gaussian latent lam are exact.

=============  =====================================  ==========  ==========  ====
name           law                                    kappa_3     kappa_4     kappa_6
=============  =====================================  ==========  ==========  ====
rademacher     +-1 with probability 1/2               0           -2          16
skewed         sqrt(q/p) w.p. p, -sqrt(p/q) w.p. q     (q-p)/sqrt(pq)  (1-6pq)/(pq)
three_point    -sqrt3, 0, sqrt3 w.p. 1/6, 2/3, 1/6    0           0           -6
gaussian       N(0, 1) (control)                      0           0           0
=============  =====================================  ==========  ==========  ====

with q = 1 - p, ``p = skew_p``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats
import torch

LATENTS: tuple[str, ...] = ("rademacher", "skewed", "three_point", "gaussian")


@dataclass(frozen=True)
class LatentLaw:
    """A zero-mean, unit-variance law; ``atoms``/``probs`` are None for the Gaussian."""

    name: str
    atoms: np.ndarray | None
    probs: np.ndarray | None

    @property
    def is_gaussian(self) -> bool:
        return self.atoms is None

    def moment(self, k: int) -> float:
        """Raw moment E[nu^k]."""
        if self.is_gaussian:
            return 0.0 if k % 2 else float(scipy.special.factorial2(k - 1, exact=True)) if k else 1.0
        return float(np.sum(self.probs * self.atoms**k))

    def cumulant(self, k: int) -> float:
        """kappa_k(nu) from the raw moments by kappa_n = m_n - sum_j C(n-1, j-1) kappa_j m_{n-j}."""
        if not isinstance(k, int) or not 1 <= k <= 8:
            raise ValueError(f"k (cumulant order) must be an integer in [1, 8], got {k!r}")
        kappas: list[float] = []
        for n in range(1, k + 1):
            value = self.moment(n) - sum(
                math.comb(n - 1, j - 1) * kappas[j - 1] * self.moment(n - j) for j in range(1, n)
            )
            kappas.append(value)
        return kappas[-1]

    def thresholds(self) -> np.ndarray:
        """Gaussian quantiles c_j = Phi^{-1}(F_j) between the sorted atoms."""
        assert not self.is_gaussian
        return scipy.stats.norm.ppf(np.cumsum(self.probs)[:-1])

    def e_gaussian_coupled(self) -> float:
        """E[lam Q(Phi(lam))] for the quantile coupling nu = Q(Phi(lam)).

        For atoms x_j between thresholds c_{j-1} < c_j it is
        sum_j x_j (phi(c_{j-1}) - phi(c_j)) (since E[lam 1{lam > c}] = phi(c));
        sqrt(2/pi) for Rademacher, 1 for the Gaussian.
        """
        if self.is_gaussian:
            return 1.0
        c = np.concatenate([[-np.inf], self.thresholds(), [np.inf]])
        pdf = scipy.stats.norm.pdf(c)
        return float(np.sum(self.atoms * (pdf[:-1] - pdf[1:])))

    def sample(self, n: int, generator: torch.Generator, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """n independent draws."""
        if self.is_gaussian:
            return torch.randn(n, generator=generator, device=device, dtype=dtype)
        uniform = torch.rand(n, generator=generator, device=device, dtype=torch.float64)
        cdf = torch.as_tensor(np.cumsum(self.probs)[:-1], device=device, dtype=torch.float64)
        index = torch.searchsorted(cdf, uniform)
        return torch.as_tensor(self.atoms, device=device, dtype=dtype)[index]

    def coupled(self, lam: torch.Tensor) -> torch.Tensor:
        """The quantile coupling Q(Phi(lam)): sign(lam) for Rademacher, lam for the Gaussian."""
        if self.is_gaussian:
            return lam.clone()
        cuts = torch.as_tensor(self.thresholds(), device=lam.device, dtype=lam.dtype)
        index = torch.searchsorted(cuts, lam.contiguous())
        return torch.as_tensor(self.atoms, device=lam.device, dtype=lam.dtype)[index]


def latent_law(name: str, skew_p: float = 0.2) -> LatentLaw:
    """The law called ``name`` (one of :data:`LATENTS`)."""
    if name == "rademacher":
        return LatentLaw(name, np.array([-1.0, 1.0]), np.array([0.5, 0.5]))
    if name == "skewed":
        p = float(skew_p)
        if not math.isfinite(p) or not 0.0 < p < 1.0:
            raise ValueError(f"skew_p must lie in (0, 1), got {skew_p!r}")
        q = 1.0 - p
        return LatentLaw(name, np.array([-math.sqrt(p / q), math.sqrt(q / p)]), np.array([q, p]))
    if name == "three_point":
        r3 = math.sqrt(3.0)
        return LatentLaw(name, np.array([-r3, 0.0, r3]), np.array([1 / 6, 2 / 3, 1 / 6]))
    if name == "gaussian":
        return LatentLaw(name, None, None)
    raise ValueError(f"latent must be one of {LATENTS}, got {name!r}")

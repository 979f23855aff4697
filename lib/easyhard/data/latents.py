"""Laws of the non-Gaussian latent nu of the mixed cumulant model (book: chapters/mixed_cumulant_model.ipynb, ``sec-mcm-model``).

Every law has zero mean and unit variance. Discrete laws are given by their
atoms and probabilities, so cumulants, samplers and the quantile coupling to
the Gaussian latent lam are exact.

=============  ======================================  ===============  ============  =======
name           law                                     kappa_3          kappa_4       kappa_6
=============  ======================================  ===============  ============  =======
rademacher     +-1 with probability 1/2                0                -2            16
skewed         sqrt(q/p) w.p. p, -sqrt(p/q) w.p. q     (q-p)/sqrt(pq)   (1-6pq)/(pq)
three_point    -sqrt3, 0, sqrt3 w.p. 1/6, 2/3, 1/6     0                0             -6
gaussian       N(0, 1) (control)                       0                0             0
=============  ======================================  ===============  ============  =======

with q = 1 - p, ``p = skew_p``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.special
import scipy.stats
import torch

from easyhard._validation import check_int, check_scalar

#: The names :func:`latent_law` accepts (``"rademacher_flip"`` is the sign-flip law).
LATENTS: tuple[str, ...] = ("rademacher", "skewed", "three_point", "gaussian", "rademacher_flip")


@dataclass(frozen=True)
class LatentLaw:
    """A zero-mean, unit-variance law; ``atoms``/``probs`` are None for the Gaussian."""

    name: str
    atoms: np.ndarray | None
    probs: np.ndarray | None

    @property
    def is_gaussian(self) -> bool:
        """True for the Gaussian law (no atoms)."""
        return self.atoms is None

    @staticmethod
    def check_order(k: object) -> int:
        """Return ``k`` if it is an integer cumulant order in [1, 8], else raise."""
        return check_int(k, "k (cumulant order)", lo=1, hi=8)

    def moment(self, k: int) -> float:
        """Raw moment E[nu^k], for an integer k in [0, 16]."""
        k = check_int(k, "k (moment order)", lo=0, hi=16)
        if self.is_gaussian:
            return 0.0 if k % 2 else float(scipy.special.factorial2(k - 1, exact=True)) if k else 1.0
        return float(np.sum(self.probs * self.atoms**k))

    def cumulant(self, k: int) -> float:
        """kappa_k(nu) from the raw moments by kappa_n = m_n - sum_j C(n-1, j-1) kappa_j m_{n-j}.

        ``k`` is an integer order in [1, 8] (a numpy integer too; not a bool).
        """
        k = self.check_order(k)
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
        """Draw ``n`` independent values of nu."""
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
    """The law called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`~easyhard.data.latents.LATENTS`.
    skew_p : float
        For ``"skewed"``, the probability p of the positive atom ``sqrt((1 - p)/p)``, in (0, 1).

    Returns
    -------
    LatentLaw
        A zero-mean, unit-variance law with its atoms, probabilities and cumulants.
    """
    if name == "rademacher":
        return LatentLaw(name, np.array([-1.0, 1.0]), np.array([0.5, 0.5]))
    if name == "skewed":
        p = check_scalar(skew_p, "skew_p", lo=0.0, hi=1.0, closed="neither")
        q = 1.0 - p
        law = LatentLaw(name, np.array([-math.sqrt(p / q), math.sqrt(q / p)]), np.array([q, p]))
        with np.errstate(over="ignore", invalid="ignore"):
            finite = all(math.isfinite(law.moment(k)) for k in range(1, 9))
        if not finite:
            raise ValueError(
                f"skew_p = {skew_p!r} is too close to 0 or 1: the moments up to order 8 of the "
                "skewed law overflow (use a skew_p further inside (0, 1))"
            )
        return law
    if name == "three_point":
        r3 = math.sqrt(3.0)
        return LatentLaw(name, np.array([-r3, 0.0, r3]), np.array([1 / 6, 2 / 3, 1 / 6]))
    if name == "gaussian":
        return LatentLaw(name, None, None)
    if name == "rademacher_flip":
        return sign_flip_law()
    raise ValueError(f"latent must be one of {LATENTS}, got {name!r}")


#: the ``|lam|`` at which the sign-flip coupling turns over so that E[lam nu] = 0:
#: exp(-t^2 / 2) = 1/2, i.e. t = sqrt(2 ln 2)
FLIP_THRESHOLD: float = math.sqrt(2.0 * math.log(2.0))


def sign_flip_law(threshold: float = FLIP_THRESHOLD) -> LatentLaw:
    """The Rademacher law with a coupling of correlation exponent 3 (``"rademacher_flip"``).

    Coupled, nu = s(lam) with the odd, +-1-valued step function

        ``s(lam) = -sign(lam)`` for ``|lam| < t``, ``s(lam) = sign(lam)`` for ``|lam| > t``.

    Since s is odd and lam symmetric, nu is Rademacher (its marginal). Its
    correlations with lam are E[lam^k s(lam)] = 0 for even k and, with
    phi the standard normal density,

        E[lam s(lam)]   = 4 phi(t) - 2 phi(0),
        E[lam^3 s(lam)] = 4 phi(t) (t^2 + 2) - 4 phi(0),

    so the default t = sqrt(2 ln 2) (phi(t) = phi(0)/2) gives E[lam nu] = 0 and
    E[lam^3 nu] = 4 ln 2 phi(0) = 1.106: the first Hermite correlation
    E[He_k(lam) nu] that is non-zero is k* = 3.

    The law is stored as four atoms (-1, +1, -1, +1) on the four Gaussian quantile
    bands (-inf, -t), (-t, 0), (0, t), (t, inf), so :meth:`LatentLaw.coupled`,
    :meth:`LatentLaw.thresholds`, the exact landscape and the compiled SGD draws
    apply unchanged (atoms are in band order, not sorted).
    """
    t = check_scalar(threshold, "threshold (|lam| where the sign flips)", lo=0.0, closed="neither")
    tail = float(scipy.stats.norm.sf(t))
    return LatentLaw(
        "rademacher_flip", np.array([-1.0, 1.0, -1.0, 1.0]), np.array([tail, 0.5 - tail, 0.5 - tail, tail])
    )


def coupled_moment(law: LatentLaw, k: int) -> float:
    """E[lam^k Q(lam)] for the coupling nu = Q(lam) of ``law`` (exact).

    Q is the step function with value ``atoms[j]`` between the thresholds
    c_{j-1} < lam < c_j (``Q = lam`` for the Gaussian latent), and
    int_a^b x^k phi = a^{k-1} phi(a) - b^{k-1} phi(b) + (k - 1) int_a^b x^{k-2} phi.
    ``coupled_moment(law, 1)`` equals :meth:`LatentLaw.e_gaussian_coupled`.
    """
    k = check_int(k, "k (power of lam)", lo=0, hi=12)
    if law.is_gaussian:
        return float(scipy.special.factorial2(k, exact=True)) if k % 2 == 1 else 0.0
    edges = np.concatenate([[-np.inf], law.thresholds(), [np.inf]])
    return float(np.sum(law.atoms * _truncated_normal_moment(edges[:-1], edges[1:], int(k))))


def _truncated_normal_moment(lo: np.ndarray, hi: np.ndarray, k: int) -> np.ndarray:
    """int_lo^hi x^k phi(x) dx by the recursion in k (infinite ends allowed)."""
    phi_lo, phi_hi = scipy.stats.norm.pdf(lo), scipy.stats.norm.pdf(hi)
    prev = scipy.stats.norm.cdf(hi) - scipy.stats.norm.cdf(lo)  # k = 0
    if k == 0:
        return prev
    cur = phi_lo - phi_hi  # k = 1
    for j in range(2, k + 1):
        with np.errstate(invalid="ignore"):
            edge = np.nan_to_num(lo ** (j - 1) * phi_lo) - np.nan_to_num(hi ** (j - 1) * phi_hi)
        prev, cur = cur, edge + (j - 1) * prev
    return cur

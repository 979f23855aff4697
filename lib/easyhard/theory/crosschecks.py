"""Independent cross-checks of the exact theory, shared by the tests and the book.

Book: chapters/information_exponent.ipynb. Each function computes one quantity
of :mod:`easyhard.theory` a second way, so that a wrong formula shows as a
disagreement:

* :func:`hermite_by_definition`: ``g_k = E[G_t(Z) He_k(Z)] / k!`` by
  Gauss-Hermite quadrature over p, against the Mehler formula of
  :func:`~easyhard.theory.hermite.hermite_coefficients`;
* :func:`series_and_exact`: the truncated series ``sum_{1<=k<=kmax} g_k E[He_k(w.x0)]``
  against the exact excess loss;
* :func:`leading_power`: the log-log slope of the exact loss along one spike,
  against the information exponent;
* :func:`monte_carlo_check`: the exact ``L_t(w)`` against a sample of the actual
  denoiser's loss, for the full loss and for a paired difference with a
  direction orthogonal to every spike (whose variance is far smaller).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from numpy.polynomial.hermite_e import hermegauss, hermevander
from numpy.typing import ArrayLike

from easyhard._validation import check_int, check_seed
from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.diffusion import noise
from easyhard.neuron import NeuronSpec, check_neuron
from easyhard.theory.hermite import check_kmax, hermite_coefficients, population_loss_1d
from easyhard.theory.landscape import MCMLike, excess_loss, hermite_moments, population_loss

__all__ = ["MonteCarloCheck", "hermite_by_definition", "leading_power", "loss_along", "monte_carlo_check", "series_and_exact"]

def hermite_by_definition(
    neuron: NeuronSpec, kmax: int = 6, nodes: int = 120
) -> np.ndarray:
    """``g_0..g_kmax`` from their definition, ``g_k = E[G_t(Z) He_k(Z)] / k!``, Z ~ N(0, 1).

    Gauss-Hermite quadrature with ``nodes`` nodes over p of the one-dimensional
    loss ``G_t(p)`` (:func:`~easyhard.theory.hermite.population_loss_1d`, which is
    smooth in p even for ReLU, since it averages over the noise).
    """
    kmax = check_kmax(kmax)
    nodes = check_int(nodes, "nodes (quadrature nodes)", lo=kmax + 1, hi=10_000)
    z, w = hermegauss(nodes)
    w = w / w.sum()
    G = population_loss_1d(check_neuron(neuron))(z)
    return (w * G) @ hermevander(z, kmax) / np.array([math.factorial(k) for k in range(kmax + 1)])


def series_and_exact(
    model: MCMLike, neuron: NeuronSpec, alpha_u: ArrayLike, alpha_v: ArrayLike,
    alpha_m: ArrayLike = 0.0, kmax: int = 10,
) -> tuple[np.ndarray, np.ndarray]:
    """``(exact, series)``: ``L_t - L_t^iso`` exactly, and its Hermite series truncated at ``kmax``.

    ``series = sum_{k=1}^{kmax} g_k(a) E[He_k(w.x0)]`` with the data factors of
    :func:`~easyhard.theory.landscape.hermite_moments`; the two differ by
    O(alpha^{kmax+1}) at small overlaps.
    """
    g = hermite_coefficients(check_neuron(neuron), kmax=check_kmax(kmax))
    exact = excess_loss(model, neuron, alpha_u, alpha_v, alpha_m)
    series = hermite_moments(model, kmax, alpha_u, alpha_v, alpha_m)[..., 1:] @ g[1:]
    return np.asarray(exact), np.asarray(series)


def loss_along(model: MCMLike, neuron: NeuronSpec, spike: str, alphas: ArrayLike) -> np.ndarray:
    """``|L_t(alpha e) - L_t(0)|`` at each overlap of ``alphas`` along ``spike``.

    ``spike`` is ``"covariance"`` (e = u) or ``"cumulant"`` (e = v); the other overlaps are 0.
    """
    alphas = np.asarray(alphas, float)
    if alphas.ndim != 1 or alphas.size < 2 or np.any(alphas <= 0):
        raise ValueError(f"alphas must be a 1-d array of at least 2 positive overlaps, got {alphas!r}")
    zero = np.zeros_like(alphas)
    if spike == "covariance":
        au, av = alphas, zero
    elif spike == "cumulant":
        au, av = zero, alphas
    else:
        raise ValueError(f"spike must be 'covariance' or 'cumulant', got {spike!r}")
    return np.abs(excess_loss(model, neuron, au, av))


def leading_power(model: MCMLike, neuron: NeuronSpec, spike: str, alphas: ArrayLike) -> float:
    """The least-squares slope of ``log`` :func:`loss_along` against ``log alpha``.

    At small ``alphas`` it is the spike's information exponent.
    """
    loss = loss_along(model, neuron, spike, alphas)
    return float(np.polyfit(np.log(np.asarray(alphas, float)), np.log(loss), 1)[0])


@dataclass(frozen=True)
class MonteCarloCheck:
    """The exact loss against a sample of ``n`` losses of the denoiser (x0 units, summed over dims).

    ``exact``, ``mean``, ``se``: ``L_t(w)`` exactly, its sample mean and standard
    error; ``exact_diff``, ``mean_diff``, ``se_diff``: the same for the paired
    difference ``L_t(w) - L_t(w_perp)`` on the same samples, with ``w_perp``
    orthogonal to every spike (its loss is the isotropic reference).
    """

    exact: float
    mean: float
    se: float
    exact_diff: float
    mean_diff: float
    se_diff: float
    n: int

    def agrees(self, n_se: float = 4.0) -> bool:
        """Whether both the loss and the difference agree with their exact values within ``n_se`` SE."""
        return bool(abs(self.mean - self.exact) < n_se * self.se
                    and abs(self.mean_diff - self.exact_diff) < n_se * self.se_diff)

    def has_power(self, n_se: float = 10.0) -> bool:
        """Whether the exact difference is more than ``n_se`` SE from 0 (the check can tell w from w_perp)."""
        return bool(abs(self.exact_diff) > n_se * self.se_diff)

    def summary(self) -> str:
        """Two lines: exact against Monte Carlo, for the loss and for the difference."""
        return (f"L(w):             exact {self.exact:.5f}   Monte Carlo {self.mean:.5f} +- {self.se:.5f}\n"
                f"L(w) - L(w_perp): exact {self.exact_diff:.5f}   Monte Carlo {self.mean_diff:.5f} "
                f"+- {self.se_diff:.5f}   ({self.n} samples)")


def monte_carlo_check(
    model: MCMLike, w: torch.Tensor, neuron: NeuronSpec, n: int, seed: int = 0
) -> MonteCarloCheck:
    """Sample ``n`` pairs ``(x0, x_t)`` and compare the losses of ``D_w`` and ``D_{w_perp}`` with the exact ones.

    The denoiser is the tied neuron of ``neuron``
    (:class:`~easyhard.denoisers.neuron.NeuronDenoiser`). ``w_perp`` is a unit
    vector orthogonal to u, v (and m when beta_m > 0), drawn with ``seed`` like the
    samples. ``model`` should be in float64 (``dtype=torch.float64``) so the
    losses, of order d, keep their digits.
    """
    n = check_int(n, "n (Monte Carlo samples)", lo=2, hi=10**8)
    check_neuron(neuron)
    gen = torch.Generator().manual_seed(check_seed(seed))
    w = torch.as_tensor(w, dtype=torch.float64)
    w = w / w.norm()
    spikes = [model.u, model.v] + ([model.m] if model.beta_m > 0 and model.m is not None else [])
    if model.d <= len(spikes):
        raise ValueError(f"the model's d must exceed the number of spikes ({len(spikes)}), got d = {model.d}")
    basis = torch.stack([e.double() for e in spikes] + [torch.randn(model.d, dtype=torch.float64, generator=gen)], 1)
    w_perp = torch.linalg.qr(basis)[0][:, -1]
    x0 = model.sample(n, gen).double()
    x_t, _ = noise(x0, neuron.a, gen)
    per_sample = {}
    for name, vec in (("w", w), ("perp", w_perp)):
        den = NeuronDenoiser(model.d, c=neuron.c, A=neuron.A, activation=neuron.activation,
                             dtype=torch.float64)
        den.W.data[0] = vec
        with torch.no_grad():
            per_sample[name] = (x0 - den(x_t)).pow(2).sum(-1).numpy()
    exact = {name: population_loss(model, vec, neuron) for name, vec in (("w", w), ("perp", w_perp))}
    diff = per_sample["w"] - per_sample["perp"]
    return MonteCarloCheck(
        exact=exact["w"], mean=float(per_sample["w"].mean()), se=float(per_sample["w"].std() / math.sqrt(n)),
        exact_diff=exact["w"] - exact["perp"], mean_diff=float(diff.mean()), se_diff=float(diff.std() / math.sqrt(n)),
        n=n,
    )

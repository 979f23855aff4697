"""Escape of the quartic overlap: closed forms and the rescaled diffusion.

The chapter "Easy and hard" derives these in its sections
{ref}`eh-flow-escape` (the noiseless flow and ``tau_v``) and
{ref}`eh-rescaled` (the rescaled process and its mean exit time).

For the quartic spike alone (``beta_u = 0``) write ``K = |g_4 kt_4|`` (Hermite
coefficient times the fourth cumulant of ``v.x0``), ``C = E[K0^2 + Kxi^2]`` the
noise constant, ``lr = delta / d`` with ``delta = c / d``, and ``x = d alpha_v^2``.
To leading order in ``alpha_v`` the overlap chain of projected online SGD moves,
in the rescaled time ``s = c n / d^3``, as the diffusion

    dx = [8 K x^2 - c C (x - 1)] ds + sqrt(4 c C x) dW,

whose coefficients do not depend on d. Only the exit level ``b = d eta^2`` and the
start ``x0 = d alpha_0^2`` do. The drift has three parts: the signal ``8 K x^2``
(the noiseless flow), the Ito contraction ``-c C x`` of the normalisation, and the
diffusion's push ``+c C``.

* ``c < c* = 32 K / C``: the drift is positive for every x;
* ``c > c*``: it is negative on the noise band ``(x_-, x_+)``, the roots of
  ``8 K x^2 - c C x + c C``.

Because the ``x^2`` drift explodes, the exit time to ``b -> infinity`` is finite, so
``n = d^3 s_exit / c`` is Theta(d^3) for every fixed c. A finite d shows a crossover
while ``b = d eta^2`` is still inside or near the noise band.

The mean exit time from ``x0`` to ``b`` (reflecting at 0, absorbing at b) is the
classical double integral ``T = int_{x0}^{b} S(y) int_0^y M(z) dz dy`` with scale
density ``S(x) = x^{-1/2} exp(-phi(x))``, speed density
``M(z) = z^{-1/2} exp(phi(z)) / (2 c C)`` and ``phi(x) = (2 K / (c C)) x^2 - x / 2``.
With ``x = r^2`` it becomes ``T = (2 / (c C)) int_{sqrt x0}^{sqrt b} J(r) dr``, where
``J(r) = exp(-phi(r^2)) int_0^r exp(phi(t^2)) dt`` solves ``J' = 1 - 2 r phi'(r^2) J``,
``J(0) = 0``; :func:`mean_exit_time` integrates that ODE.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.stats

from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import TANH_06, NeuronSpec, check_neuron
from easyhard.theory.hermite import hermite_coefficients

#: median of chi^2_1: the d -> infinity limit of d alpha_0^2 at the median start
MEDIAN_START_X_LIMIT: float = float(scipy.stats.chi2.ppf(0.5, 1))


def median_start_x(d: int) -> float:
    """``d alpha_0^2`` at the median start: ``d`` times the median of Beta(1/2, (d-1)/2).

    Tends to the median of chi^2_1, ``0.4549``, as d grows.
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 2:
        raise ValueError(f"d must be an integer >= 2, got {d!r}")
    return float(d * scipy.stats.beta.ppf(0.5, 0.5, (d - 1) / 2.0))


def quartic_rate(
    model: MixedCumulantModel, neuron: NeuronSpec = TANH_06,
) -> float:
    """``K = -g_4 kt_4``: positive when the quartic drift grows ``|alpha_v|``.

    The noiseless flow near ``alpha = 0`` is ``d alpha_v / d tau = 4 K alpha_v^3``.
    """
    g = hermite_coefficients(check_neuron(neuron), kmax=4)
    return float(-g[4] * model.kt(4))


def tau_quartic(d: int, eta: float, x0: float, rate: float) -> float:
    """Escape time of the noiseless quartic flow, ``(alpha_0^-2 - eta^-2) / (8 K)``.

    ``alpha_0^2 = x0 / d``; in SGD steps, ``n = d^2 tau / c`` for ``delta = c / d``.
    Returns inf if ``rate <= 0`` (the drift does not grow the overlap).
    """
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta must lie in (0, 1), got {eta!r}")
    if not x0 > 0.0:
        raise ValueError(f"x0 must be > 0, got {x0!r}")
    if x0 >= d * eta**2:
        return 0.0
    if rate <= 0.0:
        return math.inf
    return (d / x0 - 1.0 / eta**2) / (8.0 * rate)


@dataclass(frozen=True)
class QuarticDiffusion:
    """The rescaled diffusion ``dx = [8 K x^2 - c C (x - 1)] ds + sqrt(4 c C x) dW``.

    Parameters
    ----------
    rate
        ``K = -g_4 kt_4`` (:func:`quartic_rate`), > 0.
    noise
        ``C = E[K0^2 + Kxi^2]`` at alpha = 0, > 0.
    step_scale
        ``c`` of ``delta = c / d``, > 0.
    """

    rate: float
    noise: float
    step_scale: float

    def __post_init__(self) -> None:
        """Check that rate, noise and step_scale are finite numbers > 0."""
        for name in ("rate", "noise", "step_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")

    @property
    def critical_step(self) -> float:
        """``c* = 32 K / C``: above it the drift is negative on the noise band."""
        return 32.0 * self.rate / self.noise

    def drift(self, x: np.ndarray) -> np.ndarray:
        """Signal, Ito contraction and diffusion push: ``8 K x^2 - c C (x - 1)``."""
        x = np.asarray(x, dtype=float)
        return 8.0 * self.rate * x**2 - self.step_scale * self.noise * (x - 1.0)

    def noise_band(self) -> tuple[float, float] | None:
        """``(x_-, x_+)`` where the drift is negative, or None if ``c <= c*``."""
        cc = self.step_scale * self.noise
        disc = cc * cc - 32.0 * self.rate * cc
        if disc <= 0.0:
            return None
        root = math.sqrt(disc)
        return (cc - root) / (16.0 * self.rate), (cc + root) / (16.0 * self.rate)

    #: level up to which the exit-time integral is tabulated; beyond it the rest is noiseless
    FAR: float = 1e8

    @functools.cached_property
    def _integral(self) -> scipy.integrate.OdeSolution:
        """``(J(r), (2 / (c C)) int_0^r J)`` on ``[0, sqrt(FAR)]`` (module docstring)."""
        cc = self.step_scale * self.noise
        k2 = 2.0 * self.rate / cc

        def rhs(r: float, y: np.ndarray) -> list[float]:
            return [1.0 - 2.0 * r * (2.0 * k2 * r * r - 0.5) * y[0], 2.0 / cc * y[0]]

        def jac(r: float, _y: np.ndarray) -> list[list[float]]:
            return [[-2.0 * r * (2.0 * k2 * r * r - 0.5), 0.0], [2.0 / cc, 0.0]]

        sol = scipy.integrate.solve_ivp(rhs, (0.0, math.sqrt(self.FAR)), [0.0, 0.0], method="Radau",
                                        jac=jac, rtol=1e-10, atol=1e-13, dense_output=True)
        if not sol.success:
            raise RuntimeError(f"mean exit time integration failed: {sol.message}")
        return sol.sol

    def mean_exit_time(self, x0: float, exits: np.ndarray | float) -> np.ndarray:
        """Mean rescaled time ``E[s]`` from ``x0`` to each level in ``exits`` (module docstring).

        Levels at or below ``x0`` give 0; ``np.inf`` gives the d -> infinity limit (the
        part beyond ``FAR`` is the noiseless ``1 / (8 K FAR)``, which the drift dominates there).
        """
        exits = np.atleast_1d(np.asarray(exits, dtype=float))
        if not (math.isfinite(x0) and x0 >= 0.0):
            raise ValueError(f"x0 must be a finite number >= 0, got {x0!r}")
        if np.any(np.isnan(exits)) or np.any(exits <= 0) or np.any(exits[np.isfinite(exits)] > self.FAR):
            raise ValueError(f"exits must lie in (0, {self.FAR:g}] or be inf")
        F = self._integral
        ends = np.sqrt(np.minimum(exits, self.FAR))
        out = F(ends)[1] - F(np.full_like(ends, math.sqrt(min(x0, self.FAR))))[1]
        out = out + np.where(np.isfinite(exits), 0.0, 1.0 / (8.0 * self.rate * self.FAR))
        return np.where(exits <= x0, 0.0, out)

    def mean_steps_over_d3(self, dims: np.ndarray, eta: float, x0: float | None = None,
                           start: str = "median", nodes: int = 4000) -> np.ndarray:
        """Mean first-passage step over ``d^3`` at each d: ``E[s] / c`` with exit ``d eta^2``.

        ``start="median"``: from ``x0`` (default: the median start of each d);
        ``start="uniform"``: averaged over a uniform start, ``x0 = d B`` with
        ``B ~ Beta(1/2, (d - 1)/2)`` (chi^2_1 in the limit), by ``nodes`` quantile midpoints.
        ``dims`` may contain ``np.inf`` (the d -> infinity limit).
        """
        if not 0.0 < eta < 1.0:
            raise ValueError(f"eta must lie in (0, 1), got {eta!r}")
        if start not in ("median", "uniform"):
            raise ValueError(f"start must be 'median' or 'uniform', got {start!r}")
        dims = np.atleast_1d(np.asarray(dims, dtype=float))
        out = np.empty(dims.shape)
        levels = (np.arange(nodes) + 0.5) / nodes
        for i, d in enumerate(dims):
            exit_level = np.array([d * eta**2])
            if start == "uniform":
                x0s = (scipy.stats.chi2.ppf(levels, 1) if not math.isfinite(d)
                       else d * scipy.stats.beta.ppf(levels, 0.5, (d - 1) / 2.0))
                F = self._integral
                ends = math.sqrt(min(float(exit_level[0]), self.FAR))
                times = F(ends)[1] - F(np.sqrt(np.minimum(x0s, ends**2)))[1]
                if not math.isfinite(d):
                    times = times + 1.0 / (8.0 * self.rate * self.FAR)
                out[i] = float(np.mean(times)) / self.step_scale
                continue
            x = x0 if x0 is not None else (
                MEDIAN_START_X_LIMIT if not math.isfinite(d) else median_start_x(int(d)))
            out[i] = self.mean_exit_time(x, exit_level)[0] / self.step_scale
        return out

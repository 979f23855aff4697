"""Theory to overlay on online SGD: the population overlap flow and escape times.

The chapter "Easy and hard" derives these in its sections "The population
flow" and "Step noise". With ``lr = delta / d`` per step and ``tau = delta n / d``, the mean SGD
update follows the spherical gradient flow of the exact population landscape
``L(alpha_u, alpha_v)`` (:func:`easyhard.theory.landscape.excess_loss`):

    d alpha_e / d tau = -(dL/d alpha_e - alpha_e sum_f alpha_f dL/d alpha_f),   e, f in {u, v}.

Near alpha = 0 this is the linearised flow ``d alpha_u/d tau = -2 g_2 (beta_u alpha_u + rho alpha_v)``,
``d alpha_v/d tau = -2 g_2 rho alpha_u - 4 g_4 kt_4 alpha_v^3``. The flow is
started at the *median* initial overlap of a uniform start, ``alpha_0^2 =``
median of Beta(1/2, (d-1)/2), so the flow's escape time is the median escape
time of walkers that followed the mean drift. The step noise is left out of
the flow; :func:`noise_constant` and :func:`critical_step` quantify it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.integrate
import scipy.stats

from easyhard._validation import check_choice, check_int, check_scalar
from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import TANH_06, NeuronSpec, check_neuron
from easyhard.theory.hermite import hermite_coefficients
from easyhard.theory.landscape import excess_loss
from easyhard.theory.quadrature import normal_rule

_FD = 1e-5


def median_start(d: int) -> float:
    """Median of ``|w.e|`` for w uniform on S^{d-1}: sqrt(median of Beta(1/2, (d-1)/2))."""
    d = check_int(d, "d", lo=2)
    return math.sqrt(scipy.stats.beta.ppf(0.5, 0.5, (d - 1) / 2.0))


def overlap_flow(
    model: MixedCumulantModel, neuron: NeuronSpec = TANH_06,
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The right-hand side ``f(tau, (alpha_u, alpha_v))`` of the population flow."""
    check_neuron(neuron)

    def loss(au: np.ndarray, av: np.ndarray) -> np.ndarray:
        return excess_loss(model, neuron, au, av)

    def rhs(_tau: float, y: np.ndarray) -> np.ndarray:
        au, av = float(y[0]), float(y[1])
        shrink = min(1.0, (1.0 - 4 * _FD) / max(math.hypot(au, av), 1e-300))
        au, av = au * shrink, av * shrink
        pts = loss(np.array([au + _FD, au - _FD, au, au]), np.array([av, av, av + _FD, av - _FD]))
        gu = (pts[0] - pts[1]) / (2 * _FD)
        gv = (pts[2] - pts[3]) / (2 * _FD)
        radial = au * gu + av * gv
        return np.array([-(gu - au * radial), -(gv - av * radial)])

    return rhs


def integrate_flow(
    model: MixedCumulantModel, tau: np.ndarray, alpha0: tuple[float, float],
    neuron: NeuronSpec = TANH_06,
) -> np.ndarray:
    """Return alpha_u(tau), alpha_v(tau) of the flow from ``alpha0``, shape (2, len(tau)).

    Raises
    ------
    ValueError
        If ``tau`` is not a non-empty, finite, non-decreasing array of times >= 0,
        or ``alpha0`` is not a finite pair with ``alpha_u^2 + alpha_v^2 <= 1``
        (the overlaps of a unit vector with two orthonormal directions).
    """
    tau = np.asarray(tau, dtype=float)
    if (tau.ndim != 1 or tau.size == 0 or not np.all(np.isfinite(tau)) or tau[0] < 0
            or np.any(np.diff(tau) < 0)):
        raise ValueError(f"tau must be a non-empty, finite, non-decreasing 1-d array of times "
                         f">= 0, got {tau!r}")
    start = np.asarray(alpha0, dtype=float)
    if start.shape != (2,) or not np.all(np.isfinite(start)) or float(start @ start) > 1.0:
        raise ValueError(f"alpha0 must be (alpha_u, alpha_v) with alpha_u^2 + alpha_v^2 <= 1, "
                         f"got {alpha0!r}")
    sol = scipy.integrate.solve_ivp(
        overlap_flow(model, neuron), (0.0, float(tau[-1])), start,
        t_eval=tau, method="LSODA", rtol=1e-8, atol=1e-12,
    )
    if not sol.success:
        raise RuntimeError(f"overlap flow failed: {sol.message}")
    return sol.y


def escape_time(
    model: MixedCumulantModel, spike: str, eta: float, neuron: NeuronSpec = TANH_06,
    tau_max: float | None = None,
) -> float:
    """Return the tau at which the flow from the median start first reaches ``|alpha_spike| = eta``.

    Both overlaps start at ``median_start(d)``; the result is inf if the flow
    does not reach ``eta`` before ``tau_max`` (default: 100 times
    :func:`escape_formula`, or ``1000 d`` where that is infinite).

    Raises
    ------
    ValueError
        If ``spike`` is not "u" or "v", ``eta`` is not in (0, 1), or ``tau_max``
        is not a finite number > 0.
    """
    spike = check_choice(spike, "spike", ("u", "v"))
    eta = check_scalar(eta, "eta (threshold)", lo=0.0, hi=1.0, closed="neither")
    if tau_max is not None:
        tau_max = check_scalar(tau_max, "tau_max", lo=0.0, closed="neither")
    start = median_start(model.d)
    k = 0 if spike == "u" else 1
    if tau_max is None:
        tau_max = 100.0 * escape_formula(model, spike, eta, neuron)
        if not math.isfinite(tau_max):
            tau_max = 1e3 * model.d

    def hit(_t: float, y: np.ndarray) -> float:
        return abs(y[k]) - eta

    hit.terminal = True
    sol = scipy.integrate.solve_ivp(
        overlap_flow(model, neuron), (0.0, tau_max), np.array([start, start]),
        events=hit, method="LSODA", rtol=1e-8, atol=1e-12,
    )
    return float(sol.t_events[0][0]) if sol.t_events[0].size else math.inf


def escape_formula(
    model: MixedCumulantModel, spike: str, eta: float, neuron: NeuronSpec = TANH_06,
) -> float:
    """Return the closed-form escape time of the chapter "Easy and hard".

    ``tau_u = ln(eta sqrt d) / (2 |g_2| beta_u)`` for the covariance spike,
    ``tau_v = d / (8 |g_4 kt_4|)`` for the quartic spike (no correlation); inf
    if the sign condition g_k * data factor < 0 fails.
    """
    g = hermite_coefficients(check_neuron(neuron), kmax=4)
    d = model.d
    if spike == "u":
        rate = -2.0 * g[2] * model.beta_u
        return math.log(eta * math.sqrt(d)) / rate if rate > 0 else math.inf
    strength = g[4] * model.kt(4)
    return d / (8.0 * abs(strength)) if strength < 0 else math.inf


def noise_constant(neuron: NeuronSpec = TANH_06, nodes: int = 64) -> float:
    """Return the step-noise constant C = E[K0^2 + Kxi^2] at alpha = 0 (p, zeta i.i.d. N(0, 1)).

    It gives E||G||^2 = C d + O(1), and the step noise adds ``-(delta / 2) C alpha`` to the flow
    (from ``|w - lr G| = sqrt(1 + lr^2 |G|^2)``), balanced at alpha^2 ~ 1/d by diffusion.

    ``K0, Kxi`` are the per-sample gradient coefficients of :mod:`easyhard.sgd._kernels`,
    with sigma' from :meth:`~easyhard.activations.Activation.slope`. The expectation is
    taken in the rotated pair ``h = a p + s zeta``, ``q = s p - a zeta`` (again i.i.d.
    N(0, 1)) by :func:`~easyhard.theory.quadrature.normal_rule`, with a panel edge at
    h = 0, where ReLU's kink lies.
    """
    check_neuron(neuron)
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    hn, hw = normal_rule((0.0,), nodes)
    qn, qw = normal_rule((), nodes)
    h, q = np.meshgrid(hn, qn, indexing="ij")
    p = a * h + s * q
    sig, dsig = act.numpy(h), act.slope(h)
    g1 = -2.0 * A * dsig * (p - c * h - A * sig)
    g2 = -2.0 * A * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    return float(np.einsum("i,j,ij->", hw, qw, k0 * k0 + kxi * kxi))


def critical_step(
    model: MixedCumulantModel, neuron: NeuronSpec = TANH_06,
) -> float:
    """The step constant c* of delta = c/d above which the quartic drift loses to step noise.

    With m = alpha_v^2 = x/d the mean motion is
    ``dx/dtau = (1/d) [8 |g_4 kt_4| x^2 - c C (x - 1)]``: for ``c C > 32 |g_4 kt_4|``
    the bracket turns negative on an interval of x = O(1) and walkers must cross it by
    fluctuations; below, the drift is positive everywhere. Returns ``32 |g_4 kt_4| / C``.
    """
    g = hermite_coefficients(check_neuron(neuron), kmax=4)
    return 32.0 * abs(g[4] * model.kt(4)) / noise_constant(neuron)

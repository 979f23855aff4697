"""Fixed points of a single neuron on the correlated MCM, and the gain from higher cumulants.

The model is the correlated mixed cumulant model (MCM); the gain from higher-order
statistics is computed exactly. Three numbers describe where a single tied neuron ends
up in the (alpha_u, alpha_v) plane:

* the **pair-wise fixed point**: with coupled latents the covariance has the block
  ``M = [[beta_u, rho], [rho, 0]]`` on span(u, v) (plus the identity), and any
  denoiser that uses only pair-wise statistics is driven to its top eigenvector
  ``(cos theta, sin theta)``, ``tan theta = 2 rho / (beta_u + sqrt(beta_u^2 + 4 rho^2))``
  (:func:`pairwise_fixed_point`);
* the **population minimum** of the full loss, which also uses the higher cumulants
  (:func:`population_minimum`, from the exact landscape
  :func:`easyhard.theory.landscape.excess_loss`);
* the finite-step plateaus of SGD, measured, not computed here.

The **higher-order gain** of a weight w is ``L_MCM(w) - L_surrogate(w)``, the
population loss on the data minus that on its Gaussian surrogate N(mean, C).
For the surrogate p = w.x0 is Gaussian with mean ``beta_m alpha_m`` and variance
``w^T C w = 1 + beta_u alpha_u^2 + 2 rho alpha_u alpha_v``, so its loss depends on
the data only through pair-wise statistics; the gain is zero for every w when the
data are Gaussian, and negative where the neuron profits from higher cumulants.
Both losses are exact (quadrature), in x0 units per sample.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike

from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import TANH_06, NeuronSpec, check_neuron
from easyhard.theory.hermite import smoothed_G
from easyhard.theory.landscape import MCMLike, check_overlaps, excess_loss


def _rho(model: MCMLike) -> float:
    """Cov(u.x0, v.x0) = sqrt(beta_u beta_v / (1 + beta_v)) E[lam nu]."""
    e_lam_nu = model.p_corr * model.law.e_gaussian_coupled()
    return math.sqrt(model.beta_u * model.beta_v / (1.0 + model.beta_v)) * e_lam_nu


def pairwise_fixed_point(model: MCMLike) -> tuple[float, float]:
    """Overlaps of the pair-wise fixed point: the top eigenvector on span(u, v).

    ``(alpha_u, alpha_v)`` of the top eigenvector of ``[[beta_u, rho], [rho, 0]]``,
    oriented with alpha_u >= 0 (then alpha_v has the sign of rho). It is the unit w in
    span(u, v) of largest variance w^T C w: where principal component analysis, or any
    neuron that sees only the covariance, points.
    0.285 for the v-component at beta_u = beta_v = 5, nu = sign(lam).
    """
    rho = _rho(model)
    theta = math.atan2(2.0 * rho, model.beta_u + math.sqrt(model.beta_u**2 + 4.0 * rho * rho))
    return math.cos(theta), math.sin(theta)


def surrogate_excess_loss(
    model: MCMLike,
    neuron: NeuronSpec,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    alpha_m: ArrayLike = 0.0,
) -> np.ndarray:
    """L_surrogate(w) - L^iso: the excess loss of the neuron on the Gaussian surrogate.

    Same units and reference as :func:`~easyhard.theory.landscape.excess_loss`
    (E[G_t(p)] - E[G_t(Z)], Z ~ N(0, 1)), with p ~ N(beta_m alpha_m, w^T C w).
    Raises ``ValueError`` if alpha_m^2 + alpha_u^2 + alpha_v^2 > 1.
    """
    check_neuron(neuron)
    au, av, am = check_overlaps(alpha_u, alpha_v, alpha_m)
    var = 1.0 + model.beta_u * au * au + 2.0 * _rho(model) * au * av
    total = smoothed_G(neuron, model.beta_m * am, np.sqrt(var))
    return total - smoothed_G(neuron, np.zeros(()), np.ones(()))


def higher_order_gain(
    model: MCMLike,
    neuron: NeuronSpec,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    alpha_m: ArrayLike = 0.0,
) -> np.ndarray:
    """L_MCM(w) - L_surrogate(w), exactly, broadcast over the overlap arrays (x0 units).

    Zero for Gaussian data (independent latents and a Gaussian nu, or a jointly
    Gaussian coupling); negative where the neuron's loss profits from cumulants
    beyond the covariance.
    """
    full = excess_loss(model, neuron, alpha_u, alpha_v, alpha_m)
    return full - surrogate_excess_loss(model, neuron, alpha_u, alpha_v, alpha_m)


def population_minimum(
    model: MCMLike,
    neuron: NeuronSpec = TANH_06,
    surrogate: bool = False,
    grid: int = 721,
) -> tuple[float, float, float]:
    """Minimum of the population loss over unit w in span(u, v), on the data or its surrogate.

    Returns ``(alpha_u, alpha_v, excess loss)`` at the minimum over unit w in
    span(u, v) (alpha_u >= 0), on the data or (``surrogate=True``) on its
    Gaussian surrogate. A grid over the angle theta (``grid`` points on the half
    circle) brackets the minimum, which is then polished by a bounded scalar
    minimisation. Weight outside
    span(u, v) meets isotropic Gaussian bulk only, so the minimum lies on the circle
    alpha_u^2 + alpha_v^2 = 1 (tested against a grid over the disk).
    """
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 16:
        raise ValueError(f"grid (number of angles) must be an integer >= 16, got {grid!r}")
    loss = surrogate_excess_loss if surrogate else excess_loss

    def on_circle(theta: np.ndarray) -> np.ndarray:
        return loss(model, neuron, np.cos(theta), np.sin(theta))

    thetas = np.linspace(-0.5 * math.pi, 0.5 * math.pi, int(grid))
    values = on_circle(thetas)
    i = int(np.argmin(values))
    step = thetas[1] - thetas[0]
    lo, hi = thetas[max(i - 1, 0)], thetas[min(i + 1, len(thetas) - 1)]
    if hi - lo < step:  # minimum at an end of the grid
        return float(np.cos(thetas[i])), float(np.sin(thetas[i])), float(values[i])
    res = scipy.optimize.minimize_scalar(
        lambda t: float(on_circle(np.array(t))), bounds=(lo, hi), method="bounded",
        options={"xatol": 1e-10},
    )
    theta = float(res.x)
    return math.cos(theta), math.sin(theta), float(res.fun)


def matched_gaussian_model(model: MixedCumulantModel) -> MixedCumulantModel:
    """The Gaussian control of ``model``: an MCM whose data are exactly its Gaussian surrogate.

    Gaussian latent coupled with ``p_corr = 1`` (nu = lam, so (lam, nu) is jointly
    Gaussian) and beta_v' chosen so that sqrt(beta_u beta_v' / (1 + beta_v')) = rho:
    the same mean and covariance as ``model`` (same seed, so the same u, v) and no
    cumulant beyond the second. With rho = 0 it is the independent Gaussian latent.

    (A Gaussian latent with ``p_corr = sqrt(2/pi)`` has the same rho but is a
    *mixture* of nu = lam and an independent nu: its pair (lam, nu) has the joint
    cumulant kappa(lam, lam, nu, nu) = 2 p (1 - p) != 0, so it is not a clean control.)
    """
    if not isinstance(model, MixedCumulantModel):
        raise TypeError(f"model must be a MixedCumulantModel, got {type(model).__name__}")
    rho = model.rho
    kw = dict(beta_u=model.beta_u, beta_m=model.beta_m, latent="gaussian", seed=model.seed,
              device=model.device, dtype=model.dtype)
    if rho == 0.0:
        return MixedCumulantModel(model.d, beta_v=model.beta_v, p_corr=0.0, **kw)
    if model.beta_u == 0.0:
        raise ValueError("rho != 0 needs beta_u > 0")  # unreachable: rho is proportional to sqrt(beta_u)
    b2 = rho * rho / model.beta_u  # = beta_v' / (1 + beta_v') < 1 since |E[lam nu]| < 1
    if not b2 < 1.0:
        raise ValueError(f"rho = {rho!r} is too large for a Gaussian control (need rho^2 < beta_u)")
    return MixedCumulantModel(model.d, beta_v=b2 / (1.0 - b2), p_corr=1.0, **kw)


def noise_strength(
    model: MCMLike,
    neuron: NeuronSpec,
    alpha_u: ArrayLike,
    alpha_v: ArrayLike,
    nodes: int = 24,
) -> np.ndarray:
    """C(alpha) = E[K0^2 + Kxi^2] with p = w.x0 from the data and zeta ~ N(0, 1) independent.

    K0, Kxi are the two scalars of the per-sample gradient of :mod:`easyhard.sgd`
    (``grad = K0 x0 + Kxi xi + (radial)``, :mod:`easyhard.sgd._kernels`), so that E||G||^2 = C d + O(1) and the
    projection of each SGD step contracts every overlap by ``lr^2 C d / 2``: in the
    time tau = delta n / d a drift ``-(delta / 2) C(alpha) alpha``. Gauss-Hermite
    quadrature (``nodes`` per Gaussian variable) over each mixture component of p.
    """
    from easyhard.theory.landscape import projection_mixture

    check_neuron(neuron)
    act, a, s, c, A = neuron.activation, neuron.a, neuron.s, neuron.c, neuron.A
    mu, r, weight = projection_mixture(model, alpha_u, alpha_v)
    y, wy = np.polynomial.hermite_e.hermegauss(int(nodes))
    wy = wy / wy.sum()
    p = mu[..., None, None] + r[..., None, None] * y[:, None]  # (..., J, ny, 1)
    zeta = y[None, :]
    h = a * p + s * zeta
    import torch

    ht = torch.as_tensor(h, dtype=torch.float64).requires_grad_(True)
    sig_t = act.torch(ht)
    (dsig_t,) = torch.autograd.grad(sig_t.sum(), ht)
    sig, dsig = sig_t.detach().numpy(), dsig_t.numpy()
    g1 = -2.0 * A * dsig * (p - c * h - A * sig)
    g2 = -2.0 * A * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    inner = np.einsum("...ij,i,j->...", k0 * k0 + kxi * kxi, wy, wy)  # (..., J)
    return np.sum(inner * weight, -1)


def mean_field_flow(
    model: MCMLike,
    delta: float,
    neuron: NeuronSpec = TANH_06,
    grid: tuple[int, int] = (21, 49),
) -> Callable[[float, np.ndarray], np.ndarray]:
    """The right-hand side of the mean-field flow of SGD with step delta / d.

    The flow is

        d alpha / d tau = -(grad L - alpha (alpha . grad L)) - (delta / 2) C(alpha) alpha,

    the spherical gradient flow of the exact landscape L = excess loss
    (:func:`~easyhard.theory.landscape.excess_loss`, as in :mod:`easyhard.theory.flow`) plus
    the contraction by the projection of each noisy step (:func:`noise_strength`). It
    moves the fixed points inside the unit circle by O(delta): the finite-step
    plateaus. ``delta = 0`` is the noiseless population flow. L and C are computed on a
    polar grid of ``grid`` = (radii, angles) points once (they do not depend on d) and
    interpolated by bicubic splines (L) and linearly (C). The diffusion of the
    overlaps, O(delta / d), is left out: it matters only at alpha^2 ~ 1/d.
    """
    delta = float(delta)
    if not math.isfinite(delta) or delta < 0.0:
        raise ValueError(f"delta (step constant) must be a finite number >= 0, got {delta!r}")
    loss, strength = _polar_tables(model, check_neuron(neuron), grid)

    def rhs(_tau: float, y: np.ndarray) -> np.ndarray:
        au, av = float(y[0]), float(y[1])
        r = min(math.hypot(au, av), 1.0)
        th = math.atan2(av, au)
        dr = float(loss(r, th, dx=1, grid=False))
        dth = float(loss(r, th, dx=0, dy=1, grid=False))
        cos, sin = (au / r, av / r) if r > 0 else (1.0, 0.0)
        inv_r = 1.0 / r if r > 0 else 0.0
        gu = cos * dr - sin * inv_r * dth
        gv = sin * dr + cos * inv_r * dth
        radial = au * gu + av * gv
        contraction = 0.5 * delta * float(strength((r, th)))
        return np.array([-(gu - au * radial) - contraction * au, -(gv - av * radial) - contraction * av])

    return rhs


_TABLES: dict[tuple, tuple] = {}


def _polar_tables(model: MCMLike, neuron: NeuronSpec, grid: tuple[int, int]) -> tuple:
    """Bicubic spline of L(r, theta) and linear interpolant of C(r, theta), memoised per model law."""
    import scipy.interpolate

    key = (model.beta_u, model.beta_v, model.beta_m, model.p_corr, model.law.name,
           None if model.law.is_gaussian else tuple(model.law.probs), neuron, tuple(grid))
    if key not in _TABLES:
        radii = np.linspace(0.0, 1.0, grid[0])
        angles = np.linspace(-math.pi, math.pi, grid[1])
        R, T = np.meshgrid(radii, angles, indexing="ij")
        L = excess_loss(model, neuron, R * np.cos(T), R * np.sin(T))
        Rc, Tc = R[::2, ::2], T[::2, ::2]
        C = noise_strength(model, neuron, Rc * np.cos(Tc), Rc * np.sin(Tc), nodes=10)
        _TABLES[key] = (
            scipy.interpolate.RectBivariateSpline(radii, angles, L, kx=3, ky=3, s=0),
            scipy.interpolate.RegularGridInterpolator((radii[::2], angles[::2]), C),
        )
    return _TABLES[key]


def mean_field_escape(
    model: MCMLike, delta: float, eta: float, start: tuple[float, float],
    neuron: NeuronSpec = TANH_06, tau_max: float = 200.0,
) -> float:
    """Time at which the mean-field flow from ``start`` first reaches ``|alpha_v| = eta``.

    The time is tau of :func:`mean_field_flow`; inf if not before ``tau_max``.
    """
    import scipy.integrate

    def hit(_t: float, y: np.ndarray) -> float:
        return abs(y[1]) - eta

    hit.terminal = True
    sol = scipy.integrate.solve_ivp(mean_field_flow(model, delta, neuron), (0.0, tau_max),
                                    np.asarray(start, float), events=hit, method="LSODA", rtol=1e-7, atol=1e-10)
    return float(sol.t_events[0][0]) if sol.t_events[0].size else math.inf


def mean_field_plateau(
    model: MCMLike, delta: float, neuron: NeuronSpec = TANH_06, tau: float = 200.0,
) -> tuple[float, float]:
    """Overlaps ``(|alpha_u|, |alpha_v|)`` where the mean-field flow settles.

    The flow starts near the pair-wise fixed point; where it settles is the
    finite-step plateau predicted to O(delta).
    """
    import scipy.integrate

    au, av = pairwise_fixed_point(model)
    start = np.array([0.9 * au, 0.9 * av + 0.01 * (av == 0.0)])
    sol = scipy.integrate.solve_ivp(mean_field_flow(model, delta, neuron), (0.0, tau), start,
                                    method="LSODA", rtol=1e-8, atol=1e-11)
    return abs(float(sol.y[0, -1])), abs(float(sol.y[1, -1]))

"""Shared pieces of the SGD engines: input checks, the per-sample gradient, records.

The per-sample gradient (science.md 5). For the tied single neuron
``D_w(x_t) = c x_t + A w sigma(h)``, ``h = w.x_t``, ``||w|| = 1``, write
``p = w.x0`` and ``zeta = w.xi`` (so ``h = a p + s zeta``) and
``R = x0 - c x_t - A w sigma(h)`` (the residual; ``w.R = p - c h - A sigma``).
The loss ``l = ||R||^2`` has gradient

    grad_w l = -2 A sigma R - 2 A sigma' (w.R) x_t
             = K0 x0 + Kxi xi + 2 A^2 sigma^2 w,
    K0  = a g1 + (1 - c a) g2,   Kxi = s g1 - c s g2,
    g1  = -2 A sigma'(h) (p - c h - A sigma(h)),   g2 = -2 A sigma(h),

using ``x_t = a x0 + s xi``. The last term is radial and drops out of the
spherical gradient ``G = (I - w w^T) grad = K0 x0 + Kxi xi - (K0 p + Kxi zeta) w``.
The gradient depends on the sample only through ``(p, zeta)`` and lies in
``span(w, x0, xi)``: that is what makes the exact reduction possible.

The w-dependent part of the loss, recorded by the engines, is
``G_loss = l - ||x0 - c x_t||^2 = A^2 sigma^2 - 2 A sigma (p - c h)``
(x0 units, summed over dimensions; its Gaussian mean is ``g_0`` of science.md 4.2).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np

from easyhard.activations import Activation
from easyhard.data.mcm import MixedCumulantModel
from easyhard.diffusion import vp_coefficients

ENGINES: tuple[str, ...] = ("direct", "reduced")
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")
#: activations the compiled engines know, by code
NUMBA_ACTIVATIONS: dict[str, int] = {"tanh": 0, "erf": 1, "relu": 2, "linear": 3}
SPIKES: tuple[str, ...] = ("u", "v")

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


@nb.njit(cache=True, inline="always")
def activation_and_slope(h: float, code: int) -> tuple[float, float]:
    """sigma(h) and sigma'(h) for the activation with ``code`` (see NUMBA_ACTIVATIONS)."""
    if code == 0:
        t = math.tanh(h)
        return t, 1.0 - t * t
    if code == 1:
        return math.erf(h * _INV_SQRT2), _SQRT_2_OVER_PI * math.exp(-0.5 * h * h)
    if code == 2:
        return (h, 1.0) if h > 0.0 else (0.0, 0.0)
    return h, 1.0


@nb.njit(cache=True, inline="always")
def single_neuron_coefficients(
    p: float, zeta: float, a: float, s: float, c: float, amp: float, code: int
) -> tuple[float, float, float]:
    """``(K0, Kxi, G_loss)`` of the per-sample gradient for one neuron (module docstring)."""
    h = a * p + s * zeta
    sig, dsig = activation_and_slope(h, code)
    g1 = -2.0 * amp * dsig * (p - c * h - amp * sig)
    g2 = -2.0 * amp * sig
    k0 = a * g1 + (1.0 - c * a) * g2
    kxi = s * g1 - c * s * g2
    loss = amp * amp * sig * sig - 2.0 * amp * sig * (p - c * h)
    return k0, kxi, loss


@nb.njit(cache=True, inline="always")
def draw_latents(
    rng: np.random.Generator,
    gaussian: bool,
    atoms: np.ndarray,
    cdf: np.ndarray,
    cuts: np.ndarray,
    p_corr: float,
) -> tuple[float, float]:
    """(lam, nu) of the MCM (science.md 2): nu from its law, or coupled ``Q(Phi(lam))``
    with probability ``p_corr`` (the quantile coupling of :mod:`easyhard.data.latents`)."""
    lam = rng.standard_normal()
    coupled = p_corr > 0.0 and rng.random() < p_corr
    if gaussian:
        return lam, lam if coupled else rng.standard_normal()
    if coupled:
        j = 0
        while j < cuts.size and lam > cuts[j]:
            j += 1
        return lam, atoms[j]
    x = rng.random()
    j = 0
    while j < cdf.size - 1 and x >= cdf[j]:
        j += 1
    return lam, atoms[j]


@nb.njit(cache=True, inline="always")
def chi_square(rng: np.random.Generator, df: int, mt_d: float, mt_c: float) -> float:
    """An exact chi2(df) draw: N(0,1)^2 for df = 1, else 2 Gamma(df/2) by Marsaglia and
    Tsang's rejection method with its constants ``mt_d = df/2 - 1/3``,
    ``mt_c = 1/sqrt(9 mt_d)`` precomputed (see :func:`mt_constants`)."""
    if df == 1:
        g = rng.standard_normal()
        return g * g
    while True:
        x = rng.standard_normal()
        t = 1.0 + mt_c * x
        if t <= 0.0:
            continue
        t = t * t * t
        y = rng.random()
        x2 = x * x
        if y < 1.0 - 0.0331 * x2 * x2:
            return 2.0 * mt_d * t
        if math.log(y) < 0.5 * x2 + mt_d * (1.0 - t + math.log(t)):
            return 2.0 * mt_d * t


@nb.njit(cache=True)
def mt_constants(df: int) -> tuple[float, float]:
    """Marsaglia-Tsang constants of Gamma(df/2), df >= 2 (unused placeholders for df = 1)."""
    if df < 2:
        return 1.0, 1.0
    dd = df / 2.0 - 1.0 / 3.0
    return dd, 1.0 / math.sqrt(9.0 * dd)


def walker_chunks(
    seed: int, walkers: int, progress: bool, desc: str
) -> Iterator[tuple[np.random.Generator, slice]]:
    """Split the walkers into at most 64 consecutive chunks, each with its own generator
    spawned from ``seed`` (PCG64); a compiled kernel runs a chunk's walkers in turn."""
    from tqdm.auto import tqdm

    chunks = min(walkers, 64)
    bounds = np.linspace(0, walkers, chunks + 1).round().astype(int)
    seqs = np.random.SeedSequence(seed).spawn(chunks)
    for i in tqdm(range(chunks), desc=desc, disable=not progress, leave=False):
        yield np.random.default_rng(seqs[i]), slice(bounds[i], bounds[i + 1])


@dataclass(frozen=True)
class Problem:
    """Everything an engine needs, as plain numbers and arrays (checked once)."""

    d: int
    beta_u: float
    beta_v: float
    a: float
    s: float
    c: float
    amp: float
    act_code: int
    activation: str
    lr: float
    gaussian_latent: bool
    atoms: np.ndarray
    cdf: np.ndarray
    cuts: np.ndarray
    p_corr: float

    @property
    def nu_scale(self) -> float:
        """sqrt(beta_v / (1 + beta_v)): coefficient of nu in v.x0."""
        return math.sqrt(self.beta_v / (1.0 + self.beta_v))

    @property
    def shrink(self) -> float:
        """1 - 1/sqrt(1 + beta_v): the whitening S = I - shrink v v^T."""
        return 1.0 - 1.0 / math.sqrt(1.0 + self.beta_v)


def make_problem(
    model: MixedCumulantModel,
    lr: float,
    activation: str | Activation,
    a: float,
    c: float | None,
    amp: float,
) -> Problem:
    """Check the inputs and flatten them into a :class:`Problem`."""
    if not isinstance(model, MixedCumulantModel):
        raise TypeError(f"model must be a MixedCumulantModel, got {type(model).__name__}")
    if model.beta_m != 0.0:
        raise ValueError(f"the SGD engines need model.beta_m == 0 (no mean spike), got {model.beta_m}")
    lr = check_positive("lr", lr)
    name = activation.name if isinstance(activation, Activation) else activation
    if name not in NUMBA_ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(NUMBA_ACTIVATIONS)}, got {activation!r}")
    a, s = vp_coefficients(a)
    c = a if c is None else float(c)
    if not math.isfinite(c):
        raise ValueError(f"c (skip coefficient) must be finite, got {c!r}")
    amp = float(amp)
    if not math.isfinite(amp) or amp == 0.0:
        raise ValueError(f"A (amplitude) must be finite and non-zero, got {amp!r}")
    law = model.law
    if law.is_gaussian:
        atoms = cdf = cuts = np.zeros(1)
    else:
        atoms = np.asarray(law.atoms, dtype=np.float64)
        cdf = np.cumsum(law.probs).astype(np.float64)
        cuts = np.asarray(law.thresholds(), dtype=np.float64)
    return Problem(
        d=model.d, beta_u=model.beta_u, beta_v=model.beta_v, a=a, s=s, c=c, amp=amp,
        act_code=NUMBA_ACTIVATIONS[name], activation=name, lr=lr,
        gaussian_latent=law.is_gaussian, atoms=atoms, cdf=cdf, cuts=cuts, p_corr=model.p_corr,
    )


def check_positive(name: str, value: float) -> float:
    """``value`` as a float if finite and > 0, else ``ValueError``."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x <= 0.0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return x


def check_int(name: str, value: int, minimum: int) -> int:
    """``value`` if it is an integer >= ``minimum``, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_thresholds(thresholds: dict[str, float] | None) -> np.ndarray:
    """Thresholds ``{"u": eta_u, "v": eta_v}`` as an array (u, v), NaN where not tracked."""
    out = np.full(2, np.nan)
    for key, eta in (thresholds or {}).items():
        if key not in SPIKES:
            raise ValueError(f"thresholds keys must be in {SPIKES}, got {key!r}")
        eta = float(eta)
        if not 0.0 < eta < 1.0:
            raise ValueError(f"threshold for {key!r} must lie in (0, 1), got {eta!r}")
        out[SPIKES.index(key)] = eta
    return out


def check_init(init: tuple[float, float] | None) -> np.ndarray | None:
    """A fixed start ``(alpha_u, alpha_v)`` with alpha_u^2 + alpha_v^2 < 1, or None (uniform)."""
    if init is None:
        return None
    arr = np.asarray(init, dtype=np.float64)
    if arr.shape != (2,) or not np.all(np.isfinite(arr)) or float(arr @ arr) >= 1.0:
        raise ValueError(f"init must be (alpha_u, alpha_v) with alpha_u^2 + alpha_v^2 < 1, got {init!r}")
    return arr


def record_steps(steps: int, records: int = 64) -> np.ndarray:
    """0 and about ``records`` log-spaced steps in [1, steps] (always including ``steps``)."""
    steps = check_int("steps", steps, 1)
    records = check_int("records", records, 2)
    grid = np.unique(np.round(np.geomspace(1, steps, records)).astype(np.int64))
    return np.concatenate([[0], grid])


@dataclass
class Trajectories:
    """Output of :func:`easyhard.sgd.run`.

    ``alpha_u``, ``alpha_v``: overlaps ``w_j . u``, ``w_j . v`` of shape
    (walkers, neurons, records) at ``steps`` (step 0 = initialisation; NaN after
    a walker stopped). ``loss``: mean w-dependent per-sample loss ``G_loss`` over
    the steps since the previous record (x0 units, summed over dimensions; NaN at
    step 0), shape (walkers, records). ``weights``: final unit weights (walkers,
    neurons, d) of the direct engine (None for the reduced one). ``passage``: first step at which
    ``max_j |alpha_e| >= eta_e``, per spike in ``thresholds`` (inf if never).
    """

    steps: np.ndarray
    alpha_u: np.ndarray
    alpha_v: np.ndarray
    loss: np.ndarray
    passage: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    wall_time: float = float("nan")
    weights: np.ndarray | None = None

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for :func:`easyhard.results.save`."""
        out = {"steps": self.steps, "alpha_u": self.alpha_u, "alpha_v": self.alpha_v, "loss": self.loss}
        out.update({f"passage_{k}": v for k, v in self.passage.items()})
        return out

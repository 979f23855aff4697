"""The computations of the chapter "The diffusion information exponent", per scale.

Everything here is exact quadrature (no sampling) except :attr:`ExponentConfig.n_mc`,
the sample size of the Monte Carlo cross-check
(:func:`easyhard.theory.crosschecks.monte_carlo_check`).

* :class:`ExponentConfig`: the chapter's knobs (activation, noise level, spike
  strengths) and sizes (landscape grid, Monte Carlo samples) per scale;
* :data:`CASES` and :func:`exponent_table`: the exponent of every spike of six data
  models for three activations; :data:`PROPOSITION`: the exponents the chapter's
  proposition states, checked against the table;
* :func:`sign_changes`, :func:`noise_level_table`: where g_k changes sign, and the
  exponents across noise levels;
* :func:`conditional_direction`: the top direction of the loss's quadratic form with
  coupled latents;
* :func:`landscapes`, :func:`leading_powers`: the exact landscape and the leading
  power along each spike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from easyhard.data.mcm import MixedCumulantModel
from easyhard.experiments._presets import ScalePreset
from easyhard.neuron import NeuronSpec
from easyhard.theory import excess_loss, hermite_coefficients, information_exponent
from easyhard.theory.crosschecks import leading_power, loss_along
from easyhard.theory.exponent import SpikeExponent
from easyhard.theory.noise_levels import ddpm_step, last_step_above, sign_change

ACTIVATIONS: tuple[str, ...] = ("tanh", "erf", "relu")

#: the data models of the exponent table: label -> MixedCumulantModel keywords
CASES: dict[str, dict[str, Any]] = {
    "Rademacher (kappa_4 = -2)": dict(latent="rademacher"),
    "skewed (p = 0.2)": dict(latent="skewed"),
    "three-point (kappa_4 = 0, kappa_6 = -6)": dict(latent="three_point"),
    "Gaussian latent (control)": dict(latent="gaussian"),
    "correlated, nu = sign(lam)": dict(latent="rademacher", p_corr=1.0),
    "with a mean spike (beta_m = 1)": dict(beta_m=1.0),
}
RADEMACHER, CORRELATED = "Rademacher (kappa_4 = -2)", "correlated, nu = sign(lam)"

#: the spikes' names in the table
SPIKE_NAMES: dict[str, str] = {
    "mean": "mean $m$", "covariance": "covariance $u$", "cumulant": "cumulant $v$",
    "cumulant_given_covariance": "$v$, once $u$ is found (conditional)",
}

#: the exponents the chapter's proposition states: ((case, spike, activation), exponent, claim);
#: None: the spike is invisible to that activation
PROPOSITION: tuple[tuple[tuple[str, str, str], int | None, str], ...] = (
    ((RADEMACHER, "covariance", "tanh"), 2, "the covariance spike has exponent 2"),
    ((RADEMACHER, "cumulant", "tanh"), 4, "a symmetric cumulant spike has exponent 4 (tanh)"),
    ((RADEMACHER, "cumulant", "erf"), 4, "a symmetric cumulant spike has exponent 4 (erf)"),
    ((RADEMACHER, "cumulant", "relu"), None, "ReLU is blind to symmetric cumulant spikes (ex-relu)"),
    (("skewed (p = 0.2)", "cumulant", "relu"), 3, "a skewed spike has exponent 3 for ReLU"),
    (("skewed (p = 0.2)", "cumulant", "tanh"), 4, "a skewed spike has exponent 4 for an odd activation"),
    (("three-point (kappa_4 = 0, kappa_6 = -6)", "cumulant", "tanh"), 6, "the three-point spike has exponent 6"),
    *((("Gaussian latent (control)", "cumulant", act), None,
       f"a Gaussian latent makes the cumulant spike invisible ({act})") for act in ACTIVATIONS),
    ((CORRELATED, "cumulant", "tanh"), 4, "with coupled latents v keeps exponent 4"),
    ((CORRELATED, "cumulant_given_covariance", "tanh"), 1, "with coupled latents the conditional exponent of v (given u) is 1"),
    (("with a mean spike (beta_m = 1)", "mean", "relu"), 1, "the mean spike has exponent 1 (ReLU)"),
    (("with a mean spike (beta_m = 1)", "mean", "tanh"), 2, "the mean spike has exponent 2 for an odd activation (ex-odd)"),
)


@dataclass(frozen=True)
class ExponentConfig(ScalePreset):
    """The chapter's knobs and sizes.

    ``activation`` and ``a`` (signal coefficient of ``x_t = a x0 + s xi``) define the
    neuron and the noise level; ``beta_u``, ``beta_v`` the spikes; ``d`` the models'
    dimension (the population loss depends on w only through its overlaps, so d is
    irrelevant and small is cheap); ``grid`` the landscape's points per axis;
    ``n_mc`` the Monte Carlo samples of the last cross-check.
    """

    activation: str = "tanh"
    a: float = 0.6
    beta_u: float = 5.0
    beta_v: float = 5.0
    d: int = 8
    grid: int = 41
    n_mc: int = 10**6

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {"ci": {}, "laptop": {"grid": 81}, "paper": {"grid": 121}}

    @property
    def neuron(self) -> NeuronSpec:
        """The neuron: ``activation`` at the noise level ``a``, with c = a and A = 1."""
        return NeuronSpec(self.activation, self.a)

    def __post_init__(self) -> None:
        """Check the activation and a, the betas (finite, >= 0) and the integer sizes."""
        NeuronSpec(self.activation, self.a)  # checks the activation and a
        for name in ("beta_u", "beta_v"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")
        for name, lo in (("d", 5), ("grid", 3), ("n_mc", 100)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {value!r}")

    def model(self, **kw: Any) -> MixedCumulantModel:
        """The mixed cumulant model at this config's d and betas, seed 0; ``kw`` replaces or adds keywords."""
        return MixedCumulantModel(**{"d": self.d, "beta_u": self.beta_u, "beta_v": self.beta_v, "seed": 0, **kw})


def describe(x: SpikeExponent) -> str:
    """``"4 (learnable)"``, ``"2 (not learnable)"`` or ``"invisible"``."""
    if x.exponent is None:
        return "invisible"
    return f"{x.exponent} ({'learnable' if x.learnable else 'not learnable'})"


@dataclass(frozen=True)
class ExponentTable:
    """``entries[(case, spike)][activation]``: the :class:`SpikeExponent` of each spike of :data:`CASES`."""

    entries: dict[tuple[str, str], dict[str, SpikeExponent]]
    cfg: ExponentConfig

    def entry(self, case: str, spike: str, activation: str) -> SpikeExponent:
        """The exponent record of ``spike`` of ``case`` for ``activation``."""
        return self.entries[case, spike][activation]

    def exponent(self, case: str, spike: str, activation: str) -> int | None:
        """The exponent of ``spike`` of ``case`` for ``activation`` (None: invisible)."""
        return self.entry(case, spike, activation).exponent

    def markdown(self) -> str:
        """One row per case and spike (the covariance spike only for the first case: it is the same in all)."""
        rows = [f"| data ($\\beta_u = {self.cfg.beta_u:g}$, $\\beta_v = {self.cfg.beta_v:g}$) | spike | "
                + " | ".join(ACTIVATIONS) + " |", "|---|---|" + "---|" * len(ACTIVATIONS)]
        for (case, spike), out in self.entries.items():
            if spike == "covariance" and case != RADEMACHER:
                continue
            rows.append(f"| {case} | {SPIKE_NAMES[spike]} | " + " | ".join(describe(out[a]) for a in ACTIVATIONS) + " |")
        return "\n".join(rows)

    def mismatches(self) -> list[tuple[str, int | None, int | None]]:
        """``(claim, computed, stated)`` for each entry of :data:`PROPOSITION` the table contradicts."""
        return [(claim, self.exponent(*key), k) for key, k, claim in PROPOSITION if self.exponent(*key) != k]


def exponent_table(cfg: ExponentConfig) -> ExponentTable:
    """The information exponents of every spike of every case of :data:`CASES` at ``cfg.a``."""
    entries: dict[tuple[str, str], dict[str, SpikeExponent]] = {}
    for case, kw in CASES.items():
        model = cfg.model(**kw)
        out = {act: information_exponent(model, act, cfg.a) for act in ACTIVATIONS}
        for spike in out[ACTIVATIONS[0]]:
            entries[case, spike] = {act: out[act][spike] for act in ACTIVATIONS}
    return ExponentTable(entries, cfg)


def sign_changes(activations: Sequence[str] = ("tanh", "erf"), orders: Sequence[int] = (2, 4, 6)) -> dict[tuple[str, int], float]:
    """``{(activation, k): a*}``: the noise level where g_k (c = a, A = 1) changes sign."""
    return {(act, k): sign_change(act, k) for act in activations for k in orders}


def sign_change_markdown(flips: dict[tuple[str, int], float]) -> str:
    """The table of :func:`sign_changes`, with the last DDPM step less noisy than each a*."""
    rows = ["| activation | $k$ | $g_k$ changes sign at $a$ = | last DDPM step with $a_t$ above it |", "|---|---|---|---|"]
    rows += [f"| {act} | {k} | {a_star:.4f} | {last_step_above(a_star)} |" for (act, k), a_star in flips.items()]
    return "\n".join(rows)


@dataclass(frozen=True)
class NoiseLevelRow:
    """The exponents of the covariance and the cumulant spike, and g_2, g_4, at one noise level."""

    a: float
    step: int
    covariance: SpikeExponent
    cumulant: SpikeExponent
    g2: float
    g4: float


def noise_level_table(cfg: ExponentConfig, levels: Sequence[float]) -> list[NoiseLevelRow]:
    """The Rademacher model's exponents at each noise level of ``levels`` (cfg's activation)."""
    model = cfg.model()
    rows = []
    for a in levels:
        out, g = information_exponent(model, cfg.activation, a), hermite_coefficients(cfg.activation, a)
        rows.append(NoiseLevelRow(a, ddpm_step(a), out["covariance"], out["cumulant"], float(g[2]), float(g[4])))
    return rows


def noise_level_markdown(rows: Sequence[NoiseLevelRow]) -> str:
    """The table of :func:`noise_level_table`."""
    lines = ["| $a$ | DDPM $t$ | covariance $u$ | cumulant $v$ | $g_2$ | $g_4$ |", "|---|---|---|---|---|---|"]
    lines += [f"| {r.a} | {r.step} | {describe(r.covariance)} | {describe(r.cumulant)} | {r.g2:.4f} | {r.g4:.5f} |"
              for r in rows]
    return "\n".join(lines)


@dataclass(frozen=True)
class ConditionalDirection:
    """The top direction ``e_+`` of ``M = [[beta_u, rho], [rho, 0]]`` and what it predicts.

    ``sin_theta``: its v-component; ``pc_v``: the v-overlap of the data's top principal
    component (from the model's exact covariance); ``mu_plus``: M's top eigenvalue;
    ``alphas`` and ``ratio``: the loss along ``e_+`` divided by ``g_2 mu_+ alpha^2``.
    """

    rho: float
    sin_theta: float
    pc_v: float
    mu_plus: float
    alphas: np.ndarray
    ratio: np.ndarray


def conditional_direction(cfg: ExponentConfig, alphas: Sequence[float] = (1e-3, 3e-3)) -> ConditionalDirection:
    """The quadratic form of the loss at alpha = 0 with coupled latents (``p_corr = 1``)."""
    model = cfg.model(p_corr=1.0)
    mu, vecs = np.linalg.eigh(np.array([[cfg.beta_u, model.rho], [model.rho, 0.0]]))
    e_plus = vecs[:, -1] * np.sign(vecs[0, -1])
    top_pc = np.linalg.eigh(model.covariance().double().numpy())[1][:, -1]
    small = np.asarray(alphas, float)
    along = excess_loss(model, cfg.neuron, e_plus[0] * small, e_plus[1] * small)
    g2 = hermite_coefficients(cfg.neuron)[2]
    return ConditionalDirection(float(model.rho), float(e_plus[1]), float(abs(top_pc @ model.v.double().numpy())),
                                float(mu[-1]), small, along / (g2 * mu[-1] * small**2))


def landscapes(cfg: ExponentConfig, p_corrs: Sequence[float] = (0.0, 1.0), extent: float = 0.7
               ) -> tuple[np.ndarray, dict[float, np.ndarray]]:
    """``(alphas, {p_corr: L})``: ``L[i, j] = L_t - L_t^iso`` at ``alpha_u = alphas[j]``, ``alpha_v = alphas[i]``."""
    alphas = np.linspace(-extent, extent, cfg.grid)
    AU, AV = np.meshgrid(alphas, alphas)
    return alphas, {p: excess_loss(cfg.model(p_corr=p), cfg.neuron, AU, AV) for p in p_corrs}


@dataclass(frozen=True)
class LeadingPower:
    """``|L_t(alpha e) - L_t(0)|`` at ``alphas`` along one spike, its log-log ``slope`` and the computed ``exponent``."""

    a: float
    spike: str
    alphas: np.ndarray
    loss: np.ndarray
    slope: float
    exponent: int | None


def leading_powers(cfg: ExponentConfig, levels: Sequence[float] = (0.4, 0.7),
                   alphas: Sequence[float] | np.ndarray | None = None) -> list[LeadingPower]:
    """The leading power along the covariance and the cumulant spike at each noise level of ``levels``.

    ``alphas``: the overlaps of the fit (default: 10 log-spaced from 1e-3 to 3e-2).
    """
    model = cfg.model()
    alphas = np.geomspace(1e-3, 3e-2, 10) if alphas is None else np.asarray(alphas, float)
    neurons = {a: NeuronSpec(cfg.activation, a) for a in levels}
    return [LeadingPower(a, spike, alphas, loss_along(model, neurons[a], spike, alphas),
                         leading_power(model, neurons[a], spike, alphas),
                         information_exponent(model, neurons[a])[spike].exponent)
            for a in levels for spike in ("covariance", "cumulant")]

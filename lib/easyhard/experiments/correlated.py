"""The experiments of the chapter "Sliding down the stairs: correlated latents".

One frozen config, :class:`CorrelatedConfig`, with presets per scale (:data:`PRESETS`), and
the functions the chapter calls:

* :func:`fixed_point_table`: the pair-wise fixed point, the population minimum and the
  higher-order gain there, for each latent case (exact, no sampling);
* :func:`plateaus`: long runs of the exact reduced engine from a uniform start, the
  stationary |alpha_v| they settle at and the first passage to the threshold;
* :func:`recovery`: first-passage steps to |alpha_v| >= eta over a sweep of d, next to
  the mean-field and the noiseless flows (:func:`easyhard.theory.fixed_points.mean_field_flow`);
* :func:`pcorr_sweep` and the flip coupling (:func:`recovery` with ``case="flip"``);
* :func:`compute_saved`: everything at one scale, saved with :mod:`easyhard.results`
  as ``correlated_*`` (checkpointed per d, so a cut-off run resumes).

Cases (beta_u = beta_v = 5 unless the config says otherwise):
``rademacher``: nu = sign(lam) (p_corr = 1); ``control``: its Gaussian surrogate as an
MCM (:func:`easyhard.theory.fixed_points.matched_gaussian_model`); ``flip``: the
sign-flip coupling with E[lam nu] = 0, E[lam^3 nu] != 0
(:func:`easyhard.data.latents.sign_flip_law`); ``independent``: p_corr = 0.
Step size delta = step_scale / ln d (lr = delta / d) throughout.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from easyhard import results
from easyhard.config import check_scale, preset
from easyhard.data.latents import coupled_moment, latent_law
from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import NeuronSpec
from easyhard.sgd import fit_slope, run
from easyhard.theory import hermite_coefficients
from easyhard.theory.fixed_points import (
    higher_order_gain,
    matched_gaussian_model,
    mean_field_escape,
    mean_field_plateau,
    pairwise_fixed_point,
    population_minimum,
    surrogate_excess_loss,
)
from easyhard.theory.flow import median_start
from easyhard.theory.landscape import excess_loss

CASES: tuple[str, ...] = ("rademacher", "control", "flip", "independent")


@dataclass(frozen=True)
class CorrelatedConfig:
    """Sizes and physics of the chapter's experiments.

    ``eta``: weak-recovery threshold of the ``rademacher`` case, chosen between the
    finite-step plateaus of the control and of the Rademacher latent;
    ``fraction``: for the p_corr sweep and the flip coupling, the threshold is this
    fraction of the population minimum |alpha_v*|; ``plateau_length``: plateau runs
    last this many flow escape times of the ``rademacher`` case; ``budget``: recovery
    runs stop after this many flow escape times (inf if not reached);
    ``gain_dim``: the d whose trajectories carry the gain figure; ``fit_from``: the
    smallest d of ``sweep_dims`` used in the slope fits of the p_corr sweep and the flip
    coupling (below it the fluctuations of alpha_v, ~ (delta / d)^(1/2), are not small
    against the threshold and first passages come early).
    """

    dims: tuple[int, ...]
    walkers: int
    plateau_dims: tuple[int, ...]
    plateau_walkers: int
    sweep_dims: tuple[int, ...]
    sweep_walkers: int
    gain_dim: int
    fit_from: int
    beta_u: float = 5.0
    beta_v: float = 5.0
    activation: str = "tanh"
    a: float = 0.6
    step_scale: float = 1.0
    eta: float = 0.30
    fraction: float = 0.5
    p_corrs: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    plateau_length: float = 4.0
    budget: float = 10.0
    seed: int = 0

    @property
    def neuron(self) -> NeuronSpec:
        """The neuron: ``activation`` at the noise level ``a``, with c = a and A = 1."""
        return NeuronSpec(self.activation, self.a)

    def __post_init__(self) -> None:
        """Check the dimension lists, eta, fraction, p_corrs and the walker counts."""
        for name in ("dims", "plateau_dims", "sweep_dims"):
            dims = getattr(self, name)
            if len(dims) < 2 or any(not isinstance(d, int) or d < 5 for d in dims) or list(dims) != sorted(set(dims)):
                raise ValueError(f"{name} must be >= 2 increasing integers >= 5, got {dims!r}")
        if not set(self.dims) <= set(self.plateau_dims):
            raise ValueError(f"plateau_dims must contain every entry of dims, got {self.plateau_dims!r}")
        if self.gain_dim not in self.plateau_dims:
            raise ValueError(f"gain_dim must be one of plateau_dims, got {self.gain_dim!r}")
        if not 0.0 < self.eta < 1.0 or not 0.0 < self.fraction < 1.0:
            raise ValueError(f"eta and fraction must lie in (0, 1), got {self.eta!r}, {self.fraction!r}")
        if any(not 0.0 <= p <= 1.0 for p in self.p_corrs) or len(self.p_corrs) < 2:
            raise ValueError(f"p_corrs must be >= 2 values in [0, 1], got {self.p_corrs!r}")
        for name in ("walkers", "plateau_walkers", "sweep_walkers"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)!r}")


PRESETS: dict[str, CorrelatedConfig] = {
    "ci": CorrelatedConfig(
        dims=(512, 1024, 2048, 4096), walkers=32,
        plateau_dims=(64, 128, 256, 512, 1024, 2048, 4096), plateau_walkers=32,
        sweep_dims=(4096, 8192, 16384), sweep_walkers=16, gain_dim=1024, fit_from=4096,
    ),
    "laptop": CorrelatedConfig(
        dims=(512, 1024, 2048, 4096, 8192, 16384), walkers=128,
        plateau_dims=(64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), plateau_walkers=64,
        sweep_dims=(1024, 2048, 4096, 8192, 16384, 32768), sweep_walkers=64, gain_dim=1024, fit_from=4096,
    ),
    "paper": CorrelatedConfig(
        dims=(512, 1024, 2048, 4096, 8192, 16384, 32768, 65536), walkers=256,
        plateau_dims=(64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536), plateau_walkers=128,
        sweep_dims=(1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072), sweep_walkers=256, gain_dim=1024,
        fit_from=4096,
    ),
}


def config(scale: str | None = None, **overrides: Any) -> CorrelatedConfig:
    """The preset at ``scale`` (default: the current scale), with fields replaced by ``overrides``."""
    return dataclasses.replace(preset(PRESETS, scale), **overrides)


def make_model(cfg: CorrelatedConfig, case: str, d: int, p_corr: float | None = None) -> MixedCumulantModel:
    """The MCM of ``case`` at dimension d (seed d).

    ``p_corr`` overrides the coupling probability of the ``rademacher`` case (the
    p_corr sweep).
    """
    if case not in CASES:
        raise ValueError(f"case must be one of {CASES}, got {case!r}")
    kw = dict(beta_u=cfg.beta_u, beta_v=cfg.beta_v, seed=d)
    if case == "flip":
        return MixedCumulantModel(d, latent="rademacher_flip", p_corr=1.0, **kw)
    if case == "independent":
        return MixedCumulantModel(d, p_corr=0.0, **kw)
    model = MixedCumulantModel(d, p_corr=1.0 if p_corr is None else p_corr, **kw)
    return matched_gaussian_model(model) if case == "control" else model


def lr(cfg: CorrelatedConfig, d: int) -> float:
    """The per-step factor delta / d with delta = step_scale / ln d."""
    return cfg.step_scale / (d * math.log(d))


def fixed_point_table(cfg: CorrelatedConfig, p_corr: float | None = None) -> dict[str, dict[str, float]]:
    """The moments, fixed point, population minimum and higher-order gain of each case.

    Per case: E[lam nu], E[lam^3 nu] (of the coupled latent, times p_corr), rho, the
    pair-wise fixed point alpha_v, the population minimum (alpha_u, alpha_v) and the
    higher-order gain L_MCM - L_surrogate at that minimum (x0 units).
    """
    out = {}
    for case in CASES:
        m = make_model(cfg, case, 64, p_corr)
        au, av, loss = population_minimum(m, cfg.neuron)
        out[case] = {
            "e_lam_nu": m.e_lam_nu,
            "e_lam3_nu": m.p_corr * coupled_moment(m.law, 3),
            "rho": m.rho,
            "pairwise_v": pairwise_fixed_point(m)[1],
            "minimum_u": au,
            "minimum_v": av,
            "minimum_loss": loss,
            "gain_at_minimum": float(higher_order_gain(m, cfg.neuron, au, av)),
        }
    return out


def threshold(cfg: CorrelatedConfig, case: str, p_corr: float | None = None) -> float:
    """The weak-recovery threshold of ``case``.

    ``cfg.eta`` for the ``rademacher`` case and its control, ``fraction * |alpha_v*|``
    for the flip coupling and the p_corr sweep.
    """
    if case in ("rademacher", "control") and p_corr is None:
        return cfg.eta
    ref = "flip" if case in ("flip", "independent") else "rademacher"
    av = population_minimum(make_model(cfg, ref, 64, p_corr), cfg.neuron)[1]
    if av == 0.0:
        raise ValueError("the population minimum has alpha_v = 0: there is nothing to recover")
    return cfg.fraction * abs(av)


def plateaus(
    cfg: CorrelatedConfig, case: str, *, checkpoint: str | Path | None = None, records: int = 48,
) -> dict[str, np.ndarray]:
    """Long runs from a uniform start at every d of ``cfg.plateau_dims``.

    Every case gets the same number of steps at a given d: ``plateau_length`` times the
    flow's escape time of the ``rademacher`` case to ``cfg.eta``. Returns arrays
    ``dims`` (D,), ``steps`` (D, R), ``alpha_u``, ``alpha_v`` (D, W, R) and
    ``passage`` (D, W): first step with |alpha_v| >= :func:`threshold` (inf if never).
    The records are ``records`` log-spaced steps up to half the run, then 24 evenly
    spaced steps over the second half (the plateau).
    """
    eta = threshold(cfg, case)
    rows: dict[str, list[np.ndarray]] = {"steps": [], "alpha_u": [], "alpha_v": [], "passage": []}
    for d in cfg.plateau_dims:
        model = make_model(cfg, case, d)
        step = lr(cfg, d)
        steps = int(cfg.plateau_length * flow_steps(cfg, "rademacher", d, cfg.eta, mean_field=True))
        half = steps // 2
        rec = np.unique(np.concatenate([[0], np.geomspace(1, half, records).round(),
                                        np.linspace(half, steps, 25).round()]).astype(np.int64))
        rec = np.concatenate([rec, np.full(records + 26 - rec.size, steps)])  # same length per d

        def compute(model=model, step=step, steps=steps, rec=rec) -> dict[str, np.ndarray]:
            uniq = np.unique(rec)
            tr = run(model, steps, step, cfg.activation, cfg.a, cfg.plateau_walkers, "reduced",
                     cfg.seed + model.d, thresholds={"v": eta}, records=uniq)
            index = np.searchsorted(uniq, rec)
            return {"steps": rec, "alpha_u": tr.alpha_u[:, 0, index], "alpha_v": tr.alpha_v[:, 0, index],
                    "passage": tr.passage["v"]}

        key = {**dataclasses.asdict(cfg), "case": case, "d": d, "records": records}
        arrays = (results.cached("correlated_plateau_d", key, compute, root=checkpoint).arrays
                  if checkpoint is not None else compute())
        for k in rows:
            rows[k].append(arrays[k])
    return {"dims": np.array(cfg.plateau_dims), **{k: np.stack(v) for k, v in rows.items()}}


def plateau_summary(res: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per d, the quantiles of the plateau overlaps and the fraction of walkers that recovered v.

    Per d: the median and the 5% / 95% quantiles of |alpha_v| and the median |alpha_u|
    over walkers and the records of the second half of the run, and the fraction of
    walkers that ever reached the threshold.
    """
    out: dict[str, list[float]] = {"median": [], "q05": [], "q95": [], "median_u": [], "reached": []}
    for i in range(len(res["dims"])):
        late = res["steps"][i] >= res["steps"][i, -1] // 2
        av = np.abs(res["alpha_v"][i][:, late])
        out["median"].append(float(np.median(av)))
        out["q05"].append(float(np.quantile(av, 0.05)))
        out["q95"].append(float(np.quantile(av, 0.95)))
        out["median_u"].append(float(np.median(np.abs(res["alpha_u"][i][:, late]))))
        out["reached"].append(float(np.mean(np.isfinite(res["passage"][i]))))
    return {"dims": res["dims"], **{k: np.array(v) for k, v in out.items()}}


def separated_dims(cfg: CorrelatedConfig, data: dict[str, np.ndarray], control: dict[str, np.ndarray]) -> list[int]:
    """The d of ``cfg.dims`` at which eta lies strictly between the two plateaus.

    There the control's 95% quantile of |alpha_v| is below eta and the data's 5%
    quantile above it.
    """
    sd, sc = plateau_summary(data), plateau_summary(control)
    ok = (sc["q95"] < cfg.eta) & (sd["q05"] > cfg.eta)
    return [int(d) for d, good in zip(sd["dims"], ok, strict=True) if good and int(d) in cfg.dims]


def gain_along(cfg: CorrelatedConfig, case: str, res: dict[str, np.ndarray], d: int) -> np.ndarray:
    """The exact higher-order gain along the plateau runs at dimension d.

    The gain L_MCM(w_n) - L_surrogate(w_n) of every walker at every record, shape
    (W, R) (x0 units, per sample).
    """
    i = list(res["dims"]).index(d)
    model = make_model(cfg, case, d)
    au, av = res["alpha_u"][i], res["alpha_v"][i]
    return higher_order_gain(model, cfg.neuron, au, av)


def flow_steps(cfg: CorrelatedConfig, case: str, d: int, eta: float, *, p_corr: float | None = None,
               mean_field: bool = True) -> float:
    """SGD steps the flow from the median start takes to reach |alpha_v| = eta.

    The start has both overlaps at ``median_start(d)``; the flow is the mean-field
    flow with delta = step_scale / ln d, or the noiseless population flow
    (``mean_field=False``).
    """
    a0 = median_start(d)
    delta = cfg.step_scale / math.log(d) if mean_field else 0.0
    tau = mean_field_escape(make_model(cfg, case, d, p_corr), delta, eta, (a0, a0), cfg.neuron)
    return tau / lr(cfg, d)


def predicted_plateau(cfg: CorrelatedConfig, case: str, d: int, p_corr: float | None = None) -> tuple[float, float]:
    """(|alpha_u|, |alpha_v|) where the mean-field flow with delta = step_scale / ln d settles."""
    return mean_field_plateau(make_model(cfg, case, d, p_corr), cfg.step_scale / math.log(d), cfg.neuron)


def flow_curve(cfg: CorrelatedConfig, case: str, d: int, steps: np.ndarray, mean_field: bool = True) -> np.ndarray:
    """(alpha_u, alpha_v) of the (mean-field) flow from the median start at the given SGD steps.

    Shape (2, len(steps)).
    """
    import scipy.integrate

    from easyhard.theory.fixed_points import mean_field_flow

    delta = cfg.step_scale / math.log(d) if mean_field else 0.0
    uniq, index = np.unique(np.asarray(steps), return_inverse=True)  # steps may repeat (padding)
    tau = uniq.astype(float) * lr(cfg, d)
    a0 = median_start(d)
    sol = scipy.integrate.solve_ivp(mean_field_flow(make_model(cfg, case, d), delta, cfg.neuron),
                                    (0.0, float(tau[-1])), np.array([a0, a0]), t_eval=tau, method="LSODA",
                                    rtol=1e-7, atol=1e-10)
    return sol.y[:, index]


@dataclass
class Recovery:
    """First-passage steps to |alpha_v| >= eta per d, with the flows' predictions in steps.

    ``passage`` has one row per d and one column per walker (inf: not within the
    budget).
    """

    dims: np.ndarray
    passage: np.ndarray
    mean_field_steps: np.ndarray
    flow_steps: np.ndarray
    eta: float

    @property
    def median(self) -> np.ndarray:
        """The median first passage per d, over walkers (inf where at least half did not pass)."""
        return np.median(self.passage, axis=1)

    @property
    def fraction_reached(self) -> np.ndarray:
        """The fraction of walkers per d that reached the threshold within the budget."""
        return np.mean(np.isfinite(self.passage), axis=1)

    def fit(self, dims: list[int] | None = None) -> tuple[float, float, float, float]:
        """The log-log slope of the first passage against d over ``dims`` (default: all).

        From :func:`easyhard.sgd.fit_slope`: slope, 95% interval, intercept.
        """
        keep = self._keep(dims)
        return fit_slope(self.dims[keep], self.passage[keep])

    def flow_slope(self, dims: list[int] | None = None, mean_field: bool = True) -> float:
        """Log-log slope of a flow's prediction over the same dims."""
        keep = self._keep(dims)
        y = self.mean_field_steps if mean_field else self.flow_steps
        return float(np.polyfit(np.log(self.dims[keep]), np.log(y[keep]), 1)[0])

    def _keep(self, dims: list[int] | None) -> np.ndarray:
        return np.ones(self.dims.size, bool) if dims is None else np.isin(self.dims, dims)

    def arrays(self) -> dict[str, np.ndarray]:
        """The fields as named arrays, for :func:`easyhard.results.save`."""
        return {"dims": self.dims, "passage": self.passage, "mean_field_steps": self.mean_field_steps,
                "flow_steps": self.flow_steps, "eta": np.array(self.eta)}

    @classmethod
    def from_arrays(cls, arr: dict[str, np.ndarray], prefix: str = "") -> Recovery:
        """The inverse of :meth:`arrays`, reading the keys ``prefix + name`` of ``arr``."""
        get = {k: arr[prefix + k] for k in ("dims", "passage", "mean_field_steps", "flow_steps")}
        return cls(**get, eta=float(arr[prefix + "eta"]))


def recovery(
    cfg: CorrelatedConfig, case: str, dims: tuple[int, ...] | None = None, *, p_corr: float | None = None,
    walkers: int | None = None, checkpoint: str | Path | None = None,
) -> Recovery:
    """First passage of online SGD to |alpha_v| >= :func:`threshold` at every d of ``dims``.

    The exact reduced engine from a uniform start, at every d of ``dims`` (default
    ``cfg.dims``); each walker runs at most ``cfg.budget`` times the mean-field flow's
    escape steps. ``checkpoint``: a folder caching each d
    (:func:`easyhard.results.cached`).
    """
    if case not in ("rademacher", "flip"):
        raise ValueError(f"case must be 'rademacher' or 'flip' (the others never recover v), got {case!r}")
    eta = threshold(cfg, case, p_corr)
    dims = tuple(dims if dims is not None else cfg.dims)
    walkers = walkers or cfg.walkers
    rows, mf, noiseless = [], [], []
    for d in dims:
        mf.append(flow_steps(cfg, case, d, eta, p_corr=p_corr))
        noiseless.append(flow_steps(cfg, case, d, eta, p_corr=p_corr, mean_field=False))
        model = make_model(cfg, case, d, p_corr)
        steps = int(cfg.budget * mf[-1])

        def compute(model=model, d=d, steps=steps) -> dict[str, np.ndarray]:
            tr = run(model, steps, lr(cfg, d), cfg.activation, cfg.a, walkers, "reduced", cfg.seed + d,
                     thresholds={"v": eta}, stop_at_passage=True, records=2)
            return {"passage": tr.passage["v"]}

        key = {**dataclasses.asdict(cfg), "case": case, "d": d, "p_corr": p_corr, "walkers_run": walkers}
        arrays = (results.cached("correlated_passage_d", key, compute, root=checkpoint).arrays
                  if checkpoint is not None else compute())
        rows.append(arrays["passage"])
    return Recovery(np.array(dims), np.stack(rows), np.array(mf), np.array(noiseless), eta)


def pcorr_sweep(cfg: CorrelatedConfig, **kw: Any) -> dict[float, Recovery]:
    """The :func:`recovery` of v over ``cfg.sweep_dims`` for every p_corr > 0 of ``cfg.p_corrs``.

    At p_corr = 0 the population minimum is v-free: nothing to recover.
    """
    return {p: recovery(cfg, "rademacher", cfg.sweep_dims, p_corr=p, walkers=cfg.sweep_walkers, **kw)
            for p in cfg.p_corrs if p > 0.0}


def flow_time_fit(cfg: CorrelatedConfig, case: str, dims: np.ndarray, p_corr: float | None = None,
                  mean_field: bool = False) -> tuple[float, float]:
    """``(A, B)`` of the fit tau(d) = A ln d + B of the flow's escape time to the threshold.

    The escape then takes n = d ln d (A ln d + B) / step_scale steps.
    """
    eta = threshold(cfg, case, p_corr)
    taus = [flow_steps(cfg, case, int(d), eta, p_corr=p_corr, mean_field=mean_field) * lr(cfg, int(d))
            for d in dims]
    A, B = np.polyfit(np.log(np.asarray(dims, float)), taus, 1)
    return float(A), float(B)


def fit_dims(cfg: CorrelatedConfig) -> list[int]:
    """The dims of the p_corr and sign-flip sweeps that enter the slope fits (``d >= cfg.fit_from``)."""
    return [d for d in cfg.sweep_dims if d >= cfg.fit_from]


def circle_losses(cfg: CorrelatedConfig, theta: np.ndarray, case: str = "rademacher") -> tuple[np.ndarray, np.ndarray]:
    """The excess loss on the unit circle of span(u, v), on the data and on its surrogate.

    ``(data, surrogate)``: ``L - L^iso`` of the data and of its Gaussian surrogate at
    ``w = cos(theta) u + sin(theta) v``, by exact quadrature.
    """
    model = make_model(cfg, case, 64)
    au, av = np.cos(theta), np.sin(theta)
    return (excess_loss(model, cfg.neuron, au, av),
            surrogate_excess_loss(model, cfg.neuron, au, av))


def gain_at_pairwise(cfg: CorrelatedConfig, case: str = "rademacher") -> float:
    """The higher-order gain ``L_MCM - L_surrogate`` at the unit vector of the pair-wise fixed point."""
    model = make_model(cfg, case, 64)
    av = pairwise_fixed_point(model)[1]
    return float(higher_order_gain(model, cfg.neuron, math.sqrt(1.0 - av * av), av))


def log_corrected_slopes(cfg: CorrelatedConfig, rec: Recovery, dims: list[int], case: str = "rademacher"
                         ) -> dict[str, Any]:
    """The slopes of ``passage / factor(d)`` over ``dims`` for two logarithmic factors.

    ``"ln d ln(eta sqrt d)"``: the covariance case's escape (the wrong logarithms here);
    ``"ln d (A ln d + B)"``: this flow's own, with ``tau(d) = A ln d + B`` of
    :func:`flow_time_fit` (mean field). Each entry is ``(slope, lo, hi)``; ``"A"``, ``"B"``
    are the fit's constants.
    """
    A, B = flow_time_fit(cfg, case, np.array(dims), mean_field=True)
    keep = np.isin(rec.dims, dims)
    d = rec.dims[keep].astype(float)
    out: dict[str, Any] = {"A": A, "B": B}
    for name, factor in (("ln d ln(eta sqrt d)", np.log(d) * np.log(cfg.eta * np.sqrt(d))),
                         ("ln d (A ln d + B)", np.log(d) * (A * np.log(d) + B))):
        out[name] = fit_slope(rec.dims[keep], rec.passage[keep] / factor[:, None])[:3]
    return out


@dataclass(frozen=True)
class FlipCoupling:
    """A sample of the sign-flip coupling against its exact moments.

    ``exact[k]``, ``sampled[k]``, ``se[k]``: ``E[lam^k nu]`` (k = 1, 3) exactly, its sample
    mean and standard error; ``p_plus``: the sampled ``P(nu = +1)`` (1/2 for a marginally
    Rademacher nu); ``kappa4``: the fourth cumulant of nu; ``rho``: the model's covariance
    entry (0 for this coupling); ``n``: the sample size.
    """

    exact: dict[int, float]
    sampled: dict[int, float]
    se: dict[int, float]
    p_plus: float
    kappa4: float
    rho: float
    n: int

    def moments_agree(self, n_se: float = 5.0, exact: dict[int, float] | None = None) -> bool:
        """Whether every sampled moment lies within ``n_se`` standard errors of the exact one.

        With ``exact`` given, the reference is ``exact[k]`` instead, to test the sample
        against another coupling's moments.
        """
        exact = self.exact if exact is None else exact
        return all(abs(self.sampled[k] - exact[k]) < n_se * self.se[k] for k in exact)

    def marginal_rademacher(self, n_se: float = 5.0) -> bool:
        """Whether ``P(nu = +1)`` is 1/2 within ``n_se`` binomial standard errors and rho = 0."""
        return abs(self.p_plus - 0.5) < n_se * 0.5 / math.sqrt(self.n) and abs(self.rho) < 1e-12

    def summary(self) -> str:
        """A few lines for the chapter."""
        lines = [f"E[lam^{k} nu]: exact {self.exact[k]:.4f}, sampled {self.sampled[k]:.4f} +- {self.se[k]:.4f}"
                 for k in self.exact]
        lines.append(f"marginal: P(nu = +1) = {self.p_plus:.4f}, kappa_4(nu) = {self.kappa4:.3f} "
                     f"(Rademacher {latent_law('rademacher').cumulant(4):.3f}), rho = {self.rho:.1e}")
        return "\n".join(lines)


def flip_coupling(model: MixedCumulantModel, n: int = 400_000) -> FlipCoupling:
    """Sample ``n`` latent pairs of ``model`` (its own generator) and compare with the exact coupling."""
    lam, nu = (x.double().cpu().numpy() for x in model.sample_latents(n))
    exact = {k: model.p_corr * coupled_moment(model.law, k) for k in (1, 3)}
    samples = {k: lam**k * nu for k in exact}
    return FlipCoupling(exact, {k: float(x.mean()) for k, x in samples.items()},
                        {k: float(x.std() / math.sqrt(n)) for k, x in samples.items()},
                        float(np.mean(nu > 0)), float(model.law.cumulant(4)), float(model.rho), int(n))


def coupling_forces(cfg: CorrelatedConfig) -> dict[str, float]:
    """The force on alpha_v at alpha_u = 1 of each coupling's leading mixed term.

    Sign-flip (j = 3): ``4 |g_4| beta_u^{3/2} b E[lam^3 nu]``; sign coupling (j = 1):
    ``2 |g_2| rho`` (b = sqrt(beta_v / (1 + beta_v))).
    """
    g = hermite_coefficients(cfg.neuron, kmax=4)
    flip, sign = make_model(cfg, "flip", 64), make_model(cfg, "rademacher", 64)
    return {"flip": float(4 * abs(g[4]) * cfg.beta_u**1.5 * flip.nu_scale * coupled_moment(flip.law, 3)),
            "sign": float(2 * abs(g[2]) * sign.rho)}


# -- saved runs ----------------------------------------------------------------
PARTS: tuple[str, ...] = ("plateaus", "recovery", "pcorr", "flip")


def compute_saved(scale: str) -> dict[str, Path]:
    """Run every part at ``scale`` and save each with provenance; return the .npz paths.

    Each part is checkpointed per d under the cache folder and saved as
    ``correlated_<part>``.
    """
    scale = check_scale(scale)
    cfg = config(scale)
    results.check_writable()  # before computing: no work lost to a failing save
    ckpt = results.cache_dir() / "correlated"
    key = dataclasses.asdict(cfg)
    paths = {}
    t0 = time.perf_counter()
    arrays = {}
    for case in ("rademacher", "control", "flip", "independent"):
        arrays.update({f"{case}_{k}": v for k, v in plateaus(cfg, case, checkpoint=ckpt).items()})
    paths["plateaus"] = results.save("correlated_plateaus", key, arrays, wall_time=time.perf_counter() - t0,
                                     scale=scale)
    t0 = time.perf_counter()
    sc = recovery(cfg, "rademacher", checkpoint=ckpt)
    paths["recovery"] = results.save("correlated_recovery", key, sc.arrays(),
                                     wall_time=time.perf_counter() - t0, scale=scale)
    t0 = time.perf_counter()
    arrays = {}
    for p, sc in pcorr_sweep(cfg, checkpoint=ckpt).items():
        arrays.update({f"p{p:.2f}_{k}": v for k, v in sc.arrays().items()})
    paths["pcorr"] = results.save("correlated_pcorr", key, arrays, wall_time=time.perf_counter() - t0,
                                  scale=scale)
    t0 = time.perf_counter()
    sc = recovery(cfg, "flip", cfg.sweep_dims, walkers=cfg.sweep_walkers, checkpoint=ckpt)
    paths["flip"] = results.save("correlated_flip", key, sc.arrays(),
                                 wall_time=time.perf_counter() - t0, scale=scale)
    return paths


def load_saved(part: str, scale: str) -> tuple[Any, results.Result] | None:
    """The saved ``part`` (one of :data:`PARTS`) at ``scale``, with its result record.

    The part comes as the object the live functions return, with its
    :class:`~easyhard.results.Result` (for the provenance line); None if it was never
    computed with the present config.
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    cfg = config(check_scale(scale))
    res = results.load(f"correlated_{part}", dataclasses.asdict(cfg))
    if res is None:
        return None
    arr = res.arrays
    if part == "plateaus":
        obj: Any = {case: {k: arr[f"{case}_{k}"] for k in ("dims", "steps", "alpha_u", "alpha_v", "passage")}
                    for case in CASES}
    elif part == "pcorr":
        obj = {p: Recovery.from_arrays(arr, f"p{p:.2f}_") for p in cfg.p_corrs if p > 0.0}
    else:
        obj = Recovery.from_arrays(arr)
    return obj, res


if __name__ == "__main__":  # pragma: no cover - the background job of the saved runs
    import sys

    print(compute_saved(sys.argv[1] if len(sys.argv) > 1 else "laptop"))

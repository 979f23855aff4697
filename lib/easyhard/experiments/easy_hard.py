"""The experiments of the chapter "Easy and hard", one frozen config each, per scale.

* :class:`Physics`: the knobs the chapter's parameters cell sets (activation, noise
  level ``a``, spike strength, latent law);
* :class:`TrajectoryConfig` and :func:`trajectories`: median overlaps over time
  with the noiseless flow;
* :class:`SweepConfig` and :func:`sweep`: first-passage steps over d and their slope;
  :func:`saved_laptop_sweep` loads the saved laptop-scale sweeps;
* :func:`slopes`, :func:`slope_table`, :func:`power_shifted`: slopes with their
  intervals next to the flow's slope over the same d, and the negative control;
* :func:`collapse`: the lower-bound view (passage / d^p across d);
* :class:`StepSizeConfig` and :func:`step_size_sweep`: the finite-d crossover of a
  large step, next to the rescaled diffusion (:mod:`easyhard.theory.quartic_escape`).

The ``ci`` presets use seeds of their own (from 10 000 on), so the live runs are
independent of the saved ``laptop`` sweeps (seed 0 and 20 000).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.stats

from easyhard import results
from easyhard.config import check_scale, check_seed
from easyhard.config import scale as current_scale
from easyhard.data.mcm import MixedCumulantModel
from easyhard.experiments._presets import ScalePreset
from easyhard.neuron import NeuronSpec
from easyhard.sgd import (
    SampleComplexity,
    Trajectories,
    fit_slope,
    run,
    sample_complexity,
    step_size,
)
from easyhard.sgd.experiments import scaling, scaling_config
from easyhard.theory import flow, hermite_coefficients
from easyhard.theory.quartic_escape import (
    MEDIAN_START_X_LIMIT,
    QuarticDiffusion,
    median_start_x,
    quartic_rate,
    tau_quartic,
)

#: the two single-spike cases: which spike, threshold eta, step rule (delta(d)) and its constant
CASES: dict[str, dict[str, Any]] = {
    "covariance": {"spike": "u", "eta": 0.5, "step_rule": "log", "step_scale": 1.0},
    "quartic": {"spike": "v", "eta": 0.5, "step_rule": "inverse_d", "step_scale": 0.1},
}


def _check_case(case: str) -> str:
    if case not in CASES:
        raise ValueError(f"case must be one of {tuple(CASES)}, got {case!r}")
    return case


def _check_dims(name: str, dims: tuple[int, ...], minimum: int = 5) -> None:
    if len(dims) < 2 or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < minimum
                            for d in dims) or list(dims) != sorted(set(dims)):
        raise ValueError(f"{name} must be >= 2 increasing integers >= {minimum}, got {dims!r}")


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


@dataclass(frozen=True)
class Physics:
    """What the SGD runs learn: tied neuron ``c x_t + w sigma(w.x_t)`` at noise level ``a``.

    ``beta`` is ``beta_u`` in the covariance case (``beta_v = 0``) and ``beta_v`` in the
    quartic case (``beta_u = 0``). The saved laptop sweeps were run at the defaults.
    """

    activation: str = "tanh"
    a: float = 0.6
    beta: float = 5.0
    latent: str = "rademacher"

    @property
    def neuron(self) -> NeuronSpec:
        """The neuron: ``activation`` at the noise level ``a``, with c = a and A = 1."""
        return NeuronSpec(self.activation, self.a)

    def __post_init__(self) -> None:
        """Check the activation, the noise level a in (0, 1) and beta > 0."""
        NeuronSpec(self.activation, self.a)  # checks the activation and a
        if not (isinstance(self.beta, (int, float)) and math.isfinite(self.beta) and self.beta > 0):
            raise ValueError(f"beta (spike strength) must be a finite number > 0, got {self.beta!r}")

    def model(self, case: str, d: int) -> MixedCumulantModel:
        """The MCM of ``case`` at dimension ``d`` (spikes drawn with seed 0)."""
        _check_case(case)
        betas = {"beta_u": self.beta, "beta_v": 0.0} if case == "covariance" else \
            {"beta_u": 0.0, "beta_v": self.beta}
        return MixedCumulantModel(d, latent=self.latent, seed=0, **betas)

    @property
    def is_default(self) -> bool:
        """Whether these are the physics of the saved sweeps."""
        return self == Physics()

    def sweep_kwargs(self, case: str) -> dict[str, Any]:
        """The physics keywords of :func:`easyhard.sgd.sample_complexity` for ``case``."""
        kw: dict[str, Any] = {"beta_u": self.beta, "beta_v": 0.0} if _check_case(case) == "covariance" \
            else {"beta_u": 0.0, "beta_v": self.beta}
        if not self.is_default:
            kw.update(activation=self.activation, a=self.a, latent=self.latent)
        return kw


# --------------------------------------------------------------------------- quartic theory
@dataclass(frozen=True)
class QuarticTheory:
    """Three predictions of the mean quartic escape, as first-passage steps / d^3 per d.

    ``closed_form``: ``tau_v = (alpha_0^-2 - eta^-2) / (8 K)`` from the median start;
    ``flow``: the full noiseless flow from the median start (:mod:`easyhard.theory.flow`);
    ``diffusion``: the mean exit of the rescaled diffusion (Ito contraction and noise included).
    """

    dims: np.ndarray
    x0: np.ndarray
    closed_form: np.ndarray
    flow: np.ndarray
    diffusion: np.ndarray
    model: QuarticDiffusion
    eta: float

    def table(self) -> str:
        """A Markdown table of the three predictions."""
        rows = ["| d | start $d\\alpha_0^2$ | closed form | noiseless flow | rescaled diffusion (mean) |",
                "|---|---|---|---|---|"]
        for i, d in enumerate(self.dims):
            rows.append(f"| {d} | {self.x0[i]:.3f} | {self.closed_form[i]:.0f} | {self.flow[i]:.0f} | "
                        f"{self.diffusion[i]:.0f} |")
        return "\n".join(rows) + "\n\nfirst-passage step / $d^3$, threshold " + f"{self.eta:g}"

    def summary(self) -> str:
        """K, C, c* and the size of what the noiseless flow leaves out, in words."""
        q, x = self.model, MEDIAN_START_X_LIMIT
        push, signal = q.step_scale * q.noise * (1 - x), 8 * q.rate * x**2
        return (f"K = -g_4 kt_4 = {q.rate:.4f}, noise constant C = {q.noise:.3f}, c* = 32K/C = "
                f"{q.critical_step:.3f}; at c = {q.step_scale:g} and the median start x0 = {x:.3f}, the "
                f"diffusion's push cC(1 - x0) = {push:.3f} is {push / signal:.1f} times the signal "
                f"8K x0^2 = {signal:.3f}; with noise the mean escape is {np.min(self.diffusion / self.flow):.2f}-"
                f"{np.max(self.diffusion / self.flow):.2f} times the noiseless flow's over these d")


def quartic_theory(physics: Physics, dims: tuple[int, ...] | np.ndarray, step_scale: float = 0.1,
                   eta: float = 0.5) -> QuarticTheory:
    """:class:`QuarticTheory` at ``delta = step_scale / d`` for each d of ``dims``."""
    dims = np.asarray(dims, dtype=np.int64)
    q = diffusion(step_scale, physics)
    x0 = np.array([median_start_x(int(d)) for d in dims])
    closed = np.array([tau_quartic(int(d), eta, x, q.rate) / (step_scale * d) for d, x in zip(dims, x0, strict=True)])
    fl = np.array([flow.escape_time(physics.model("quartic", int(d)), "v", eta, physics.neuron)
                   / (step_scale * d) for d in dims])
    return QuarticTheory(dims, x0, closed, fl, q.mean_steps_over_d3(dims, eta), q, eta)


# --------------------------------------------------------------------------- trajectories
@dataclass(frozen=True)
class TrajectoryConfig(ScalePreset):
    """Median overlap over time, per d, for the covariance and the quartic spike.

    Each run lasts ``horizon`` times the flow's escape time; ``records`` log-spaced records.
    """

    cov_dims: tuple[int, ...]
    quart_dims: tuple[int, ...]
    walkers: int
    records: int = 80
    horizon: float = 3.0
    seed: int = 10_000

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"cov_dims": (64, 256, 1024), "quart_dims": (12, 16, 24), "walkers": 16},
        "laptop": {"cov_dims": (64, 256, 1024, 4096), "quart_dims": (16, 24, 32, 48), "walkers": 32},
        "paper": {"cov_dims": (64, 256, 1024, 4096), "quart_dims": (16, 32, 64, 128), "walkers": 64},
    }

    def __post_init__(self) -> None:
        """Check the dimensions, walkers, records, seed and horizon."""
        _check_dims("cov_dims", self.cov_dims)
        _check_dims("quart_dims", self.quart_dims)
        _check_positive_int("walkers", self.walkers)
        _check_positive_int("records", self.records)
        check_seed(self.seed)
        if not self.horizon > 0:
            raise ValueError(f"horizon must be > 0, got {self.horizon!r}")


@dataclass
class Curve:
    """One d of :func:`trajectories`: steps, median |alpha| over walkers, the flow's |alpha|."""

    d: int
    steps: np.ndarray
    median: np.ndarray
    flow: np.ndarray
    scaled_steps: np.ndarray

    @property
    def final(self) -> float:
        """Median |alpha| at the last record (the plateau once the run is long enough)."""
        return float(self.median[-1])


def trajectories(cfg: TrajectoryConfig, physics: Physics = Physics()) -> dict[str, list[Curve]]:
    """Run the reduced engine for each case and d of ``cfg`` (uniform starts).

    The covariance case uses ``delta = 1 / ln d`` and is shown against ``n / d``; the
    quartic case ``delta = 0.1 / d`` against ``n / d^3``. The flow
    (:mod:`easyhard.theory.flow`) starts at the median initial overlap and is the
    *noiseless* population flow: no Ito contraction, no diffusion.
    """
    out: dict[str, list[Curve]] = {}
    for case, dims, power in (("covariance", cfg.cov_dims, 1), ("quartic", cfg.quart_dims, 3)):
        spec = CASES[case]
        curves = []
        for i, d in enumerate(dims):
            model = physics.model(case, d)
            lr = step_size(d, spec["step_rule"], spec["step_scale"]) / d
            tau = flow.escape_time(model, spec["spike"], spec["eta"], physics.neuron)
            steps = int(cfg.horizon * tau / lr)
            tr = run(model, steps, lr, physics.activation, physics.a, cfg.walkers, "reduced",
                     cfg.seed + i, records=cfg.records)
            alpha = tr.alpha_u if case == "covariance" else tr.alpha_v
            a0 = flow.median_start(d)
            start = (a0, 0.0) if case == "covariance" else (0.0, a0)
            fl = flow.integrate_flow(model, tr.steps * lr, start, physics.neuron)
            k = 0 if case == "covariance" else 1
            curves.append(Curve(d, tr.steps, np.median(np.abs(alpha[:, 0]), 0), np.abs(fl[k]),
                                tr.steps / float(d) ** power))
        out[case] = curves
    return out


# --------------------------------------------------------------------------- sweeps
@dataclass(frozen=True)
class SweepConfig(ScalePreset):
    """Weak-recovery sweep of one case over d (:func:`easyhard.sgd.sample_complexity`).

    The covariance presets start at d = 64: below, ``eta sqrt(d) < 4`` and the escape is
    only a few dozen steps, a range where the median of integer passage steps is too
    coarse for its bootstrap interval.

    ``budget``: each walker gets at most this many times the flow's escape steps.
    ``start="median"`` (quartic) starts every walker at the median initial overlap.
    """

    case: str
    dims: tuple[int, ...]
    walkers: int
    start: str = "uniform"
    budget: float = 30.0
    seed: int = 10_000

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}  # per case: see preset()

    CASE_PRESETS: ClassVar[dict[str, dict[str, dict[str, Any]]]] = {
        "covariance": {
            "ci": {"dims": (64, 128, 256, 512, 1024), "walkers": 128},
            "laptop": {"dims": (64, 128, 256, 512, 1024, 2048, 4096), "walkers": 64, "seed": 0},
            "paper": {"dims": (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), "walkers": 128, "seed": 0},
        },
        "quartic": {
            "ci": {"dims": (12, 16, 24, 32), "walkers": 40, "start": "median", "budget": 10.0},
            "laptop": {"dims": (16, 24, 32, 48, 64, 96), "walkers": 32, "start": "median", "budget": 10.0,
                       "seed": 0},
            "paper": {"dims": (32, 64, 128, 256, 512), "walkers": 64, "start": "median", "budget": 10.0,
                      "seed": 0},
        },
    }

    @classmethod
    def preset(cls, case: str, scale: str | None = None, **overrides: Any) -> SweepConfig:  # type: ignore[override]
        """The config of ``case`` at ``scale`` (default: the current one), with ``overrides``."""
        name = check_scale(scale) if scale is not None else current_scale()
        return cls(case=_check_case(case), **{**cls.CASE_PRESETS[case][name], **overrides})

    def __post_init__(self) -> None:
        """Check the case, dimensions, walkers, seed, start and budget."""
        _check_case(self.case)
        _check_dims("dims", self.dims)
        _check_positive_int("walkers", self.walkers)
        check_seed(self.seed)
        if self.start not in ("uniform", "median"):
            raise ValueError(f"start must be 'uniform' or 'median', got {self.start!r}")
        if not self.budget > 0:
            raise ValueError(f"budget must be > 0, got {self.budget!r}")

    def kwargs(self, physics: Physics = Physics()) -> dict[str, Any]:
        """All keywords of :func:`easyhard.sgd.sample_complexity`."""
        return {**CASES[self.case], **physics.sweep_kwargs(self.case), "dims": list(self.dims),
                "walkers": self.walkers, "start": self.start, "budget": self.budget,
                "seed": self.seed, "engine": "reduced"}


def sweep(cfg: SweepConfig, physics: Physics = Physics(), progress: bool = False) -> SampleComplexity:
    """Run the sweep of ``cfg`` now (no caching)."""
    return sample_complexity(**cfg.kwargs(physics), progress=progress)


def saved_laptop_sweep(case: str) -> tuple[SampleComplexity, str] | None:
    """The saved laptop-scale sweep of ``case`` (default physics) and its provenance line."""
    _check_case(case)
    sc = scaling(case, "laptop", compute=False)
    if sc is None:
        return None
    meta = results.load(f"sgd_scaling_{case}", scaling_config(case, "laptop"))
    return sc, meta.describe() if meta is not None else "laptop scale"


SAVED_LAPTOP = {"covariance": "covariance (saved laptop)", "quartic": "quartic (saved laptop)"}
SAVED_LONG = "quartic, uniform start (saved long)"


def saved_sweeps(long_min_dims: int = 4) -> dict[str, tuple[SampleComplexity, str]]:
    """Every saved sweep of the chapter's default physics, by label, with its provenance line.

    The laptop sweeps of both cases, and the long exact quartic sweep
    (``easyhard.sgd.experiments.long_sweep("quartic_exact")``) once it has
    ``long_min_dims`` finished dimensions.
    """
    out = {}
    for case, label in SAVED_LAPTOP.items():
        hit = saved_laptop_sweep(case)
        if hit is not None:
            out[label] = hit
    from easyhard.sgd import experiments as sgd_experiments

    if "quartic_exact" in getattr(sgd_experiments, "LONG_SWEEPS", {}):
        long = sgd_experiments.long_sweep("quartic_exact")
        if long is not None and long.dims.size >= long_min_dims:
            res = results.load("sgd_sweep_quartic_exact", sgd_experiments.LONG_SWEEPS["quartic_exact"])
            out[SAVED_LONG] = (long, res.describe() if res is not None else "long run")
    return out


def lower_bound_sweep(saved: dict[str, tuple[SampleComplexity, str]]) -> tuple[str, SampleComplexity] | None:
    """The saved quartic sweep with the most dimensions (the long one once it exists)."""
    quartic = [(label, sc) for label, (sc, _) in saved.items() if label.startswith("quartic")]
    return max(quartic, key=lambda item: (item[1].dims.size, item[1].passage.shape[1])) if quartic else None


# --------------------------------------------------------------------------- slopes
def log_factor(dims: np.ndarray, eta: float) -> np.ndarray:
    """``ln d ln(eta sqrt d)``: the logarithms of the covariance escape ``n ~ d ln d ln(eta sqrt d)``."""
    dims = np.asarray(dims, dtype=float)
    if not 0 < eta < 1:
        raise ValueError(f"eta must lie in (0, 1), got {eta!r}")
    if np.any(eta * np.sqrt(dims) <= 1):
        raise ValueError("log_factor needs eta sqrt(d) > 1 at every d")
    return np.log(dims) * np.log(eta * np.sqrt(dims))


@dataclass(frozen=True)
class Slope:
    """A measured log-log slope with its 95% bootstrap interval and the flow's slope over the same d."""

    slope: float
    lo: float
    hi: float
    flow: float

    @property
    def contains_flow(self) -> bool:
        """Whether the flow's slope lies strictly inside the interval."""
        return self.lo < self.flow < self.hi

    def excludes(self, value: float) -> bool:
        """Whether ``value`` lies outside the closed interval ``[lo, hi]``."""
        return not self.lo <= value <= self.hi


def slopes(sc: SampleComplexity) -> dict[str, Slope]:
    """``{"raw": ...}`` and, for the ``"log"`` step rule, ``"log-corrected"`` (steps / :func:`log_factor`)."""
    slope, lo, hi, _ = sc.fit()
    out = {"raw": Slope(slope, lo, hi, sc.theory_slope())}
    if sc.config.get("step_rule") == "log":
        lf = log_factor(sc.dims, sc.config["eta"])
        c_slope, c_lo, c_hi, _ = fit_slope(sc.dims, sc.passage / lf[:, None])
        c_flow = float(np.polyfit(np.log(sc.dims), np.log(sc.theory_steps / lf), 1)[0])
        out["log-corrected"] = Slope(c_slope, c_lo, c_hi, c_flow)
    return out


def power_shifted(sc: SampleComplexity, power: float) -> SampleComplexity:
    """The same sweep with every passage multiplied by ``(d / d_min)^power``.

    Data of a law ``power`` powers away, with the same spread (the negative control of
    the slope checks).
    """
    factor = (sc.dims / sc.dims[0]).astype(float) ** power
    return dataclasses.replace(sc, passage=sc.passage * factor[:, None])


def quartic_slope_check(s: Slope) -> bool:
    """The quartic slope claim: the interval contains the flow's slope and excludes its neighbours.

    The interval contains the flow's slope and reaches neither the flow's slope plus
    one (a d^4 law) nor minus one (a d^2 law).
    """
    return s.contains_flow and s.flow - 1 < s.lo and s.hi < s.flow + 1


def slope_table(rows: dict[str, SampleComplexity]) -> str:
    """A Markdown table: case, d range, walkers, slope [95%], the flow's slope, log-corrected."""
    lines = ["| run | d | walkers | slope [95% interval] | flow's slope | log-corrected [95%] | flow's corrected |",
             "|---|---|---|---|---|---|---|"]
    for label, sc in rows.items():
        s = slopes(sc)
        raw = s["raw"]
        cor = s.get("log-corrected")
        cells = [label, f"{sc.dims[0]}-{sc.dims[-1]}", str(sc.passage.shape[1]),
                 f"{raw.slope:.2f} [{raw.lo:.2f}, {raw.hi:.2f}]", f"{raw.flow:.2f}",
                 f"{cor.slope:.2f} [{cor.lo:.2f}, {cor.hi:.2f}]" if cor else "",
                 f"{cor.flow:.2f}" if cor else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- lower bound
@dataclass(frozen=True)
class Collapse:
    """passage / d^power per d (rows), and how well the laws agree across d.

    ``pvalue``: k-sample Anderson-Darling test that all d share one law of
    passage / d^power (scipy caps it to [0.001, 0.25]). ``drift``: log-log slope of the
    median of passage / d^power against d, with its bootstrap interval.
    """

    power: float
    dims: np.ndarray
    scaled: np.ndarray
    pvalue: float
    drift: tuple[float, float, float]


def collapse(sc: SampleComplexity, power: float) -> Collapse:
    """:class:`Collapse` of the sweep's passage arrays at ``power``.

    Walkers that never passed (inf) count as later than every finite passage (the test
    is rank-based); the median must be finite at every d.
    """
    scaled = sc.passage / sc.dims[:, None].astype(float) ** power
    ranked = np.where(np.isfinite(scaled), scaled, np.finfo(float).max)
    perm = scipy.stats.PermutationMethod(n_resamples=999, random_state=0)
    with warnings.catch_warnings():  # scipy >= 1.17 asks for `variant`; older ones lack it
        warnings.simplefilter("ignore", UserWarning)
        res = scipy.stats.anderson_ksamp(list(ranked), method=perm)
    slope, lo, hi, _ = fit_slope(sc.dims, scaled)
    return Collapse(power, sc.dims, scaled, float(res.pvalue), (slope, lo, hi))


# --------------------------------------------------------------------------- step size
@dataclass(frozen=True)
class StepSizeConfig(ScalePreset):
    """The quartic sweep at a step constant ``step_scale`` (``delta = c / d``) above c*.

    Median start, threshold 0.5; ``budget`` in multiples of the noiseless flow's escape.
    The small-step partner is the quartic :class:`SweepConfig` of the same scale.
    """

    dims: tuple[int, ...]
    walkers: int
    step_scale: float = 1.0
    budget: float = 300.0
    seed: int = 30_000

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"dims": (8, 12, 16, 24, 32), "walkers": 32},
        "laptop": {"dims": (16, 24, 32, 48, 64), "walkers": 32, "seed": 20_000},
        "paper": {"dims": (16, 24, 32, 48, 64, 96, 128, 192), "walkers": 64, "seed": 20_000},
    }

    def __post_init__(self) -> None:
        """Check the dimensions, walkers, seed, step constant and budget."""
        _check_dims("dims", self.dims)
        _check_positive_int("walkers", self.walkers)
        check_seed(self.seed)
        if not (math.isfinite(self.step_scale) and self.step_scale > 0):
            raise ValueError(f"step_scale must be a finite number > 0, got {self.step_scale!r}")
        if not self.budget > 0:
            raise ValueError(f"budget must be > 0, got {self.budget!r}")

    def kwargs(self, physics: Physics = Physics()) -> dict[str, Any]:
        """All keywords of :func:`easyhard.sgd.sample_complexity`."""
        return {**CASES["quartic"], **physics.sweep_kwargs("quartic"), "step_scale": self.step_scale,
                "dims": list(self.dims), "walkers": self.walkers, "start": "median",
                "budget": self.budget, "seed": self.seed, "engine": "reduced"}


STEP_SIZE_RESULT = "easy_hard_step_size"


def step_size_sweep(cfg: StepSizeConfig, physics: Physics = Physics(), *, saved: bool = False,
                    progress: bool = False) -> SampleComplexity | None:
    """Run the sweep of ``cfg`` now, or (``saved=True``) load it from ``data/results``.

    The saved sweep is None if it was never saved; :func:`save_step_size_sweep`
    computes and saves one.
    """
    kwargs = cfg.kwargs(physics)
    if saved:
        hit = results.load(STEP_SIZE_RESULT, kwargs)
        return SampleComplexity.from_result(hit) if hit is not None else None
    return sample_complexity(**kwargs, progress=progress)


def save_step_size_sweep(cfg: StepSizeConfig, scale: str, physics: Physics = Physics()) -> SampleComplexity:
    """Compute the sweep of ``cfg`` with a per-d checkpoint (a cut-off run resumes) and save it."""
    kwargs = cfg.kwargs(physics)
    results.check_writable()  # before computing: no work lost to a failing save
    t0 = time.perf_counter()
    sc = sample_complexity(**kwargs, checkpoint=results.cache_dir() / "sgd_sweeps", progress=True)
    results.save(STEP_SIZE_RESULT, kwargs, sc.arrays(), wall_time=time.perf_counter() - t0, scale=scale)
    return sc


def step_size_description() -> str:
    """Provenance of the saved step-size sweep(s)."""
    found = results.find(STEP_SIZE_RESULT)
    return "; ".join(r.describe() for r in found) if found else "none saved"


def step_size_runs(small: SampleComplexity, big: SampleComplexity, big_cfg: StepSizeConfig,
                   saved: dict[str, tuple[SampleComplexity, str]],
                   big_saved: SampleComplexity | None) -> dict[str, tuple[SampleComplexity, float]]:
    """The runs of the step-size figure, by label, with their step constants.

    The live quartic sweep (c = 0.1) and the live large-step sweep, plus the saved
    laptop pair when both exist.
    """
    c_small = float(small.config["step_scale"])
    out = {f"c = {c_small:g}, live": (small, c_small),
           f"c = {big_cfg.step_scale:g}, live": (big, big_cfg.step_scale)}
    laptop = saved.get(SAVED_LAPTOP["quartic"])
    if laptop is not None and big_saved is not None:
        out[f"c = {c_small:g}, saved laptop"] = (laptop[0], c_small)
        out[f"c = {float(big_saved.config['step_scale']):g}, saved laptop"] = (
            big_saved, float(big_saved.config["step_scale"]))
    return out


def mean_over_d3(sc: SampleComplexity, censored: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """Mean first-passage step / d^3 per d and its standard error.

    The mean needs every walker to have passed: ``censored="raise"`` refuses a d where one
    did not, ``"nan"`` returns NaN there.
    """
    if censored not in ("raise", "nan"):
        raise ValueError(f"censored must be 'raise' or 'nan', got {censored!r}")
    done = np.all(np.isfinite(sc.passage), axis=1)
    if censored == "raise" and not done.all():
        raise ValueError("the mean needs every walker to have passed: raise the budget")
    scaled = sc.passage / sc.dims[:, None].astype(float) ** 3
    with np.errstate(invalid="ignore"):
        mean = np.where(done, scaled.mean(1), np.nan)
        se = np.where(done, scaled.std(1, ddof=1) / math.sqrt(scaled.shape[1]), np.nan)
    return mean, se


def effective_sweeps(physics: Physics = Physics(), eta: float = 0.5) -> dict[float, tuple[SampleComplexity, str]]:
    """The saved quartic sweeps of the effective (SDE) engine, by step constant c, with provenance.

    Uniform start, threshold ``eta``; empty if none is saved for these physics.
    """
    out = {}
    for res in results.find("sgd_effective_quartic"):
        cfg = res.config
        if (cfg.get("engine") == "effective" and cfg.get("start") == "uniform" and cfg.get("eta") == eta
                and cfg.get("activation", "tanh") == physics.activation and cfg.get("a", 0.6) == physics.a
                and cfg.get("beta_v") == physics.beta and cfg.get("beta_u") == 0.0):
            out.setdefault(float(cfg["step_scale"]), (SampleComplexity.from_result(res), res.describe()))
    return dict(sorted(out.items()))


def large_d_half(sc: SampleComplexity) -> SampleComplexity:
    """The dimensions at or above the geometric middle of the sweep's range."""
    keep = np.log(sc.dims) >= 0.5 * (np.log(sc.dims[0]) + np.log(sc.dims[-1]))
    return dataclasses.replace(sc, dims=sc.dims[keep], passage=sc.passage[keep], lr=sc.lr[keep],
                               theory_steps=sc.theory_steps[keep], formula_steps=sc.formula_steps[keep])


def diffusion_deviation(sc: SampleComplexity, theory: QuarticDiffusion, eta: float,
                        start: str = "median") -> np.ndarray:
    """(measured mean - diffusion's mean) / standard error per d (NaN where a walker never passed)."""
    mean, se = mean_over_d3(sc, censored="nan")
    return (mean - theory.mean_steps_over_d3(sc.dims, eta, start=start)) / se


def covariance_ito_factor(dims: np.ndarray, physics: Physics = Physics()) -> np.ndarray:
    """How much the Ito contraction lengthens the covariance escape at ``delta = 1 / ln d``.

    The rate ``2 |g_2| beta_u`` becomes ``2 |g_2| beta_u - delta C / 2``, so the time
    grows by ``1 / (1 - delta C / (4 |g_2| beta_u))``.
    """
    g2 = hermite_coefficients(physics.neuron, kmax=2)[2]
    ratio = flow.noise_constant(physics.neuron) / (4 * abs(g2) * physics.beta)
    return 1.0 / (1.0 - ratio / np.log(np.asarray(dims, dtype=float)))


def diffusion(step_scale: float, physics: Physics = Physics()) -> QuarticDiffusion:
    """The rescaled quartic diffusion at ``delta = step_scale / d`` for ``physics``."""
    model = physics.model("quartic", 16)
    rate = quartic_rate(model, physics.neuron)
    return QuarticDiffusion(rate, flow.noise_constant(physics.neuron), float(step_scale))


# --------------------------------------------------------------------------- under the hood
@dataclass(frozen=True)
class EngineCheckConfig(ScalePreset):
    """The engine validations: a few large steps at small d, and whole runs.

    A few large steps from a fixed start at small d, compared by KS over ``reps``
    repetitions (with negative controls), and whole runs of ``walkers`` walkers at
    ``run_d`` (covariance spike, passage to ``run_eta``).
    """

    reps: int
    walkers: int
    ks_d: int = 8
    ks_steps: int = 3
    ks_lr: float = 1.0
    ks_init: tuple[float, float] = (0.3, 0.2)
    run_d: int = 16
    run_steps: int = 2000
    run_lr: float = 0.02
    run_eta: float = 0.5

    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"reps": 100_000, "walkers": 400},
        "laptop": {"reps": 400_000, "walkers": 1000},
        "paper": {"reps": 400_000, "walkers": 1000},
    }

    def __post_init__(self) -> None:
        """Check the counts (positive integers) and ``ks_d``, ``run_d`` >= 5."""
        for name in ("reps", "walkers", "ks_steps", "run_steps"):
            _check_positive_int(name, getattr(self, name))
        if self.ks_d < 5 or self.run_d < 5:
            raise ValueError(f"ks_d and run_d must be >= 5 (the reduced engine), got {self.ks_d}, {self.run_d}")


def ks_validation(cfg: EngineCheckConfig, physics: Physics = Physics()) -> dict[str, tuple[float, float]]:
    """KS p-values of (alpha_u, alpha_v) after ``ks_steps`` steps, direct vs reduced engine.

    Two-sample tests; the reduced engine runs with the exact complement and with its two negative
    controls (``"mean"``: the complement's norm replaced by its mean; ``"drop"``:
    complement left out).
    """
    model = MixedCumulantModel(cfg.ks_d, beta_u=physics.beta, beta_v=physics.beta, latent=physics.latent, seed=0)
    common = dict(walkers=cfg.reps, init=cfg.ks_init, records=np.array([0, cfg.ks_steps]))
    direct = run(model, cfg.ks_steps, cfg.ks_lr, physics.activation, physics.a, engine="direct",
                 backend="numba", seed=1, **common)
    out = {}
    for complement in ("exact", "mean", "drop"):
        red = run(model, cfg.ks_steps, cfg.ks_lr, physics.activation, physics.a, engine="reduced", seed=2,
                  complement=complement, **common)
        out[complement] = tuple(float(scipy.stats.ks_2samp(getattr(direct, k)[:, 0, -1],
                                                           getattr(red, k)[:, 0, -1]).pvalue)
                                for k in ("alpha_u", "alpha_v"))
    return out


@dataclass(frozen=True)
class EngineComparison:
    """Whole runs of the direct and the reduced engine from independent uniform starts.

    ``passage_p``: two-sample KS p-value of the first passages of ``spike``;
    ``reached``: the fraction of walkers of each engine that passed; ``overlap_p[name]``:
    the smallest KS p-value of ``|name|`` over the records after the start; ``mean_z[name]``:
    the largest ``|mean difference| / standard error`` of ``|name|`` over those records.
    """

    runs: dict[str, Trajectories]
    passage_p: float
    reached: dict[str, float]
    overlap_p: dict[str, float]
    mean_z: dict[str, float]

    def agrees(self, passage_p: float = 1e-3, overlap_p: float = 1e-4, z: float = 4.5) -> bool:
        """Whether the two engines agree in law, in mean, and in the fraction that passed.

        In the law of first passage (KS p above ``passage_p``), in the law of the
        overlaps at each record (above ``overlap_p``), in their means (within ``z``
        standard errors), and with more than half the walkers of each passing.
        """
        return bool(self.passage_p > passage_p and min(self.overlap_p.values()) > overlap_p
                    and max(self.mean_z.values()) < z and min(self.reached.values()) > 0.5)


def compare_engines(model: MixedCumulantModel, steps: int, lr: float, spike: str, eta: float, walkers: int,
                    records: int | np.ndarray, physics: Physics = Physics(), seeds: tuple[int, int] = (0, 1)
                    ) -> EngineComparison:
    """Run both engines on ``model`` (``seeds``: direct, reduced) and compare them (:class:`EngineComparison`)."""
    kw = dict(walkers=walkers, thresholds={spike: eta}, records=records)
    runs = {e: run(model, steps, lr, physics.activation, physics.a, engine=e, backend="numba", seed=seed, **kw)
            for e, seed in zip(("direct", "reduced"), seeds, strict=True)}
    overlap_p, mean_z = {}, {}
    for name in ("alpha_u", "alpha_v"):
        x, y = (np.abs(getattr(runs[e], name)[:, 0, 1:]) for e in ("direct", "reduced"))
        se = np.sqrt((x.var(0) + y.var(0)) / walkers) + 1e-300
        mean_z[name] = float(np.max(np.abs(x.mean(0) - y.mean(0)) / se))
        overlap_p[name] = float(min(scipy.stats.ks_2samp(x[:, k], y[:, k]).pvalue for k in range(x.shape[1])))
    tx, ty = runs["direct"].passage[spike], runs["reduced"].passage[spike]
    return EngineComparison(runs, float(scipy.stats.ks_2samp(tx, ty).pvalue),
                            {"direct": float(np.mean(np.isfinite(tx))), "reduced": float(np.mean(np.isfinite(ty)))},
                            overlap_p, mean_z)


def whole_run_agreement(cfg: EngineCheckConfig, physics: Physics = Physics()) -> tuple[dict[str, Trajectories], float]:
    """Both engines on the covariance spike at ``run_d``; the KS p-value of their first passages."""
    out = compare_engines(physics.model("covariance", cfg.run_d), cfg.run_steps, cfg.run_lr, "u", cfg.run_eta,
                          cfg.walkers, 40, physics)
    return out.runs, out.passage_p


def ns_per_walker_step(model: MixedCumulantModel, engine: str, walkers: int, steps: int,
                       backend: str = "numba", reps: int = 3) -> float:
    """CPU nanoseconds per walker-step of ``engine`` on one thread.

    The least of ``reps`` runs of ``steps`` steps at ``lr = 0.1 / d^2``, after a
    warm-up run that compiles.
    """
    kw = dict(walkers=walkers, engine=engine, backend=backend, records=2, threads=1)
    run(model, 2, 1e-4, **kw)
    best = math.inf
    for _ in range(reps):
        t0 = time.process_time()
        run(model, steps, 0.1 / model.d**2, **kw)
        best = min(best, time.process_time() - t0)
    return best / (steps * walkers) * 1e9


#: steps per timing of each engine at dimension d (the direct engine's cost grows with d)
COST_STEPS: dict[str, Any] = {"direct": lambda d: max(200, 2_000_000 // d), "reduced": lambda d: 100_000}


def engine_costs(dims: tuple[int, ...] = (64, 256, 1024, 4096), walkers: int = 4) -> dict[str, list[float]]:
    """:func:`ns_per_walker_step` of the direct and the reduced engine at each d (quartic spike)."""
    return {e: [ns_per_walker_step(Physics().model("quartic", d), e, walkers, n(d)) for d in dims]
            for e, n in COST_STEPS.items()}


def rescaled_summary(theories: dict[float, QuarticDiffusion], eta: float,
                     prefactor_steps: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)) -> str:
    """Critical step, noise band and the d -> infinity limit of mean n/d^3 per step constant."""
    lines = []
    for c, q in sorted(theories.items()):
        band = q.noise_band()
        where = (f"drift negative on the noise band x in ({band[0]:.2f}, {band[1]:.1f}), i.e. exit d eta^2 "
                 f"inside it for d < {band[1] / eta**2:.0f}") if band else "drift positive for every x"
        lines.append(f"c = {c:g} ({'>' if c > q.critical_step else '<'} c* = {q.critical_step:.3f}): {where}")
    q0 = next(iter(theories.values()))
    limits = [QuarticDiffusion(q0.rate, q0.noise, c).mean_steps_over_d3([np.inf], eta)[0] for c in prefactor_steps]
    lines.append("d -> infinity, mean n/d^3 = T(c)/c: " +
                 ", ".join(f"c = {c:g}: {t:.0f}" for c, t in zip(prefactor_steps, limits, strict=True)))
    return "\n".join(lines)

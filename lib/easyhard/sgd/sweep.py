"""Sample complexity: first-passage steps over a sweep of d, a log-log fit, the theory beside it.

Step sizes (science.md 5 and 7), ``lr = delta / d`` per step:
``"log"``: delta = scale / ln d (covariance spike, k = 2);
``"inverse_d"``: delta = scale / d (quartic spike, k = 4, scale ~ 0.1);
``"constant"``: delta = scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from easyhard import results
from easyhard.config import check_seed
from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import ode
from easyhard.sgd._common import check_int, check_positive
from easyhard.sgd.engines import run

STEP_RULES: tuple[str, ...] = ("log", "inverse_d", "constant")
STARTS: tuple[str, ...] = ("uniform", "median")


def step_size(d: int, rule: str, scale: float) -> float:
    """delta(d) of the rule (module docstring)."""
    if rule not in STEP_RULES:
        raise ValueError(f"step_rule must be one of {STEP_RULES}, got {rule!r}")
    if rule == "log":
        return scale / math.log(d)
    if rule == "inverse_d":
        return scale / d
    return scale


def fit_slope(
    dims: np.ndarray, passage: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float, float]:
    """``(slope, lo, hi, intercept)`` of ``log median_walkers(passage) = intercept + slope log d``.

    ``passage`` has shape (len(dims), walkers) (inf: never reached). The interval
    is a percentile bootstrap over walkers, resampled independently per d;
    resamples whose median is infinite are dropped.
    """
    dims = np.asarray(dims, dtype=float)
    passage = np.asarray(passage, dtype=float)
    if dims.ndim != 1 or dims.size < 2 or passage.shape[0] != dims.size:
        raise ValueError("dims must be 1-d with >= 2 entries and passage of shape (len(dims), walkers)")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level!r}")
    x = np.log(dims)
    med = np.median(passage, axis=1)
    if not np.all(np.isfinite(med)) or np.any(med <= 0):
        raise ValueError("the median first-passage time is infinite or zero at some d: raise the budget")
    slope, intercept = np.polyfit(x, np.log(med), 1)
    rng = np.random.default_rng(seed)
    W = passage.shape[1]
    idx = rng.integers(0, W, size=(n_boot, dims.size, W))
    boot_med = np.median(np.take_along_axis(passage[None], idx, axis=2), axis=2)  # (n_boot, D)
    ok = np.all(np.isfinite(boot_med) & (boot_med > 0), axis=1)
    y = np.log(boot_med[ok])
    xc = x - x.mean()
    slopes = (y - y.mean(1, keepdims=True)) @ xc / (xc @ xc)
    lo, hi = np.percentile(slopes, [50 * (1 - level), 50 * (1 + level)])
    return float(slope), float(lo), float(hi), float(intercept)


@dataclass
class SampleComplexity:
    """First-passage steps per d (rows) and walker (columns), their summary and the theory.

    ``theory_steps``: the population flow from the median start (:mod:`easyhard.sgd.ode`);
    ``formula_steps``: science.md's closed-form escape times. Both in SGD steps.
    """

    dims: np.ndarray
    passage: np.ndarray
    lr: np.ndarray
    theory_steps: np.ndarray
    formula_steps: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> np.ndarray:
        return np.median(self.passage, axis=1)

    @property
    def quartiles(self) -> np.ndarray:
        """(2, D): 25% and 75% quantiles over walkers."""
        return np.percentile(self.passage, [25, 75], axis=1)

    @property
    def fraction_reached(self) -> np.ndarray:
        return np.mean(np.isfinite(self.passage), axis=1)

    def fit(self, n_boot: int = 2000) -> tuple[float, float, float, float]:
        """:func:`fit_slope` of the measured first-passage steps."""
        return fit_slope(self.dims, self.passage, n_boot)

    def theory_slope(self) -> float:
        """Log-log slope of the flow's prediction over the same dims."""
        return float(np.polyfit(np.log(self.dims), np.log(self.theory_steps), 1)[0])

    def arrays(self) -> dict[str, np.ndarray]:
        return {"dims": self.dims, "passage": self.passage, "lr": self.lr,
                "theory_steps": self.theory_steps, "formula_steps": self.formula_steps}

    @classmethod
    def from_result(cls, res: results.Result) -> SampleComplexity:
        """Rebuild from a saved :class:`easyhard.results.Result`."""
        arr = res.arrays
        return cls(arr["dims"], arr["passage"], arr["lr"], arr["theory_steps"], arr["formula_steps"], res.config)


def sample_complexity(
    dims: list[int] | np.ndarray,
    *,
    beta_u: float = 5.0,
    beta_v: float = 0.0,
    latent: str = "rademacher",
    p_corr: float = 0.0,
    spike: str = "u",
    eta: float = 0.5,
    activation: str = "tanh",
    a: float = 0.6,
    step_rule: str = "log",
    step_scale: float = 1.0,
    walkers: int = 16,
    engine: str = "reduced",
    start: str = "uniform",
    budget: float = 30.0,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    progress: bool = True,
) -> SampleComplexity:
    """Run ``walkers`` walkers per d until ``|alpha_spike| >= eta`` (weak recovery).

    Each walker gets at most ``budget`` times the flow's predicted steps (inf past
    that). ``start="median"`` starts every walker at the median initial overlap
    ``(alpha_u, alpha_v) = (a0, a0)``, ``a0 = median_start(d)``, which removes the
    spread of the random start (the dominant spread of the quartic escape) and
    keeps the d-dependence; ``"uniform"`` is the plain random start.
    ``checkpoint``: a folder where each d's passage times are cached
    (:func:`easyhard.results.cached`), so a cut-off sweep resumes.
    """
    dims = np.asarray(sorted({check_int("dims entry", int(d), 5) for d in dims}), dtype=np.int64)
    if spike not in ("u", "v"):
        raise ValueError(f"spike must be 'u' or 'v', got {spike!r}")
    if not 0.0 < eta < 1.0:
        raise ValueError(f"eta (weak-recovery threshold) must lie in (0, 1), got {eta!r}")
    if start not in STARTS:
        raise ValueError(f"start must be one of {STARTS}, got {start!r}")
    step_scale = check_positive("step_scale", step_scale)
    budget = check_positive("budget", budget)
    walkers = check_int("walkers", walkers, 1)
    seed = check_seed(seed)
    step_size(int(dims[0]), step_rule, step_scale)
    config = {
        "beta_u": beta_u, "beta_v": beta_v, "latent": latent, "p_corr": p_corr, "spike": spike,
        "eta": eta, "activation": activation, "a": a, "step_rule": step_rule,
        "step_scale": step_scale, "walkers": walkers, "engine": engine, "start": start,
        "budget": budget, "seed": seed,
    }
    lrs, theory, formula, rows = [], [], [], []
    for d in tqdm(dims, desc="sample complexity", disable=not progress):
        d = int(d)
        model = MixedCumulantModel(d, beta_u=beta_u, beta_v=beta_v, latent=latent, p_corr=p_corr, seed=d)
        lr = step_size(d, step_rule, step_scale) / d
        tau = ode.escape_time(model, spike, eta, activation, a)
        steps = max(1000, int(budget * tau / lr)) if math.isfinite(tau) else int(1e4 * d**3)
        init = (ode.median_start(d),) * 2 if start == "median" else None

        def compute(model=model, lr=lr, steps=steps, init=init, d=d) -> dict[str, np.ndarray]:
            traj = run(model, steps, lr, activation, a, walkers, engine, seed + d,
                       thresholds={spike: eta}, stop_at_passage=True, records=2, init=init,
                       progress=progress)
            return {"passage": traj.passage[spike]}

        cfg_d = {**config, "d": d}
        if checkpoint is not None:
            arrays = results.cached("sgd_passage", cfg_d, compute, root=checkpoint).arrays
        else:
            arrays = compute()
        rows.append(arrays["passage"])
        lrs.append(lr)
        theory.append(tau / lr)
        formula.append(ode.escape_formula(model, spike, eta, activation, a) / lr)
    return SampleComplexity(dims, np.stack(rows), np.array(lrs), np.array(theory), np.array(formula), config)

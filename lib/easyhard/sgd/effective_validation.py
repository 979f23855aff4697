"""Validation of the effective engine against the exact reduced engine, and its saved sweeps.

The check is a two-sample KS test on first-passage steps: the exact reduced
chain (:mod:`easyhard.sgd.reduced`) and the diffusion limit
(:mod:`easyhard.sgd.effective`) are run on the same problem, from the uniform
start, to the same threshold within the same step budget. Cases
(:data:`VALIDATION_CASES`): the covariance spike and the correlated latents at
``lr = 1 / (d ln d)``; the quartic spike at ``lr = c / d^2`` for c = 0.1 and c = 1.

The quartic escape to ``|alpha_v| = 0.5`` takes ~100 d^3 steps, 10^7-10^9 for
d = 32-128, too many for a test. In the rescaled variables x = d alpha_v^2,
s = c n / d^3 the process is d-independent, so the quartic cases stop at a fixed
rescaled exit ``x_exit`` (threshold ``eta = sqrt(x_exit / d)``): x_exit = 2 at
c = 0.1 (median s ~ 3) and 3 at c = 1 (median s ~ 1). The exit is inside the band
where the Ito contraction matters most, so dropping it (the negative control)
must fail. The exact runs of the quartic cases are saved with provenance
(:func:`exact_reference`, name ``sgd_effective_reference``); the cheap ones are
recomputed where needed.

:func:`quartic_sweep`: the effective engine's sample-complexity sweep of the
quartic spike, d = 16 to 16384, saved as ``sgd_effective_quartic``, with
:func:`large_d_fit`. ``python -m easyhard.sgd.effective_validation`` computes the
missing exact references, ``... sweeps`` the sweeps, ``... table`` prints
:func:`validation_table`.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import scipy.stats

from easyhard import results
from easyhard.data.mcm import MixedCumulantModel

#: case: model, tracked spike, step rule lr = scale / (d ln d) ("log") or scale / d^2 ("inverse_d"),
#: threshold eta (fixed) or x_exit (eta = sqrt(x_exit / d)), budget in units of the step scale
VALIDATION_CASES: dict[str, dict[str, Any]] = {
    "covariance": {"model": {"beta_u": 5.0, "beta_v": 0.0}, "spike": "u", "step_rule": "log",
                   "step_scale": 1.0, "eta": 0.5},
    "correlated": {"model": {"beta_u": 5.0, "beta_v": 5.0, "p_corr": 1.0}, "spike": "v",
                   "step_rule": "log", "step_scale": 1.0, "eta": 0.3},
    "quartic_c0.1": {"model": {"beta_u": 0.0, "beta_v": 5.0}, "spike": "v", "step_rule": "inverse_d",
                     "step_scale": 0.1, "x_exit": 2.0, "s_max": 30.0},
    "quartic_c1": {"model": {"beta_u": 0.0, "beta_v": 5.0}, "spike": "v", "step_rule": "inverse_d",
                   "step_scale": 1.0, "x_exit": 3.0, "s_max": 20.0},
}
#: walkers of the saved exact references per (case, d)
REFERENCE_WALKERS: dict[str, dict[int, int]] = {
    "quartic_c1": {32: 400, 64: 1000, 128: 400},
    "quartic_c0.1": {32: 400, 64: 64},  # exact walkers cost ~0.4 s at d = 64 and ~3 s at d = 128
}
VALIDATION_DIMS: tuple[int, ...] = (32, 64, 128)


def validation_problem(case: str, d: int) -> dict[str, Any]:
    """Model, ``lr``, spike, threshold and step budget of a validation case at dimension d."""
    if case not in VALIDATION_CASES:
        raise ValueError(f"case must be one of {tuple(VALIDATION_CASES)}, got {case!r}")
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 8:
        raise ValueError(f"d must be an integer >= 8, got {d!r}")
    spec = VALIDATION_CASES[case]
    d = int(d)
    model = MixedCumulantModel(d, seed=d, **spec["model"])
    if spec["step_rule"] == "log":
        lr = spec["step_scale"] / (d * math.log(d))
        eta = spec["eta"]
        steps = int(10 * d * math.log(d) ** 2)
    else:
        lr = spec["step_scale"] / d**2
        eta = math.sqrt(spec["x_exit"] / d)
        steps = int(spec["s_max"] * d**3 / spec["step_scale"])
    return {"model": model, "lr": lr, "spike": spec["spike"], "eta": eta, "steps": steps}


def passages(case: str, d: int, walkers: int, engine: str, seed: int, **kwargs: Any) -> np.ndarray:
    """First-passage steps (inf: not within the budget) of ``walkers`` walkers of ``engine``."""
    from easyhard.sgd import run

    prob = validation_problem(case, d)
    traj = run(prob["model"], prob["steps"], prob["lr"], walkers=walkers, engine=engine, seed=seed,
               thresholds={prob["spike"]: prob["eta"]}, stop_at_passage=True, records=2, **kwargs)
    return traj.passage[prob["spike"]]


def reference_config(case: str, d: int, walkers: int) -> dict[str, Any]:
    """The provenance config of an exact reference (what :func:`exact_reference` runs)."""
    prob = validation_problem(case, d)
    return {"case": case, "d": int(d), "walkers": int(walkers), "engine": "reduced", "seed": 1000 + int(d),
            "lr": prob["lr"], "eta": prob["eta"], "steps": prob["steps"], "spike": prob["spike"],
            **VALIDATION_CASES[case]["model"], "activation": "tanh", "a": 0.6, "start": "uniform"}


def exact_reference(case: str, d: int, walkers: int | None = None, *, compute: bool = True,
                    root: Any = None) -> np.ndarray | None:
    """First-passage steps of the exact reduced engine, from the saved result if present.

    ``walkers`` defaults to :data:`REFERENCE_WALKERS`; the seed is ``1000 + d``.
    Returns None if the result is missing and not ``compute``.
    """
    if walkers is None:
        walkers = REFERENCE_WALKERS.get(case, {}).get(int(d), 400)
    cfg = reference_config(case, d, walkers)
    hit = results.load("sgd_effective_reference", cfg, root)
    if hit is not None:
        return hit.arrays["passage"]
    if not compute:
        return None

    def work() -> dict[str, np.ndarray]:
        return {"passage": passages(case, d, walkers, "reduced", cfg["seed"])}

    return results.cached("sgd_effective_reference", cfg, work, root=root, scale="validation").arrays["passage"]


def ks_validation(case: str, d: int, effective_walkers: int = 2000, *, ito: bool = True,
                  exact: np.ndarray | None = None, seed: int | None = None) -> tuple[float, np.ndarray, np.ndarray]:
    """KS p-value of exact against effective first-passage steps, and both samples.

    ``exact``: the exact passages (default :func:`exact_reference`);
    ``ito=False`` drops the Ito contraction (the negative control).
    """
    if exact is None:
        exact = exact_reference(case, d)
    seed = 2000 + int(d) if seed is None else seed
    eff = passages(case, d, effective_walkers, "effective", seed, ito=ito)
    return float(scipy.stats.ks_2samp(exact, eff).pvalue), exact, eff


#: the saved sweeps of the effective engine (quartic spike, uniform start, eta = 0.5)
SWEEP_DIMS: tuple[int, ...] = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384)
SWEEP_STEP_SCALES: tuple[float, ...] = (0.1, 1.0)


def sweep_config(step_scale: float, dims: tuple[int, ...] = SWEEP_DIMS, walkers: int = 256) -> dict[str, Any]:
    """The keyword set of :func:`easyhard.sgd.sample_complexity` for a saved quartic sweep.

    delta = step_scale / d (lr = step_scale / d^2); the budget is 100 times the
    noiseless flow's escape time, far beyond the slowest walkers at c = 1.
    """
    return {"dims": [int(d) for d in dims], "beta_u": 0.0, "beta_v": 5.0, "spike": "v", "eta": 0.5,
            "activation": "tanh", "a": 0.6, "step_rule": "inverse_d", "step_scale": float(step_scale),
            "walkers": int(walkers), "engine": "effective", "start": "uniform", "budget": 100.0, "seed": 0}


def quartic_sweep(step_scale: float = 0.1, *, compute: bool = True, progress: bool = False,
                  **overrides: Any) -> Any:
    """The saved effective-engine quartic sweep.

    ``sgd_effective_quartic`` (a SampleComplexity), computed
    if missing and ``compute`` (each d is checkpointed, so a cut-off run resumes); None if
    missing and not ``compute``.
    """
    from easyhard.sgd.sweep import saved_sweep

    cfg = sweep_config(step_scale, **overrides)
    return saved_sweep("sgd_effective_quartic", cfg, scale="paper", compute=compute, progress=progress)


def large_d_fit(sweep: Any, n_boot: int = 2000) -> tuple[float, float, float, float]:
    """:func:`easyhard.sgd.fit_slope` over the large-d half of a sweep's dims (d >= median d)."""
    from easyhard.sgd import fit_slope

    keep = sweep.dims >= np.median(sweep.dims)
    return fit_slope(sweep.dims[keep], sweep.passage[keep], n_boot)


def validation_table(effective_walkers: int = 1000) -> list[dict[str, Any]]:
    """The validation table of the effective engine.

    One row per validation (case, d): walkers, exact and effective median passage, KS p-values
    with and without the Ito contraction. The quartic rows use the saved exact references
    (missing ones are skipped); the cheap cases run 400 exact walkers live.
    """
    rows = []
    for case in VALIDATION_CASES:
        for d in VALIDATION_DIMS:
            if case in REFERENCE_WALKERS:
                if d not in REFERENCE_WALKERS[case]:
                    continue
                exact = exact_reference(case, d, compute=False)
                if exact is None:
                    continue
            else:
                exact = passages(case, d, 400, "reduced", 1000 + d)
            p, _, eff = ks_validation(case, d, effective_walkers, exact=exact)
            p0, _, eff0 = ks_validation(case, d, effective_walkers, exact=exact, ito=False)
            rows.append({"case": case, "d": d, "exact_walkers": exact.size, "effective_walkers": eff.size,
                         "exact_median": float(np.median(exact)), "effective_median": float(np.median(eff)),
                         "no_ito_median": float(np.median(eff0)), "p": p, "p_no_ito": p0})
    return rows


def build_references(progress: bool = True) -> None:
    """Compute (and save) every missing exact reference, cheapest first."""
    for case, by_d in REFERENCE_WALKERS.items():
        for d in by_d:
            t0 = time.perf_counter()
            exact_reference(case, d)
            if progress:
                print(f"{case} d={d}: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["table"]:
        for row in validation_table():
            print(row, flush=True)
    elif sys.argv[1:] == ["sweeps"]:
        for scale in SWEEP_STEP_SCALES:
            t0 = time.perf_counter()
            sw = quartic_sweep(scale, progress=False)
            print(f"c={scale}: {time.perf_counter() - t0:.0f} s, medians/d^3 {sw.median / sw.dims**3.0},"
                  f" large-d slope {large_d_fit(sw)}", flush=True)
    else:
        build_references()

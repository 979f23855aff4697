"""The library of the chapter "Easy and hard": the quartic escape theory, the experiment
configs and the slope checks (fast; no sweep is run here)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import scipy.integrate

from easyhard.experiments import easy_hard as eh
from easyhard.sgd import SampleComplexity
from easyhard.sgd.experiments import scaling_config
from easyhard.theory.quartic_escape import (
    MEDIAN_START_X_LIMIT,
    QuarticDiffusion,
    median_start_x,
    quartic_rate,
    tau_quartic,
)

K, C = 0.0181313, 2.49847  # tanh, a = 0.6, beta_v = 5 (checked below)


# ----------------------------------------------------------------- theory
def test_constants_of_the_default_physics():
    q = eh.diffusion(0.1)
    assert q.rate == pytest.approx(K, rel=1e-4)
    assert q.noise == pytest.approx(C, rel=1e-4)
    assert q.critical_step == pytest.approx(32 * K / C, rel=1e-4)
    assert quartic_rate(eh.Physics().model("quartic", 16)) > 0


def test_median_start_tends_to_the_chi2_median():
    assert MEDIAN_START_X_LIMIT == pytest.approx(0.4549, abs=1e-4)
    assert abs(median_start_x(100_000) - MEDIAN_START_X_LIMIT) < 1e-4
    assert median_start_x(16) > median_start_x(64) > MEDIAN_START_X_LIMIT
    with pytest.raises(ValueError, match="d must be"):
        median_start_x(1)


def test_closed_form_solves_the_quartic_flow():
    d, eta, x0 = 32, 0.5, 0.47

    def hit(_t, y):
        return y[0] - eta

    hit.terminal = True
    sol = scipy.integrate.solve_ivp(lambda _t, y: [4 * K * y[0] ** 3], (0, 1e6), [math.sqrt(x0 / d)],
                                    events=hit, rtol=1e-10, atol=1e-14)
    assert sol.t_events[0][0] == pytest.approx(tau_quartic(d, eta, x0, K), rel=1e-6)
    assert tau_quartic(d, eta, d * eta**2, K) == 0.0
    assert tau_quartic(d, eta, x0, -K) == math.inf
    with pytest.raises(ValueError, match="eta"):
        tau_quartic(d, 1.5, x0, K)


def test_noise_band_and_drift():
    q = QuarticDiffusion(K, C, 1.0)
    lo, hi = q.noise_band()
    assert q.drift(np.array([lo, hi])) == pytest.approx([0.0, 0.0], abs=1e-9)
    assert q.drift(np.array([(lo + hi) / 2]))[0] < 0
    assert QuarticDiffusion(K, C, 0.9 * q.critical_step).noise_band() is None
    with pytest.raises(ValueError, match="step_scale"):
        QuarticDiffusion(K, C, -1.0)


def test_mean_exit_time_against_the_double_integral():
    q = QuarticDiffusion(K, C, 0.5)
    x0, b = 0.3, 6.0
    cc = 0.5 * C

    def phi(x):
        return 2 * K / cc * x**2 - x / 2

    def inner(y):
        return scipy.integrate.quad(lambda t: math.exp(phi(t * t)), 0, math.sqrt(y))[0] * 2

    def outer(y):
        return y**-0.5 * math.exp(-phi(y)) * inner(y) / (2 * cc)

    direct = scipy.integrate.quad(outer, x0, b, limit=200)[0]
    assert q.mean_exit_time(x0, b)[0] == pytest.approx(direct, rel=1e-6)


def test_small_step_recovers_the_noiseless_time():
    c = 1e-6  # the noise correction is O(c C / (64 K^2 x0^3)): 0.9% at c = 1e-4
    q = QuarticDiffusion(K, C, c)
    x0, b = 0.455, 16.0
    assert q.mean_exit_time(x0, b)[0] == pytest.approx((1 / x0 - 1 / b) / (8 * K), rel=2e-3)


def test_mean_exit_time_against_monte_carlo():
    """Euler-Maruyama paths of the diffusion (reflected at 0) against the quadrature."""
    q = QuarticDiffusion(K, C, 1.0)
    x0, b, ds, n = 0.455, 4.0, 2e-3, 4000
    rng = np.random.default_rng(0)
    x = np.full(n, x0)
    t = np.zeros(n)
    alive = np.ones(n, bool)
    for _ in range(200_000):
        if not alive.any():
            break
        xa = x[alive]
        xa = np.abs(xa + q.drift(xa) * ds + np.sqrt(4 * C * xa * ds) * rng.standard_normal(xa.size))
        x[alive] = xa
        t[alive] += ds
        alive[alive] = xa < b
    assert not alive.any()
    predicted = q.mean_exit_time(x0, b)[0]
    assert abs(t.mean() - predicted) < 4 * t.std() / math.sqrt(n) + 0.03 * predicted


def test_limit_is_flat_in_d_past_the_noise_band():
    q = eh.diffusion(1.0)
    limit, big = q.mean_steps_over_d3([np.inf, 4096], 0.5)
    small = q.mean_steps_over_d3([16], 0.5)[0]
    assert big == pytest.approx(limit, rel=1e-3)
    assert small < limit / 10


def test_mean_exit_time_input_checks():
    q = QuarticDiffusion(K, C, 1.0)
    with pytest.raises(ValueError, match="x0"):
        q.mean_exit_time(-1.0, 2.0)
    with pytest.raises(ValueError, match="exits"):
        q.mean_exit_time(0.5, 0.0)
    assert q.mean_exit_time(3.0, 2.0)[0] == 0.0


# ----------------------------------------------------------------- configs
@pytest.mark.parametrize("scale", ["ci", "laptop", "paper"])
def test_presets_exist_and_validate(scale):
    eh.TrajectoryConfig.preset(scale)
    eh.StepSizeConfig.preset(scale)
    eh.EngineCheckConfig.preset(scale)
    for case in eh.CASES:
        eh.SweepConfig.preset(case, scale)


def test_laptop_presets_reproduce_the_saved_sweep_configs():
    for case in eh.CASES:
        kw = eh.SweepConfig.preset(case, "laptop").kwargs()
        saved = scaling_config(case, "laptop")
        assert {k: kw[k] for k in saved} == {k: (list(v) if isinstance(v, tuple) else v) for k, v in saved.items()}


def test_ci_seeds_differ_from_laptop_seeds():
    """Sweeps seed dimension d by SeedSequence([seed, d]): distinct seeds never share a stream."""
    for case in eh.CASES:
        assert eh.SweepConfig.preset(case, "ci").seed != eh.SweepConfig.preset(case, "laptop").seed
    assert eh.StepSizeConfig.preset("ci").seed != eh.StepSizeConfig.preset("laptop").seed
    assert eh.TrajectoryConfig.preset("ci").seed not in (0, eh.SweepConfig.preset("quartic", "laptop").seed)


@pytest.mark.parametrize("bad", [dict(dims=(16,)), dict(dims=(16, 12)), dict(walkers=0), dict(start="edge"),
                                 dict(budget=-1.0), dict(seed=-1), dict(case="cubic")])
def test_sweep_config_rejects_bad_input(bad):
    kw = dict(case="quartic", dims=(12, 16), walkers=4) | bad
    with pytest.raises(ValueError):
        eh.SweepConfig(**kw)


@pytest.mark.parametrize("bad", [dict(a=1.2), dict(beta=-1.0), dict(activation="sine")])
def test_physics_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        eh.Physics(**bad)


def test_physics_non_default_reaches_the_sweep():
    kw = eh.SweepConfig.preset("quartic", "ci").kwargs(eh.Physics(a=0.4))
    assert kw["a"] == 0.4 and kw["beta_v"] == 5.0 and kw["beta_u"] == 0.0
    assert "a" not in eh.SweepConfig.preset("quartic", "ci").kwargs()


# ----------------------------------------------------------------- slopes
def synthetic(power: float, dims=(16, 24, 32, 48, 64, 96), walkers=64, seed=0, rule="inverse_d") -> SampleComplexity:
    rng = np.random.default_rng(seed)
    dims = np.array(dims)
    passage = np.exp(rng.normal(0, 0.5, (dims.size, walkers))) * dims[:, None].astype(float) ** power
    theory = 1.0 * dims.astype(float) ** 3
    return SampleComplexity(dims, passage, 0.1 / dims**2, theory, theory, {"step_rule": rule, "eta": 0.5})


def test_slope_check_and_its_negative_control():
    sc = synthetic(3.0)
    s = eh.slopes(sc)["raw"]
    assert s.flow == pytest.approx(3.0)
    assert eh.quartic_slope_check(s)
    for power in (1, -1):
        shifted = eh.slopes(eh.power_shifted(sc, power))["raw"]
        assert shifted.slope == pytest.approx(s.slope + power)
        assert not eh.quartic_slope_check(shifted)


def test_log_corrected_slope_divides_the_logs():
    dims = np.array([64, 128, 256, 512, 1024])
    sc = synthetic(0.0, dims=tuple(dims), rule="log")
    lf = eh.log_factor(dims, 0.5)
    sc = SampleComplexity(dims, sc.passage * (dims * lf)[:, None], sc.lr, dims * lf, dims * lf, sc.config)
    s = eh.slopes(sc)
    assert s["log-corrected"].flow == pytest.approx(1.0)
    assert s["log-corrected"].contains_flow
    assert "log-corrected" in eh.slope_table({"x": sc})


def test_collapse_tells_the_right_power():
    sc = synthetic(3.0)
    right, wrong = eh.collapse(sc, 3.0), eh.collapse(sc, 2.5)
    assert right.drift[1] < 0 < right.drift[2] and right.pvalue > 0.01
    assert wrong.drift[1] > 0 and wrong.pvalue < 0.01


def test_mean_needs_finite_passages():
    sc = synthetic(3.0)
    sc.passage[0, 0] = np.inf
    with pytest.raises(ValueError, match="every walker"):
        eh.mean_over_d3(sc)
    mean, se = eh.mean_over_d3(sc, censored="nan")
    assert np.isnan(mean[0]) and np.all(np.isfinite(mean[1:])) and np.all(se[1:] > 0)
    view = eh.collapse(sc, 3.0)  # censored walkers are ranked last, not refused
    assert np.isinf(view.scaled[0, 0]) and 0 < view.pvalue <= 1


def test_log_factor_input_checks():
    with pytest.raises(ValueError, match="eta"):
        eh.log_factor(np.array([64]), 1.5)
    with pytest.raises(ValueError, match="eta sqrt"):
        eh.log_factor(np.array([2]), 0.5)


# ----------------------------------------------------------------- figures
def test_figures_build():
    from easyhard.plotting import easy_hard as ehplot

    sc = synthetic(3.0)
    ehplot.sweeps({"q": sc}, "test")
    ehplot.collapse([eh.collapse(sc, 3.0)], "test")
    ehplot.step_size({"q": (sc, 0.1)}, {0.1: eh.diffusion(0.1), 1.0: eh.diffusion(1.0)}, 0.5, "test", d_max=200)
    curve = eh.Curve(16, np.arange(3), np.ones(3), np.ones(3), np.arange(3.0))
    ehplot.trajectories({"covariance": [curve], "quartic": [curve]}, "test")
    ehplot.cost([64, 128], {"direct": [1, 2], "reduced": [1, 1]}, "test")


def test_saved_long_sweep_is_picked_up(tmp_path, monkeypatch):
    from easyhard import results
    from easyhard.sgd.experiments import LONG_SWEEPS

    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    assert eh.saved_sweeps() == {}
    sc = synthetic(3.0, dims=(16, 24, 32, 48, 64))
    results.save("sgd_sweep_quartic_exact", LONG_SWEEPS["quartic_exact"], sc.arrays(), wall_time=1.0, scale="long")
    saved = eh.saved_sweeps()
    assert list(saved) == [eh.SAVED_LONG]
    label, picked = eh.lower_bound_sweep(saved)
    assert label == eh.SAVED_LONG and picked.dims.tolist() == [16, 24, 32, 48, 64]
    assert eh.saved_sweeps(long_min_dims=6) == {}


def test_covariance_ito_factor():
    from easyhard.theory import hermite_coefficients

    g2 = hermite_coefficients("tanh", 0.6, kmax=2)[2]
    dims = np.array([64, 1024])
    factor = eh.covariance_ito_factor(dims)
    expected = 1 / (1 - C / (4 * abs(g2) * 5.0) / np.log(dims))
    assert factor == pytest.approx(expected, rel=1e-4)
    assert factor[0] > factor[1] > 1


def test_long_sweep_records_the_seconds_and_commits_of_all_its_tasks(tmp_path, monkeypatch):
    """A long sweep resumed in a later session recorded only that session's seconds."""
    from easyhard import results
    from easyhard.sgd import experiments as sgd_experiments

    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path / "results"))
    tiny = {**sgd_experiments.CASES["covariance"], "engine": "reduced", "seed": 1, "start": "uniform",
            "budget": 5.0, "dims": [16, 24], "walkers": 4, "chunk": 2}
    monkeypatch.setitem(sgd_experiments.LONG_SWEEPS, "tiny", tiny)
    sgd_experiments.long_sweep("tiny", compute=True, n_jobs=1, progress=False)
    tasks = results.find("sgd_passage", sgd_experiments.checkpoint_dir("tiny"))
    meta = results.load("sgd_sweep_tiny", tiny).meta
    assert len(tasks) == 4
    assert meta["wall_time_s"] == pytest.approx(sum(t.meta["wall_time_s"] for t in tasks))
    assert meta["task_commits"] == sorted({t.meta["git_commit"][:12] for t in tasks})
    assert meta["device"] == "cpu"

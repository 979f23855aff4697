"""Hostile inputs to the SGD engines, the sweep helpers and the population flow.

Each case was a silent wrong number, a NaN, an obscure error from numba or
numpy, or a multi-gigabyte allocation before these checks; each now gives an
error that names the parameter, before any heavy work.
"""

from __future__ import annotations

import numpy as np
import pytest

from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import fit_slope, run, step_size
from easyhard.theory import flow


@pytest.fixture(scope="module")
def model() -> MixedCumulantModel:
    return MixedCumulantModel(d=16, beta_u=2.0, beta_v=5.0, seed=0)


@pytest.mark.parametrize("engine", ["direct", "reduced"])
@pytest.mark.parametrize("override", [{"lr": 1e200}, {"A": 1e200}, {"c": 1e308}])
def test_an_overflowing_update_is_an_error_not_nan(model, engine, override):
    """Defect 16: lr=1e200 gave NaN trajectories (reduced) or ZeroDivisionError (direct)."""
    kwargs = {"steps": 10, "lr": 0.01, "walkers": 2, "engine": engine, **override}
    with pytest.raises(FloatingPointError, match="overflowed") as info:
        run(model, **kwargs)
    name = next(iter(override))
    assert f"{name}={override[name]:g}" in str(info.value)


def test_walkers_stopped_at_passage_are_not_overflow(model):
    """The overflow check must not fire on the NaN records after a walker stopped."""
    out = run(model, steps=20_000, lr=0.05, walkers=4, engine="reduced", thresholds={"u": 0.5},
              stop_at_passage=True, seed=3)
    stopped = np.isfinite(out.passage["u"])
    assert stopped.any() and np.isnan(out.alpha_u[stopped, 0, -1]).all()


def test_records_count_and_array_are_checked(model):
    """Defects 15, 17, 18: records=10**9 allocated 7.45 GiB; [] gave IndexError; floats were truncated."""
    with pytest.raises(ValueError, match=r"records \(number of log-spaced record steps\) must be "
                                         r"an integer in \[2, 64\], got 1000000000"):
        run(model, steps=20, lr=0.01, records=10**9)
    with pytest.raises(ValueError, match="records must be increasing integer steps from 0 to steps=10"):
        run(model, steps=10, lr=0.01, records=[])
    with pytest.raises(TypeError, match="records must be a count or an array of integer steps"):
        run(model, steps=20, lr=0.01, records=[0.0, 10.5, 20.7])
    # integral floats and long runs keep working: a count up to steps + 1 is allowed
    assert run(model, steps=20, lr=0.01, records=np.array([0.0, 10.0, 20.0])).steps.tolist() == [0, 10, 20]
    long = run(model, steps=200, lr=0.01, records=201, engine="reduced").steps
    assert long[0] == 0 and long[-1] == 200 and np.all(np.diff(long) > 0)
    with pytest.raises(ValueError, match=r"must be an integer in \[2, 201\], got 202"):
        run(model, steps=200, lr=0.01, records=202, engine="reduced")


def test_sizes_are_refused_before_allocation(model):
    """Defect 15: neurons=10**5 failed inside numba ("Allocation failed") after compiling."""
    with pytest.raises(ValueError, match=r"Gram matrix .* neurons=100000"):
        run(model, steps=10, lr=0.01, neurons=10**5)
    with pytest.raises(ValueError, match=r"recorded overlaps .* walkers=2000000000"):
        run(model, steps=10, lr=0.01, walkers=2 * 10**9, engine="reduced")


def test_init_strings_name_the_parameter(model):
    """Defect 17: init="ab" said only "could not convert string to float"."""
    with pytest.raises(ValueError, match="init must be"):
        run(model, steps=10, lr=0.01, init="ab")


@pytest.mark.parametrize(("args", "match"), [
    ((1, "log", 1.0), "d must be an integer >= 2, got 1"),
    ((0, "log", 1.0), "d must be an integer >= 2, got 0"),
    ((64, "log", float("nan")), "step_scale must be a finite number > 0, got nan"),
    ((64, "inverse_d", -1), "step_scale must be a finite number > 0, got -1"),
    ((64, "inverse_d", "1"), "step_scale must be a finite number > 0"),
])
def test_step_size_arguments(args, match):
    """Defect 17: ZeroDivisionError / math domain error / nan / a negative step."""
    with pytest.raises(ValueError, match=match):
        step_size(*args)


def test_step_size_values():
    assert step_size(64, "inverse_d", 2.0) == 2.0 / 64
    assert step_size(64, "log", 2.0) == pytest.approx(2.0 / np.log(64))


def test_fit_slope_arguments():
    """Defect 19: a repeated d returned a slope with a NaN interval; n_boot=0 gave IndexError."""
    passage = np.array([[10.0, 12.0, 11.0], [80.0, 95.0, 90.0]])
    with pytest.raises(ValueError, match=r"dims must be distinct"):
        fit_slope([8, 8], passage)
    with pytest.raises(ValueError, match=r"n_boot must be an integer in \[1, "):
        fit_slope([8, 16], passage, n_boot=0)
    with pytest.raises(ValueError, match="level must lie in"):
        fit_slope([8, 16], passage, level=1.0)
    with pytest.raises(ValueError, match="raise the budget"):
        fit_slope([8, 16], np.array([[10.0, 12.0, 11.0], [np.inf, np.inf, 90.0]]))
    slope, lo, hi, _ = fit_slope([8, 16], passage, n_boot=200)
    assert lo <= slope <= hi and slope == pytest.approx(np.log2(90.0 / 11.0))


def test_flow_arguments(model):
    """Defect 19: integrate_flow from |alpha| > 1 ran (alpha_u = 1.26); tau=[] gave IndexError;
    escape_time(tau_max=-1) returned inf."""
    with pytest.raises(ValueError, match=r"alpha0 must be .* <= 1, got \(0.9, 0.9\)"):
        flow.integrate_flow(model, [0.0, 1.0], (0.9, 0.9))
    for tau in ([], [1.0, 0.5], [0.0, np.nan], [-1.0, 1.0]):
        with pytest.raises(ValueError, match="tau must be a non-empty"):
            flow.integrate_flow(model, tau, (0.1, 0.1))
    for tau_max in (-1.0, 0.0, np.inf):
        with pytest.raises(ValueError, match="tau_max must be a finite number > 0"):
            flow.escape_time(model, "u", 0.5, tau_max=tau_max)
    with pytest.raises(ValueError, match="spike must be one of"):
        flow.escape_time(model, "w", 0.5)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        flow.median_start(1)
    path = flow.integrate_flow(model, [0.0, 0.5, 1.0], (0.1, 0.1))
    assert path.shape == (2, 3) and np.all(np.hypot(*path) <= 1.0)


@pytest.mark.parametrize("call", ["scaling", "long_sweep", "quartic_sweep"])
def test_saved_sweeps_check_writability_before_computing(call, tmp_path, monkeypatch):
    """Defect 9: a sweep ran for its whole budget, then failed to save."""
    from easyhard import results
    from easyhard.sgd import effective_validation, experiments

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("EASYHARD_RESULTS_DIR", str(blocker / "results"))
    monkeypatch.setattr(results, "load", lambda *args, **kwargs: None)

    def no_work(**_):
        raise AssertionError("the sweep ran before the results folder was checked")

    monkeypatch.setattr(experiments, "sample_complexity", no_work)  # the long sweep's call
    monkeypatch.setattr("easyhard.sgd.sweep.sample_complexity", no_work)  # saved_sweep's call
    run_it = {
        "scaling": lambda: experiments.scaling("covariance", "ci", progress=False),
        "long_sweep": lambda: experiments.long_sweep("quartic_exact", compute=True, progress=False),
        "quartic_sweep": lambda: effective_validation.quartic_sweep(0.1, walkers=3),
    }[call]
    with pytest.raises(PermissionError, match="cannot write results to"):
        run_it()

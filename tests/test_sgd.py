"""Tests of easyhard.sgd: determinism, invariants, learning, fits and input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import fit_slope, ode, run, sample_complexity

ENGINES = [("reduced", "numba"), ("direct", "numba"), ("direct", "torch")]


def _model(d: int = 32, **kw) -> MixedCumulantModel:
    kw = {"beta_u": 5.0, "beta_v": 0.0, **kw}
    return MixedCumulantModel(d, seed=3, **kw)


@pytest.mark.parametrize("engine,backend", ENGINES)
def test_same_seed_same_numbers(engine: str, backend: str) -> None:
    m = _model()
    kw = dict(engine=engine, backend=backend, walkers=3, records=8, device="cpu")
    r1 = run(m, 200, 0.01, seed=5, **kw)
    r2 = run(m, 200, 0.01, seed=5, **kw)
    r3 = run(m, 200, 0.01, seed=6, **kw)
    np.testing.assert_array_equal(r1.alpha_u, r2.alpha_u)
    np.testing.assert_array_equal(r1.loss[:, 1:], r2.loss[:, 1:])
    assert not np.array_equal(r1.alpha_u, r3.alpha_u)


@pytest.mark.parametrize("backend", ["numba"])
@pytest.mark.parametrize("neurons", [1, 3])
def test_weights_stay_unit_and_overlaps_match(backend: str, neurons: int) -> None:
    """The numba engine updates the overlaps incrementally: they must stay w . u and w . v.

    (The torch backend computes them as W @ u from the same W, so the check would be a
    tautology there; its update is tested against autograd in test_sgd_torch.py.)
    """
    m = _model(16, beta_v=5.0, p_corr=0.5)
    r = run(m, 500, 0.05, walkers=4, neurons=neurons, backend=backend, records=4, device="cpu")
    np.testing.assert_allclose(np.linalg.norm(r.weights, axis=2), 1.0, atol=1e-12)
    u, v = m.u.double().numpy(), m.v.double().numpy()
    np.testing.assert_allclose(r.weights @ u, r.alpha_u[:, :, -1], atol=1e-10)
    np.testing.assert_allclose(r.weights @ v, r.alpha_v[:, :, -1], atol=1e-10)


def test_stop_at_passage_records_nan_after_the_stop() -> None:
    """Every step recorded: the passage is the first record >= 1 with |alpha_u| >= eta, and
    the records after it are NaN."""
    steps = 300
    r = run(_model(12), steps, 0.05, walkers=8, engine="reduced", thresholds={"u": 0.5},
            stop_at_passage=True, records=np.arange(steps + 1))
    for i in range(8):
        au = np.abs(r.alpha_u[i, 0])
        hits = np.flatnonzero(au[1:] >= 0.5) + 1
        if hits.size == 0:
            assert r.passage["u"][i] == np.inf
            continue
        n = hits[0]
        assert r.passage["u"][i] == n and np.all(np.isnan(au[n + 1:]))


@pytest.mark.parametrize("engine", ["reduced", "direct"])
def test_no_spike_no_learning(engine: str) -> None:
    d = 64
    m = _model(d, beta_u=0.0, beta_v=0.0)
    r = run(m, 20_000, 1.0 / (d * math.log(d)), walkers=32, engine=engine, backend="numba", records=10)
    # uniform on the sphere: |alpha| ~ N(0, 1/d); 5.5 / sqrt(d) is a > 1-in-10^6 excursion
    assert np.max(np.abs(r.alpha_u[:, 0, -1])) < 5.5 / math.sqrt(d)
    assert np.max(np.abs(r.alpha_v[:, 0, -1])) < 5.5 / math.sqrt(d)


@pytest.mark.parametrize("engine", ["reduced", "direct"])
def test_covariance_spike_is_learnt(engine: str) -> None:
    d = 32
    r = run(_model(d), 3000, 1.0 / (d * math.log(d)), walkers=16, engine=engine, backend="numba",
            thresholds={"u": 0.5}, stop_at_passage=True)
    tau = ode.escape_time(_model(d), "u", 0.5)
    assert np.all(np.isfinite(r.passage["u"]))
    # the median is within a factor 2 of the population flow from the median start
    assert 0.5 < np.median(r.passage["u"]) / (tau * d * math.log(d)) < 2.0


def test_flow_matches_escape_formula_for_the_covariance_spike() -> None:
    """Linear regime: the flow's escape time approaches ln(eta sqrt d)/(2|g2| beta_u) up to the
    saturation near eta and the median start; check the ratio at large d."""
    m = _model(4096)
    ratio = ode.escape_time(m, "u", 0.5) / ode.escape_formula(m, "u", 0.5)
    assert 1.0 < ratio < 1.3


def test_fit_slope_recovers_a_known_slope() -> None:
    rng = np.random.default_rng(0)
    dims = np.array([16, 32, 64, 128, 256])
    passage = 7.0 * dims[:, None] ** 3.0 * rng.lognormal(0.0, 0.5, size=(5, 200))
    slope, lo, hi, _ = fit_slope(dims, passage)
    assert abs(slope - 3.0) < 0.1 and lo < 3.0 < hi and hi - lo < 0.3
    with pytest.raises(ValueError, match="median"):
        fit_slope(dims, np.full((5, 3), np.inf))


def test_sample_complexity_returns_theory_next_to_measurement() -> None:
    sc = sample_complexity([16, 32, 64], walkers=16, progress=False)
    assert sc.passage.shape == (3, 16) and np.all(sc.fraction_reached == 1.0)
    assert np.all((sc.median / sc.theory_steps > 0.5) & (sc.median / sc.theory_steps < 2.0))
    assert 1.0 < sc.theory_slope() < 2.0


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"steps": 0}, "steps"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"engine": "magic"}, "engine"),
        ({"backend": "gpu"}, "backend"),
        ({"thresholds": {"u": 1.0}}, "threshold"),
        ({"thresholds": {"u": 0.0}}, "threshold"),
        ({"thresholds": {"w": 0.5}}, "thresholds"),
        ({"activation": "sigmoid"}, "activation"),
        ({"a": 1.0}, "a"),
        ({"walkers": 0}, "walkers"),
        ({"init": (0.9, 0.9)}, "init"),
        ({"engine": "reduced", "neurons": 2}, "neurons"),
        ({"complement": "mean"}, "complement"),
    ],
)
def test_bad_inputs_raise(kwargs: dict, match: str) -> None:
    args = {"steps": 10, "lr": 0.01, **kwargs}
    with pytest.raises(ValueError, match=match):
        run(_model(), **args)


def test_bad_sweep_inputs_raise() -> None:
    with pytest.raises(ValueError, match="eta"):
        sample_complexity([16], eta=1.5)
    with pytest.raises(ValueError, match="step_rule"):
        sample_complexity([16], step_rule="sqrt")
    with pytest.raises(ValueError, match="dims"):
        sample_complexity([4])
    with pytest.raises(ValueError, match="d >= 4"):
        run(MixedCumulantModel(3, seed=0), 10, 0.01, engine="reduced")
    with pytest.raises(ValueError, match="dims"):
        sample_complexity([])
    with pytest.raises(TypeError, match="dims entry"):
        sample_complexity([5.9])
    with pytest.raises(ValueError, match="engine"):
        sample_complexity([16], engine="exact")


def test_sweep_of_an_unlearnable_spike_is_refused_before_any_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reliability defect 5: an absent spike (beta_v = 0) or a flow that never escapes used to
    budget 1e4 d^3 steps per walker (hours); now it is refused unless max_steps is given."""
    from easyhard.sgd import sweep

    calls = []
    monkeypatch.setattr(sweep, "_passage_task", lambda *a: calls.append(a))
    with pytest.raises(ValueError, match="beta_v=0"):
        sample_complexity([64, 128], spike="v", walkers=4, progress=False)
    monkeypatch.setattr(sweep.flow, "escape_time", lambda *a, **k: math.inf)
    with pytest.raises(ValueError, match="never reaches"):
        sample_complexity([64], spike="u", walkers=4, progress=False)
    assert calls == []
    monkeypatch.undo()
    sc = sample_complexity([16], spike="v", beta_u=0.0, walkers=2, max_steps=200, progress=False)
    assert sc.passage.shape == (1, 2) and np.all(np.isinf(sc.passage))

"""The experiments of the chapter "One law for every exponent": config checks, the
mean-field escape, the mean-spike simulation and the claims on the saved sweeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats

from easyhard.experiments import exponent_law as el
from easyhard.neuron import NeuronSpec
from easyhard.sgd import run
from easyhard.theory.flow import critical_step, escape_formula, median_start

SLOPE_CASES = ("k3", "k4", "k6")


@pytest.mark.parametrize("scale", ["ci", "laptop", "paper"])
def test_every_preset_passes_its_checks(scale):
    for name in el.PRESETS:
        case = el.case(name, scale)
        th = el.theory_constants(case)
        assert th["k"] == case.k
        assert case.step_scale < th["critical"]


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(activation="tanh"), "exponent 4"),  # an odd neuron does not see the third cumulant
        (dict(step_scale=0.5), "critical step"),  # ReLU k = 3: c* = 0.25
        (dict(k=4), "claims exponent k = 4"),
    ],
)
def test_bad_k3_combinations_raise_before_any_sgd(overrides, match):
    with pytest.raises(ValueError, match=match):
        el.case("k3", "ci", **overrides)


def test_wrong_sign_and_wrong_blindness_raise():
    with pytest.raises(ValueError, match="learnable=False"):
        el.case("k6", "ci", a=0.6)  # tanh at a = 0.6: g_6 < 0, the three-point spike raises the loss
    with pytest.raises(ValueError, match="blind"):
        el.LawCase(name="x", k=None, spike="cumulant", dims=(16,), walkers=4, step_scale=0.1,
                   reference_steps=(1.0,))  # tanh sees the Rademacher spike
    with pytest.raises(ValueError, match="direct_mean"):
        el.case("k1", "ci", engine="reduced")
    with pytest.raises(ValueError, match="critical step"):
        el.case("k4_a04", "ci", step_scale=0.1)  # c* = 0.08 at a = 0.4


def test_critical_step_and_escape_agree_with_the_quartic_theory():
    case = el.case("k4", "ci")
    model = case.model(64)
    assert el.theory_constants(case)["critical"] == pytest.approx(critical_step(model, NeuronSpec("tanh", 0.6)), rel=1e-9)
    # at a tiny step constant the leading-term escape is the noiseless flow on the sphere,
    # d alpha / d tau = 4 K alpha^3 (1 - alpha^2), n = tau d / delta, integrated in closed form
    tiny = el.case("k4", "ci", step_scale=1e-5)
    d = 256
    K = el.theory_constants(tiny)["K"]
    a0, eta = median_start(d), tiny.eta
    tau = (0.5 / a0**2 - 0.5 / eta**2 + math.log(eta / a0) - 0.5 * math.log((1 - eta**2) / (1 - a0**2))) / (4 * K)
    assert el.mean_field_steps(tiny, d, leading=True) == pytest.approx(tau * d / tiny.delta(d), rel=1e-4)
    # the higher orders of the loss along the spike change the quartic escape by < 1 %
    # (the escape is spent at small alpha, where alpha^6 and beyond are negligible)
    assert el.mean_field_steps(tiny, d) / el.mean_field_steps(tiny, d, leading=True) == pytest.approx(1.0, abs=0.01)
    # but they matter for k = 2, where the time is spent up to the threshold
    k2 = el.case("k2", "ci")
    assert abs(el.mean_field_steps(k2, 256) / el.mean_field_steps(k2, 256, leading=True) - 1) > 0.01
    # the book's cruder formula d / (8 K) is the same law up to the start's factor
    assert escape_formula(model, "v", 0.5) == pytest.approx(64 / (8 * K), rel=1e-9)


def test_mean_field_is_infinite_above_the_critical_step():
    case = el.case("k4", "ci")
    assert math.isinf(el.mean_field_steps(case, 512, step_scale=1.0))
    assert math.isfinite(el.mean_field_steps(case, 512, step_scale=0.2))


def test_direct_simulation_matches_the_exact_reduced_engine():
    """The mean-spike simulation, run on a covariance spike, against the library's exact
    reduced engine: first-passage laws agree (KS), and a wrong step size is detected."""
    from easyhard.data.mcm import MixedCumulantModel

    d, walkers, lr = 32, 200, 1.0 / (32 * math.log(32))
    model = MixedCumulantModel(d, beta_u=5.0, beta_v=0.0, seed=d)
    ours = el.mean_spike_sgd(model, 3000, lr, "tanh", 0.6, walkers, seed=1, eta=0.5, spike="u")
    ref = run(model, 3000, lr, "tanh", 0.6, walkers=walkers, engine="reduced", seed=2,
              thresholds={"u": 0.5}, stop_at_passage=True, records=2).passage["u"]
    assert np.all(np.isfinite(ours)) and np.all(np.isfinite(ref))
    assert scipy.stats.ks_2samp(ours, ref).pvalue > 1e-3
    slow = el.mean_spike_sgd(model, 3000, lr / 2, "tanh", 0.6, walkers, seed=1, eta=0.5, spike="u")
    assert scipy.stats.ks_2samp(slow, ref).pvalue < 1e-3


def test_mean_spike_reaches_the_threshold_at_linear_cost():
    case = el.case("k1", "ci", dims=(64,), walkers=8)
    out = el.measure(case)
    ratio = np.median(out["passage"]) / out["theory_steps"][0]
    assert 0.5 < ratio < 1.5


def test_fraction_within():
    p = np.array([[1.0, 10.0, np.inf], [5.0, 50.0, 500.0]])
    assert el.fraction_within(p, np.array([1, 10]), 1.0, 10.0).tolist() == pytest.approx([2 / 3, 2 / 3])
    assert el.fraction_within(p, np.array([1, 10]), 0.0, 10.0).tolist() == pytest.approx([2 / 3, 1 / 3])


def _saved(name):
    found = el.load_saved(name)
    assert found is not None, f"no saved sweep exponent_law_{name} in data/results"
    return found


@pytest.mark.parametrize("name", SLOPE_CASES)
def test_saved_slopes_follow_k_minus_one(name):
    case, arr, _ = _saved(name)
    row = el.slope_row(case, arr)
    assert el.follows_law(row)
    # power: the same interval fails the law of the next exponent
    assert not el.follows_law({**row, "k": case.k + 1}) and not el.follows_law({**row, "k": case.k - 1})


def test_follows_law_for_k_at_most_2():
    row = {"k": 2, "lo": 1.1, "hi": 1.3, "corrected": 1.02}
    assert el.follows_law(row)
    assert not el.follows_law({**row, "corrected": 1.2})  # the logarithms do not account for the excess
    assert not el.follows_law({**row, "lo": 0.9})


def test_saved_invariance_across_noise_levels():
    for k in (2, 4):
        rows = [el.slope_row(*_saved(f"k{k}_a{a:02d}")[:2]) for a in (4, 6, 8)]
        assert el.slopes_agree(rows), f"k = {k}: intervals do not overlap"
    assert not el.slopes_agree([{"lo": 1.0, "hi": 1.1}, {"lo": 1.2, "hi": 1.3}])


def test_saved_blind_relu_is_much_slower_than_tanh():
    """ReLU has g_4 = 0: it reaches the threshold only by noise excursions (chapter text), rarely
    within the tanh median and with a median many times the tanh median."""
    case, arr, _ = _saved("k4_relu_blind")
    assert case.k is None and case.activation == "relu"
    blind = el.blind_summary(case, arr)
    assert blind.is_blind()
    # power: the same summary for walkers that all pass at the tanh median is not blind
    seeing = el.blind_summary(case, {"passage": np.full_like(arr["passage"], case.reference_steps[0])})
    assert seeing.early == 1.0 and not seeing.is_blind()


def test_lower_bound_fractions_and_spread():
    dims = np.array([16, 32, 64])
    rng = np.random.default_rng(0)
    passage = dims[:, None] ** 3.0 * rng.lognormal(0.0, 0.3, (3, 400))  # exactly cubic
    lb = el.lower_bound({"dims": dims, "passage": passage}, powers=(2.5, 3.0))
    assert lb.within[3.0][0] == pytest.approx(0.5, abs=0.01) and np.all(np.abs(lb.within[3.0] - 0.5) < 0.1)
    assert lb.within[2.5][-1] < 0.1 < 0.4 < lb.within[2.5][0]
    assert lb.spread[3.0] < 0.05 and lb.spread[2.5] == pytest.approx(0.5 * np.log10(4), abs=0.05)


def test_median_over_mean_field_and_normaliser():
    arr = {"passage": np.array([[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]), "theory_steps": np.array([3.0, 2.0])}
    np.testing.assert_allclose(el.median_over_mean_field(arr), [1.0, 2.0])
    k4 = el.case("k4", "ci")
    assert el.normaliser(k4)(np.array([2.0, 10.0])).tolist() == [8.0, 1000.0]
    k2 = el.case("k2", "ci")
    d = np.array([64.0, 256.0])
    np.testing.assert_allclose(el.normaliser(k2)(d), d * el.log_factor(k2, d))


def test_missing_saved_sweeps_give_none_and_a_note(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EASYHARD_RESULTS_DIR", str(tmp_path))
    assert el.saved_all(("k4", "k3")) is None
    note = capsys.readouterr().out
    assert "k4, k3" in note and "python -m easyhard reproduce" in note
    assert str(tmp_path) not in note  # no path of the machine

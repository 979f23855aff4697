"""The exact population loss of the MCM as a function of the overlaps."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import NeuronSpec
from easyhard.theory import excess_loss, hermite_moments, population_loss
from easyhard.theory.crosschecks import leading_power, monte_carlo_check, series_and_exact

MODELS = [
    dict(),
    dict(p_corr=1.0),
    dict(latent="skewed", p_corr=0.4),
    dict(latent="three_point", p_corr=0.7),
    dict(latent="gaussian", p_corr=0.3),
    dict(beta_m=1.5, latent="skewed"),
]


@pytest.mark.parametrize("kw", MODELS)
@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_hermite_expansion_matches_exact_loss_at_small_overlaps(kw, act):
    """Cross-check (i): sum_k g_k E[He_k(w.x0)] = L - L_Gauss, truncation O(alpha^11)."""
    model = MixedCumulantModel(8, seed=0, **kw)
    for alphas in [(0.05, 0.0, 0.0), (0.0, 0.1, 0.0), (0.04, 0.08, 0.03 if model.beta_m else 0.0)]:
        exact, series = series_and_exact(model, NeuronSpec(act, 0.6), *alphas, kmax=10)
        assert exact == pytest.approx(series, rel=1e-6, abs=1e-13)


def test_truncated_series_differs_from_exact_loss_at_large_overlaps():
    """The series check has power: truncated at k = 2 it misses the alpha_v^4 term of the exact loss."""
    model = MixedCumulantModel(8, seed=0)
    exact, series = series_and_exact(model, NeuronSpec("tanh", 0.6), 0.0, 0.3, kmax=2)
    assert abs(series) < 1e-12 < abs(exact)  # along v alone the k <= 2 terms vanish


def test_hermite_moments_match_the_cumulants():
    """E He_2 = beta_u alpha_u^2 + 2 rho alpha_u alpha_v, E He_3 = kt_3 alpha_v^3, E He_4 = kt_4 alpha_v^4."""
    model = MixedCumulantModel(8, seed=0, latent="skewed", p_corr=0.6)
    au, av = 0.3, 0.5
    m = hermite_moments(model, 4, au, av)
    assert m[0] == pytest.approx(1.0) and m[1] == pytest.approx(0.0, abs=1e-13)
    assert m[2] == pytest.approx(model.beta_u * au**2 + 2 * model.rho * au * av, rel=1e-10)
    only_v = hermite_moments(model, 4, 0.0, av)
    assert only_v[3] == pytest.approx(model.kt(3) * av**3, rel=1e-10)
    assert only_v[4] == pytest.approx(model.kt(4) * av**4, rel=1e-10)


@pytest.mark.parametrize("a", [0.4, 0.7])
def test_leading_power_of_the_landscape(a):
    """Cross-check (iii): log-log slope of L(alpha) - L(0) at small alpha is 2 (u) and 4 (v)."""
    model = MixedCumulantModel(8, seed=0)
    alpha = np.geomspace(1e-3, 3e-2, 8)
    assert leading_power(model, NeuronSpec("tanh", a), "covariance", alpha) == pytest.approx(2, abs=0.02)
    assert leading_power(model, NeuronSpec("tanh", a), "cumulant", alpha) == pytest.approx(4, abs=0.02)


def test_leading_power_rejects_bad_input():
    model = MixedCumulantModel(8, seed=0)
    with pytest.raises(ValueError, match="spike"):
        leading_power(model, NeuronSpec("tanh", 0.6), "mean", [0.01, 0.02])
    with pytest.raises(ValueError, match="alphas"):
        leading_power(model, NeuronSpec("tanh", 0.6), "cumulant", [0.01])


@pytest.mark.parametrize("kw", [dict(), dict(p_corr=1.0, beta_m=1.0)])
def test_exact_loss_matches_monte_carlo(kw):
    """Cross-check (ii): the exact L_t(w) against 10^6 samples, full loss and paired difference."""
    model = MixedCumulantModel(5, seed=1, dtype=torch.float64, **kw)
    w = 0.6 * model.u - 0.5 * model.v + (0.3 * model.m if model.beta_m else 0.0)
    mc = monte_carlo_check(model, w, NeuronSpec("tanh", 0.6), 10**6, seed=2)
    assert mc.agrees(4.0)
    assert mc.has_power(10.0)  # the check has power: a 5% error in the exact difference fails it
    assert not dataclasses.replace(mc, exact_diff=1.05 * mc.exact_diff).agrees(4.0)


def test_population_loss_rejects_bad_input():
    model = MixedCumulantModel(6, seed=0)
    with pytest.raises(ValueError, match="unit"):
        population_loss(model, 2 * model.u, NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="shape"):
        population_loss(model, torch.ones(3) / math.sqrt(3), NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="overlaps"):
        excess_loss(model, NeuronSpec("tanh", 0.6), 0.8, 0.8)
    with pytest.raises(ValueError, match="a "):
        excess_loss(model, NeuronSpec("tanh", 1.0), 0.1, 0.1)
    with pytest.raises(ValueError, match="kmax"):
        hermite_moments(model, 0, 0.1, 0.1)


def test_landscape_is_flat_for_gaussian_data():
    model = MixedCumulantModel(6, beta_u=0.0, beta_v=3.0, latent="gaussian", seed=0)
    grid = np.linspace(-0.7, 0.7, 5)
    np.testing.assert_allclose(excess_loss(model, NeuronSpec("tanh", 0.6), grid[:, None], grid[None, :]), 0.0, atol=1e-13)

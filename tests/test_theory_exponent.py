"""The diffusion information exponent of each spike."""

import math

import pytest

from easyhard.data.mcm import MixedCumulantModel
from easyhard.theory import hermite_coefficients, information_exponent


def exponents(act="tanh", a=0.6, **kw):
    return information_exponent(MixedCumulantModel(8, seed=0, **kw), act, a)


@pytest.mark.parametrize("a", [0.2, 0.4, 0.6, 0.8])
def test_rademacher_covariance_2_cumulant_4_at_every_noise_level(a):
    out = exponents(a=a)
    assert set(out) == {"covariance", "cumulant"}
    cov, cum = out["covariance"], out["cumulant"]
    assert (cov.exponent, cum.exponent) == (2, 4)
    assert cov.learnable and cum.learnable and cov.sign == cum.sign == -1
    model = MixedCumulantModel(8, seed=0)
    assert cov.data_factor == pytest.approx(model.beta_u)
    assert cum.data_factor == pytest.approx(model.kt(4))
    assert cum.g == pytest.approx(hermite_coefficients("tanh", a)[4])


def test_low_noise_flips_the_signs_but_not_the_exponents():
    out = exponents(a=0.95)
    assert (out["covariance"].exponent, out["cumulant"].exponent) == (2, 4)
    assert not out["covariance"].learnable and not out["cumulant"].learnable
    assert "raises the loss" in out["cumulant"].note


def test_mean_spike_exponent_1_for_relu_2_for_odd_activations():
    relu = exponents("relu", beta_m=1.0)["mean"]
    assert relu.exponent == 1 and relu.learnable and relu.data_factor == pytest.approx(1.0)
    tanh = exponents("tanh", beta_m=1.0)["mean"]
    assert tanh.exponent == 2 and "[1]" in tanh.note


def test_skewed_spike_3_for_relu_4_for_tanh():
    model = MixedCumulantModel(8, seed=0, latent="skewed")
    relu = information_exponent(model, "relu", 0.6)["cumulant"]
    assert relu.exponent == 3 and relu.learnable
    assert relu.data_factor == pytest.approx(model.kt(3))
    tanh = information_exponent(model, "tanh", 0.6)["cumulant"]
    assert tanh.exponent == 4 and "[3]" in tanh.note
    assert tanh.data_factor == pytest.approx(model.kt(4))
    assert tanh.learnable == (tanh.g * model.kt(4) < 0)


def test_kappa6_spike_has_exponent_6():
    model = MixedCumulantModel(8, seed=0, latent="three_point")
    out = information_exponent(model, "tanh", 0.6)["cumulant"]
    assert out.exponent == 6
    assert out.data_factor == pytest.approx(model.kt(6)) and model.kt(6) < 0
    assert information_exponent(model, "tanh", 0.6, kmax=5)["cumulant"].exponent is None


def test_invisible_spikes():
    relu = exponents("relu")["cumulant"]
    assert relu.exponent is None and not relu.learnable and "invisible to this activation" in relu.note
    gauss = exponents("tanh", latent="gaussian")["cumulant"]
    assert gauss.exponent is None and "any denoiser" in gauss.note


@pytest.mark.parametrize("act", ["tanh", "erf", "relu"])
def test_correlated_latents_give_v_a_linear_term(act):
    model = MixedCumulantModel(8, seed=0, p_corr=1.0)
    out = information_exponent(model, act, 0.6)
    mixed = out["cumulant_given_covariance"]
    assert mixed.exponent == 1 and mixed.learnable
    assert mixed.data_factor == pytest.approx(2 * model.rho, rel=1e-10)
    assert model.rho == pytest.approx(math.sqrt(5 * 5 / 6) * math.sqrt(2 / math.pi))
    assert "cumulant_given_covariance" not in exponents()


def test_rejects_bad_input():
    model = MixedCumulantModel(8, seed=0)
    with pytest.raises(ValueError, match="a "):
        information_exponent(model, "tanh", 1.2)
    with pytest.raises(ValueError, match="activation"):
        information_exponent(model, "softplus", 0.5)
    with pytest.raises(ValueError, match="kmax"):
        information_exponent(model, "tanh", 0.5, kmax=0)

"""Exact population loss of p tied neurons on the MCM and its surrogate, and the Wiener floor."""

import math

import numpy as np
import pytest
import torch

from easyhard.data.mcm import MixedCumulantModel
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.experiments.mcm_bias import monte_carlo_check
from easyhard.neuron import NeuronSpec
from easyhard.theory.landscape import population_loss
from easyhard.theory.surrogate_loss import (
    loss_curves,
    monte_carlo_loss,
    overlaps,
    split_pair,
    split_theory,
    tied_loss,
    wiener_floor,
)


def random_weights(model, p, seed, tilt=1.5):
    """p unit rows with sizeable overlaps on u and v (so every term of the loss matters)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(p, model.d, generator=g, dtype=torch.float64)
    u, v = model.u.double(), model.v.double()
    W += tilt * torch.randn(p, 1, generator=g, dtype=torch.float64) * u
    W += tilt * torch.randn(p, 1, generator=g, dtype=torch.float64) * v
    return W / W.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("activation", ["tanh", "erf", "relu"])
@pytest.mark.parametrize("p_corr", [0.0, 0.5])
def test_one_neuron_reduces_to_population_loss(activation, p_corr):
    model = MixedCumulantModel(8, 5.0, 5.0, p_corr=p_corr, seed=3)
    for seed in range(3):
        w = random_weights(model, 1, seed)
        au, av, q = overlaps(model, w)
        got = float(tied_loss(model, au, av, q, NeuronSpec(activation, 0.6)))
        assert got == pytest.approx(population_loss(model, w[0], NeuronSpec(activation, 0.6)), abs=1e-10)


@pytest.mark.parametrize("p_corr", [0.0, 1.0])
def test_wiener_floor_is_the_surrogate_mmse(p_corr):
    model = MixedCumulantModel(10, 4.0, 5.0, p_corr=p_corr, seed=2)
    sur = GaussianSurrogate(model.mean().double(), model.covariance())
    for a in (0.3, 0.6, 0.9):
        assert wiener_floor(model, a) == pytest.approx(sur.mmse(a), rel=1e-7)  # float32 spikes


@pytest.mark.parametrize(("p", "p_corr", "data"), [(2, 0.0, "mcm"), (3, 0.0, "surrogate"),
                                                   (2, 1.0, "mcm"), (3, 0.5, "mcm"), (2, 1.0, "surrogate")])
def test_exact_loss_matches_monte_carlo(p, p_corr, data):
    model = MixedCumulantModel(8, 5.0, 5.0, p_corr=p_corr, seed=1)
    W = random_weights(model, p, seed=10 + p)
    check = monte_carlo_check(model, W, "tanh", 0.6, A=0.8, data=data, n=200_000, seed=p)  # the chapter's check
    assert abs(check.z) < 4, check


def test_monte_carlo_check_has_power():
    """The sampled loss separates the model from its surrogate where the exact gain is large."""
    model = MixedCumulantModel(8, 5.0, 5.0, p_corr=1.0, seed=1)
    w = model.u.double() + model.v.double()
    W = torch.stack([w, w + 0.06 * torch.roll(w, 1)])
    W = W / W.norm(dim=1, keepdim=True)
    au, av, q = overlaps(model, W)
    curves = loss_curves(model, au, av, q, NeuronSpec("tanh", 0.6))
    mean, se = monte_carlo_loss(model, W, NeuronSpec("tanh", 0.6), data="mcm", n=200_000, seed=5)
    assert abs(float(curves.gain)) > 10 * se
    assert abs(float(curves.surrogate) - mean) > 6 * se


@pytest.mark.parametrize("p_corr", [0.0, 1.0])
def test_gaussian_latent_model_equals_its_surrogate(p_corr):
    """nu Gaussian, independent of or equal to lam: the model is Gaussian, so no gain."""
    model = MixedCumulantModel(8, 5.0, 5.0, latent="gaussian", p_corr=p_corr, seed=4)
    W = random_weights(model, 3, seed=7)
    au, av, q = overlaps(model, W)
    curves = loss_curves(model, au, av, q, NeuronSpec("tanh", 0.6))
    assert float(curves.gain) == pytest.approx(0.0, abs=1e-9)


def test_no_gain_without_v_and_gain_with_v():
    model = MixedCumulantModel(8, 5.0, 5.0, seed=4)
    au, av, q = split_pair(0.5, 0.0)
    assert float(loss_curves(model, au, av, q, NeuronSpec("tanh", 0.6)).gain) == pytest.approx(0.0, abs=1e-12)
    au, av, q = split_pair(0.5, 1.0)
    assert float(loss_curves(model, au, av, q, NeuronSpec("tanh", 0.6)).gain) < -1e-3


def test_surrogate_loss_never_below_the_floor():
    model = MixedCumulantModel(8, 5.0, 5.0, p_corr=0.5, seed=4)
    for seed in range(5):
        W = random_weights(model, 3, seed)
        au, av, q = overlaps(model, W)
        for A in (0.5, 1.0, 1.6):
            assert float(tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6, A=A), data="surrogate")) > wiener_floor(model, 0.6)


def test_pair_quadrature_converged():
    model = MixedCumulantModel(8, 5.0, 5.0, p_corr=0.3, seed=4)
    W = random_weights(model, 2, seed=1)
    au, av, q = overlaps(model, W)
    lo = float(tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6)))
    hi = float(tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6), pair_nodes=64))
    assert lo == pytest.approx(hi, abs=1e-9)


def test_vectorised_over_leading_axes():
    model = MixedCumulantModel(8, 5.0, 5.0, seed=4)
    Ws = torch.stack([random_weights(model, 2, s) for s in range(4)]).reshape(2, 2, 2, 8)
    au, av, q = overlaps(model, Ws)
    batch = tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6))
    assert batch.shape == (2, 2)
    single = tied_loss(model, au[1, 0], av[1, 0], q[1, 0], NeuronSpec("tanh", 0.6))
    assert float(batch[1, 0]) == pytest.approx(float(single), abs=1e-12)


def test_split_theory_two_stages():
    """Two tied neurons: a plateau split without v, a slightly lower split along v, both
    above the Wiener floor (the fixed amplitude cannot reach the affine optimum along u)."""
    model = MixedCumulantModel(12, 5.0, 5.0, seed=1)
    th = split_theory(model, NeuronSpec("tanh", 0.6))
    assert 0.2 < th.theta_plateau < 0.8
    assert th.loss_v < th.loss_plateau - 1e-3
    assert th.quartic > 0
    assert th.loss_v > th.floor + 0.1


def test_bad_input():
    model = MixedCumulantModel(8, 5.0, 5.0, seed=4)
    au, av, q = split_pair(0.5, 0.3)
    with pytest.raises(ValueError, match="data"):
        tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6), data="cifar")
    with pytest.raises(ValueError, match="gram"):
        tied_loss(model, au, av, q[..., :1], NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="unit diagonal"):
        tied_loss(model, au, av, 2 * q, NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="<= 1"):
        tied_loss(model, au * 2, av, q, NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="same shape"):
        tied_loss(model, au, av[:1], q, NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="a \\(signal"):
        tied_loss(model, au, av, q, NeuronSpec("tanh", 1.2))
    with pytest.raises(ValueError, match="activation"):
        tied_loss(model, au, av, q, NeuronSpec("swish", 0.6))
    with pytest.raises(ValueError, match="pair_nodes"):
        tied_loss(model, au, av, q, NeuronSpec("tanh", 0.6), pair_nodes=2)
    with pytest.raises(ValueError, match="beta_m"):
        tied_loss(MixedCumulantModel(8, 5.0, 5.0, beta_m=1.0, seed=1), au, av, q, NeuronSpec("tanh", 0.6))
    with pytest.raises(ValueError, match="W must have shape"):
        overlaps(model, np.ones((2, 5)))
    with pytest.raises(ValueError, match="n must be"):
        monte_carlo_loss(model, np.ones((1, 8)), NeuronSpec("tanh", 0.6), n=1)
    with pytest.raises(ValueError, match="y \\(overlap"):
        split_pair(0.3, 1.5)
    assert math.isfinite(wiener_floor(model, 0.5))

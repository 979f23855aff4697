"""Hostile inputs to the surrogate, the statistics and the theory: clear errors, before heavy work."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from easyhard.data.mcm import MixedCumulantModel
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.neuron import NeuronSpec
from easyhard.stats import excess_kurtosis, kstat_stderr, kstats, project
from easyhard.theory import hermite_coefficients, information_exponent


@pytest.fixture
def sur() -> GaussianSurrogate:
    return GaussianSurrogate(torch.zeros(2), torch.tensor([[2.0, 0.5], [0.5, 1.0]]))


def test_denoise_refuses_a_wrong_last_axis(sur):
    """Defect 10: (2, 5) input with d = 2 came back reshaped as 5 samples; (4,) as 2 samples."""
    for shape in [(2, 5), (4,), (5, 2, 3), ()]:
        with pytest.raises(ValueError, match=r"x_t must have shape \(\.\.\., 2\)"):
            sur.denoise(torch.randn(shape), 0.5)
    one = sur.denoise(torch.ones(2), 0.5)
    assert one.shape == (2,)
    batch = sur.denoise(np.ones((3, 2)), 0.5)  # numpy input is accepted
    assert isinstance(batch, torch.Tensor) and torch.allclose(batch[0].float(), one)
    with pytest.raises(TypeError, match="signal coefficient"):
        sur.denoise(torch.ones(2), "0.5")


@pytest.mark.parametrize(
    ("mean", "cov", "error", "match"),
    [
        (torch.tensor(0.0), torch.eye(1), ValueError, r"mean must be \(d,\) with d >= 1"),
        (torch.zeros(0), torch.zeros(0, 0), ValueError, r"mean must be \(d,\) with d >= 1"),
        (torch.zeros(2), torch.tensor([[2.0, 1.0], [0.0, 2.0]]), ValueError, "cov must be symmetric"),
        (torch.zeros(2), torch.eye(2, dtype=torch.complex64), TypeError, "cov must be real"),
        (torch.zeros(2), -torch.eye(2), ValueError, "positive semi-definite"),
    ],
)
def test_surrogate_constructor_refuses_nonsense(mean, cov, error, match):
    """Defects 17, 19: IndexError / torch min() errors; silent symmetrising; dropped imaginary part."""
    with pytest.raises(error, match=match):
        GaussianSurrogate(mean, cov)


def test_fit_arguments():
    with pytest.raises(ValueError, match="ridge must be a finite number >= 0"):
        GaussianSurrogate.fit(torch.randn(5, 3), ridge="1")
    with pytest.raises(ValueError, match=r"d >= 1"):
        GaussianSurrogate.fit(torch.zeros(5, 0))
    with pytest.raises(ValueError, match="finite"):
        GaussianSurrogate.fit(torch.tensor([[1.0, float("nan")]] * 3))
    images = torch.randn(6, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    flat = GaussianSurrogate.fit(images.reshape(6, -1))
    assert torch.equal(GaussianSurrogate.fit(images).cov, flat.cov)  # images are flattened


@pytest.mark.parametrize(
    ("mean", "eigvals", "eigvecs", "match"),
    [
        ([0.0, 0.0], [-5.0, 1.0], np.eye(2), "eigvals must be >= 0"),
        ([0.0, 0.0], [math.nan, 1.0], np.eye(2), "eigvals must be finite"),
        ([0.0, 0.0], [math.inf, 1.0], np.eye(2), "eigvals must be finite"),
        ([math.nan, 0.0], [1.0, 1.0], np.eye(2), "mean must be finite"),
        ([0.0, 0.0], [1.0, 1.0], [[1.0, 1.0], [0.0, 1.0]], "orthonormal"),
    ],
)
def test_from_eigh_refuses_what_gave_nan_samples(mean, eigvals, eigvecs, match):
    """Defects 16, 19: negative eigenvalues clamped, NaN/inf accepted, non-orthonormal V accepted."""
    with pytest.raises(ValueError, match=match):
        GaussianSurrogate.from_eigh(torch.tensor(mean), torch.tensor(eigvals), torch.tensor(eigvecs))


def test_from_eigh_accepts_a_real_decomposition(sur):
    again = GaussianSurrogate.from_eigh(sur.mean, sur.eigvals, sur.eigvecs)
    assert torch.allclose(again.cov, sur.cov, atol=1e-12)


def test_sample_arguments(sur):
    """Defect 18: np.int64 refused here but accepted by MCM; a numpy rng gave AttributeError."""
    assert sur.sample(np.int64(5)).shape == (5, 2)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        sur.sample(3, generator=np.random.default_rng(0))
    tic = time.perf_counter()
    with pytest.raises(ValueError, match=r"n \(number of samples\) must be an integer in \[1, "):
        sur.sample(10**12)  # refused before allocating 8 TB
    assert time.perf_counter() - tic < 1
    for bad in (0, True, 2.0, "5"):
        with pytest.raises(ValueError, match=r"n \(number of samples\)"):
            sur.sample(bad)
    with pytest.raises(TypeError, match="signal coefficient"):
        sur.mmse("0.5")


def test_statistics_refuse_non_finite_and_degenerate_data():
    """Defects 16, 17: NaN k-statistics, ZeroDivisionError, NaN projections."""
    with pytest.raises(ValueError, match="x must be finite"):
        kstats([1.0, 2.0, math.nan, 3.0, 4.0])
    with pytest.raises(ValueError, match="zero variance"):
        excess_kurtosis(np.ones(100))
    with pytest.raises(ValueError, match="direction must be a finite non-zero vector"):
        project(np.ones((3, 2)), np.zeros(2))
    x = np.random.default_rng(0).normal(size=400)
    assert kstat_stderr(x, np.int64(2), batches=np.int64(10)) > 0
    with pytest.raises(ValueError, match="order must be one of"):
        kstat_stderr(x, True)


@pytest.mark.parametrize("kmax", [151, 170, 200, 20_000, 10**6])
def test_kmax_is_refused_before_any_work(kmax):
    """Defect 15: OverflowError from 170, 59 s before it at 20,000, no result at 10^6."""
    tic = time.perf_counter()
    with pytest.raises(ValueError, match=r"kmax \(highest Hermite order\) must be an integer in \[1, 150\]"):
        hermite_coefficients("tanh", 0.6, kmax=kmax)
    with pytest.raises(ValueError, match="kmax"):
        information_exponent(MixedCumulantModel(8, beta_u=1.0, seed=0), "tanh", 0.6, kmax=kmax)
    assert time.perf_counter() - tic < 1


def test_highest_kmax_still_works():
    g = hermite_coefficients("linear", 0.6, kmax=150)
    assert np.all(np.isfinite(g)) and np.abs(g[3:]).max() < 1e-12


def test_theory_refuses_strings_and_non_finite_coefficients():
    """Defects 16, 18: a="0.5" accepted; c = 1e308 or a NaN activation gave inf/NaN coefficients."""
    with pytest.raises(TypeError, match="signal coefficient"):
        hermite_coefficients("tanh", "0.5")
    with pytest.raises(TypeError, match="c .*skip"):
        hermite_coefficients("tanh", 0.6, c="0.6")
    for kwargs in ({"c": 1e308}, {"A": 1e200}):
        with pytest.raises(ValueError, match="not finite"):
            hermite_coefficients("tanh", 0.6, **kwargs)
    with pytest.raises(ValueError, match="not finite"):
        hermite_coefficients(lambda h: h * math.nan, 0.6)


def test_information_exponent_odd_inputs():
    """Defect 17: kmax = 1 with coupled latents hit a numpy zero-size reduction; a dict hit AttributeError."""
    model = MixedCumulantModel(8, beta_u=1.0, beta_v=1.0, p_corr=0.5, seed=0)
    out = information_exponent(model, "tanh", 0.6, kmax=1)
    assert out["cumulant_given_covariance"].exponent is None
    assert "kmax = 1" in out["cumulant_given_covariance"].note
    with pytest.raises(TypeError, match="model must be a MixedCumulantModel"):
        information_exponent({"beta_u": 1.0}, "tanh", 0.6)


def test_parting_and_landscape_arguments_use_one_idea_of_a_number():
    """Defect 18: hand-rolled checks accepted strings and bools (z="4", fraction=True, kmax=True)."""
    from easyhard.theory.landscape import hermite_moments
    from easyhard.train.parting import gap, halfway_step, parting

    run = {"steps": np.array([0, 1]), "eval_t": np.array([100]), "real": np.ones((2, 2)),
           "surrogate": np.ones((2, 2)), "se_diff": np.ones((2, 2)), "floor": np.zeros(2)}
    with pytest.raises(TypeError, match="z must be a finite number > 0"):
        parting(run, run, z="4")
    with pytest.raises(TypeError, match=r"fraction must lie in \(0, 1\]"):
        halfway_step(run, 0, fraction=True)
    with pytest.raises(ValueError, match="weights must be one of"):
        gap(run, weights="EMA")
    model = MixedCumulantModel(8, seed=0)
    for kmax in (True, 0, 151, 2.0):
        with pytest.raises(ValueError, match=r"kmax \(highest Hermite order\) must be an integer in \[1, 150\]"):
            hermite_moments(model, kmax, 0.1, 0.1)
    assert hermite_moments(model, np.int64(2), 0.1, 0.1).shape[-1] == 3


def test_excess_loss_refuses_strings_and_works_in_chunks(monkeypatch):
    """Defects 15, 18: 10**7 overlaps hit a 4.8 GiB MemoryError; "0.5" and True were overlaps."""
    import easyhard.theory.landscape as landscape

    model = MixedCumulantModel(8, beta_u=1.0, beta_v=2.0, p_corr=0.5, seed=0)
    for bad in ("0.5", True, np.array([True, False])):
        with pytest.raises(TypeError, match="alpha_u must hold real numbers"):
            landscape.excess_loss(model, NeuronSpec("tanh", 0.6), bad, 0.0)
    au, av = np.meshgrid(np.linspace(-0.6, 0.6, 7), np.linspace(-0.5, 0.5, 5))
    whole = landscape.excess_loss(model, NeuronSpec("tanh", 0.6), au, av)
    monkeypatch.setattr(landscape, "CHUNK", 4)  # 35 points in chunks of 4: same numbers
    chunked = landscape.excess_loss(model, NeuronSpec("tanh", 0.6), au, av)
    assert chunked.shape == (5, 7) and np.array_equal(chunked, whole)
    one = landscape.excess_loss(model, NeuronSpec("tanh", 0.6), au[2, 3], av[2, 3])
    assert np.ndim(one) == 0 and one == pytest.approx(whole[2, 3], abs=1e-15)

"""Hostile inputs to the mixed cumulant model and its latent laws: one idea of a number, size guards."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from easyhard.data.latents import coupled_moment, latent_law
from easyhard.data.mcm import MAX_DIMENSION, MixedCumulantModel


@pytest.mark.parametrize("name", ["beta_u", "beta_v", "beta_m", "p_corr", "skew_p"])
@pytest.mark.parametrize("bad", ["0.5", True, None, np.bool_(True), 1j])
def test_strings_bools_and_none_are_not_numbers(name, bad):
    """Defects 17, 18: beta_u="5", p_corr=True were accepted; p_corr=None gave a raw float() error."""
    with pytest.raises(TypeError, match=f"{name} must .*got {bad!r}"):
        MixedCumulantModel(8, seed=0, **{name: bad})


def test_skew_p_is_checked_whatever_the_latent():
    """Defect 17: skew_p="garbage" with a Rademacher latent gave "could not convert string"."""
    with pytest.raises(TypeError, match="skew_p"):
        MixedCumulantModel(8, latent="rademacher", skew_p="garbage", seed=0)


def test_numpy_numbers_are_accepted():
    m = MixedCumulantModel(np.int64(8), beta_u=np.float32(2.0), p_corr=np.float64(0.5), seed=np.uint8(3))
    assert (m.d, m.beta_u, m.p_corr, m.seed) == (8, 2.0, 0.5, 3)
    assert isinstance(m.d, int) and m.sample(np.int64(4)).shape == (4, 8)
    assert m.latent_cumulant(np.int64(4)) == pytest.approx(-2.0)  # was refused (defect 18)
    assert coupled_moment(m.law, np.int64(1)) == pytest.approx(np.sqrt(2 / np.pi))


@pytest.mark.parametrize("k", [True, False, 4.0, "4", 0, 9])
def test_cumulant_orders_are_integers_in_range(k):
    """Defect 18: latent_cumulant(True) and kt(True) returned kappa_1 = 0."""
    m = MixedCumulantModel(8, seed=0)
    for f in (m.latent_cumulant, m.kt):
        with pytest.raises(ValueError, match=r"k \(cumulant order\) must be an integer in \[1, 8\]"):
            f(k)


def test_size_guards_refuse_before_allocating():
    """Defect 15: MCM(10**10), sample(10**12), sample(10**9) and covariance() of d = 10**5
    failed at the allocator (or after 9 s of work) with messages that named no parameter."""
    tic = time.perf_counter()
    with pytest.raises(ValueError, match=rf"d \(dimension\) must be an integer in \[2, {MAX_DIMENSION}\]"):
        MixedCumulantModel(10**10)
    m = MixedCumulantModel(10, seed=0)
    for n in (10**9, 10**12):
        with pytest.raises(ValueError, match=r"n \(number of samples\) must be an integer in \[1, 214748364\]"):
            m.sample(n)
    with pytest.raises(ValueError, match="batch_size"):
        next(m.iter_samples(10**9, batch_size=10**9))
    with pytest.raises(ValueError, match=r"covariance\(\) of d = 100000 .*dense"):
        MixedCumulantModel(10**5, seed=0).covariance()
    assert time.perf_counter() - tic < 5
    assert MixedCumulantModel(100, seed=0).covariance().shape == (100, 100)


@pytest.mark.parametrize("kwargs", [dict(beta_u=1e308), dict(beta_m=1e200)])
def test_strengths_that_overflow_the_dtype_are_refused(kwargs):
    """Defect 16: MCM(beta_u=1e308).sample and MCM(beta_m=1e200).sample gave inf entries."""
    with pytest.raises(ValueError, match=r"beyond the largest torch.float32 .*dtype=torch.float64"):
        MixedCumulantModel(10, seed=0, **kwargs)
    if "beta_m" in kwargs:  # representable in float64: accepted and finite there
        x = MixedCumulantModel(10, seed=0, dtype=torch.float64, **kwargs).sample(3)
        assert torch.isfinite(x).all()
    big = MixedCumulantModel(10, beta_u=1e30, seed=0).sample(4)  # large but representable
    assert torch.isfinite(big).all()


def test_extreme_skew_is_refused_not_nan():
    """Defect 16: skew_p = 1e-300 gave kappa_4 = nan (an overflow warning only)."""
    with pytest.raises(ValueError, match="skew_p = 1e-300 is too close to 0 or 1"):
        MixedCumulantModel(10, latent="skewed", skew_p=1e-300, seed=0)
    law = latent_law("skewed", 1e-3)
    assert np.isfinite(law.cumulant(8))


def test_generator_must_be_a_torch_generator():
    """Defect 17: a numpy Generator gave a long torch "invalid combination of arguments" error."""
    m = MixedCumulantModel(10, seed=0)
    for f in (m.sample, m.sample_latents):
        with pytest.raises(TypeError, match="generator must be a torch.Generator or None, got Generator"):
            f(4, generator=np.random.default_rng(0))
    same = m.sample(4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(same, m.sample(4, generator=torch.Generator().manual_seed(1)))

"""The mixed cumulant model against its analytic statistics.

Tolerances are 5 standard errors derived from n (or from batch means).
"""

import math

import numpy as np
import pytest
import torch

from easyhard.data.latents import latent_law
from easyhard.data.mcm import MixedCumulantModel
from easyhard.experiments.mcm_model import cross_covariance
from easyhard.stats import kstat_stderr, kstats, project

N = 400_000


@pytest.fixture(scope="module")
def rademacher():
    model = MixedCumulantModel(64, beta_u=5.0, beta_v=5.0, seed=1)
    return model, model.sample(N)


def test_spikes_are_orthonormal():
    model = MixedCumulantModel(10, beta_m=1.0, seed=0)
    basis = torch.stack([model.u, model.v, model.m]).double()
    torch.testing.assert_close(basis @ basis.T, torch.eye(3, dtype=torch.float64), atol=1e-6, rtol=0)


def test_variances_along_spikes_and_bulk(rademacher):
    model, x = rademacher
    pu, pv = project(x, model.u), project(x, model.v)
    var_u = 1 + model.beta_u
    assert abs(pu.var() - var_u) < 5 * var_u * math.sqrt(2 / N)
    assert abs(pv.var() - 1.0) < 5 * math.sqrt(2 / N) * 2  # Var(v.x0) = 1: v is whitened
    bulk = torch.randn(64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    bulk -= (bulk @ model.u.double()) * model.u.double() + (bulk @ model.v.double()) * model.v.double()
    assert abs(project(x, bulk).var() - 1.0) < 5 * math.sqrt(2 / N)


def test_fourth_cumulant_along_v(rademacher):
    model, x = rademacher
    pv = project(x, model.v)
    k4 = kstats(pv)[3]
    assert model.kappa4_v() == pytest.approx((5 / 6) ** 2 * -2)  # -1.389
    assert abs(k4 - model.kappa4_v()) < 5 * kstat_stderr(pv, 4)
    pu = project(x, model.u)
    assert abs(kstats(pu)[3]) < 5 * kstat_stderr(pu, 4)  # u is Gaussian


def test_skewed_latent_third_cumulant():
    model = MixedCumulantModel(16, beta_u=0.0, beta_v=3.0, latent="skewed", skew_p=0.2, seed=2)
    p, q = 0.2, 0.8
    assert model.latent_cumulant(3) == pytest.approx((q - p) / math.sqrt(p * q))
    assert model.latent_cumulant(4) == pytest.approx((1 - 6 * p * q) / (p * q))
    pv = project(model.sample(N), model.v)
    assert model.kappa3_v() == pytest.approx((3 / 4) ** 1.5 * 1.5)
    assert abs(kstats(pv)[2] - model.kappa3_v()) < 5 * kstat_stderr(pv, 3)


@pytest.mark.parametrize(
    "name, k3, k4, k6", [("rademacher", 0, -2, 16), ("three_point", 0, 0, -6), ("gaussian", 0, 0, 0)]
)
def test_latent_cumulants(name, k3, k4, k6):
    law = latent_law(name)
    assert law.cumulant(1) == pytest.approx(0, abs=1e-12)
    assert law.cumulant(2) == pytest.approx(1)
    assert law.cumulant(3) == pytest.approx(k3, abs=1e-12)
    assert law.cumulant(4) == pytest.approx(k4, abs=1e-12)
    assert law.cumulant(6) == pytest.approx(k6, abs=1e-9)


def test_correlated_latents_covariance():
    model = MixedCumulantModel(32, beta_u=5.0, beta_v=5.0, p_corr=0.6, seed=3)
    assert model.e_lam_nu == pytest.approx(0.6 * math.sqrt(2 / math.pi))
    assert model.rho == pytest.approx(math.sqrt(5 * 5 / 6) * 0.6 * math.sqrt(2 / math.pi))
    x = model.sample(N)
    pv = project(x, model.v)
    cov_uv, se = cross_covariance(model, x)  # the chapter's check
    assert abs(cov_uv - model.rho) < 5 * se
    # marginals are kept: v.x0 still has unit variance and the same fourth cumulant
    assert abs(pv.var() - 1.0) < 5 * math.sqrt(2 / N) * 2
    assert abs(kstats(pv)[3] - model.kappa4_v()) < 5 * kstat_stderr(pv, 4)
    emp = torch.as_tensor(np.cov(x.double().numpy().T))
    assert torch.allclose(emp, model.covariance(), atol=0.05)


def test_quantile_coupling_matches_rademacher_sign():
    law = latent_law("rademacher")
    lam = torch.tensor([-2.0, -0.1, 0.1, 3.0])
    assert torch.equal(law.coupled(lam), torch.tensor([-1.0, -1.0, 1.0, 1.0]))
    assert law.e_gaussian_coupled() == pytest.approx(math.sqrt(2 / math.pi))


def test_mean_spike():
    model = MixedCumulantModel(8, beta_u=0, beta_v=0, beta_m=2.0, seed=0)
    x = model.sample(50_000)
    torch.testing.assert_close(x.mean(0), 2.0 * model.m, atol=5 * math.sqrt(1 / 50_000) * 2, rtol=0)


def test_same_seed_same_samples():
    a = MixedCumulantModel(20, seed=7, p_corr=0.3).sample(100)
    b = MixedCumulantModel(20, seed=7, p_corr=0.3).sample(100)
    c = MixedCumulantModel(20, seed=8, p_corr=0.3).sample(100)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_iter_samples_in_batches():
    model = MixedCumulantModel(5, seed=0)
    chunks = list(model.iter_samples(10, batch_size=4))
    assert [c.shape for c in chunks] == [(4, 5), (4, 5), (2, 5)]
    again = list(MixedCumulantModel(5, seed=0).iter_samples(10, batch_size=4))
    assert torch.equal(torch.cat(chunks), torch.cat(again))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"d": 1}, r"d \(dimension\) must be an integer in \[2, "),
        ({"d": 2.5}, "d .*integer"),
        ({"d": 2, "beta_m": 1.0}, "d .*>= 3 with a mean spike"),
        ({"d": 8, "beta_u": -1.0}, "beta_u must be a finite number >= 0"),
        ({"d": 8, "beta_v": float("nan")}, "beta_v must be a finite number >= 0"),
        ({"d": 8, "beta_m": float("inf")}, "beta_m must be a finite number >= 0"),
        ({"d": 8, "p_corr": 1.5}, r"p_corr must lie in \[0, 1\]"),
        ({"d": 8, "p_corr": -0.1}, r"p_corr must lie in \[0, 1\]"),
        ({"d": 8, "latent": "cauchy"}, "latent must be one of"),
        ({"d": 8, "latent": "skewed", "skew_p": 1.0}, r"skew_p must lie in \(0, 1\)"),
        ({"d": 8, "seed": -3}, "seed must be a non-negative integer"),
    ],
)
def test_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MixedCumulantModel(**kwargs)


def test_bad_sample_size():
    model = MixedCumulantModel(4, seed=0)
    with pytest.raises(ValueError, match=r"n \(number of samples\) must be an integer in \[1, "):
        model.sample(0)
    with pytest.raises(ValueError, match="batch_size"):
        next(model.iter_samples(10, batch_size=0))

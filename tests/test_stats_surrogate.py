import math

import numpy as np
import pytest
import torch

from easyhard.data.mcm import MixedCumulantModel
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.diffusion import noise, vp_coefficients
from easyhard.stats import excess_kurtosis, kstat_stderr, kstats, project


def test_kstats_of_known_laws():
    rng = np.random.default_rng(0)
    n = 200_000
    x = rng.exponential(size=n)  # cumulants of Exp(1): (k-1)!
    k = kstats(x)
    for order, expected in zip((1, 2, 3, 4), (1, 1, 2, 6), strict=True):
        assert abs(k[order - 1] - expected) < 5 * kstat_stderr(x, order)
    g = rng.normal(size=n)
    assert abs(excess_kurtosis(g)) < 5 * math.sqrt(24 / n)


def test_stats_bad_inputs():
    with pytest.raises(ValueError, match="one-dimensional"):
        kstats(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="order"):
        kstat_stderr(np.zeros(100), 5)


def _data(n=20_000, d=6):
    model = MixedCumulantModel(d, beta_u=4.0, beta_v=5.0, beta_m=1.0, p_corr=0.5, seed=0)
    return model, model.sample(n).double()


def test_surrogate_matches_mean_and_covariance():
    _, x = _data()
    sur = GaussianSurrogate.fit(x)
    torch.testing.assert_close(sur.mean, x.mean(0))
    torch.testing.assert_close(sur.cov, torch.cov(x.T))
    ridge = GaussianSurrogate.fit(x, ridge=0.1)
    torch.testing.assert_close(ridge.cov, torch.cov(x.T) + 0.1 * torch.eye(6, dtype=torch.float64))
    n = 200_000
    y = sur.sample(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(y.mean(0), sur.mean, atol=5 * math.sqrt(float(sur.eigvals.max()) / n), rtol=0)
    torch.testing.assert_close(torch.cov(y.T), sur.cov, atol=0.05, rtol=0.02)


def test_surrogate_has_no_fourth_cumulant():
    model, x = _data()
    sur = GaussianSurrogate.fit(x)
    y = sur.sample(200_000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    pv = project(y, model.v)
    assert abs(kstats(pv)[3]) < 5 * kstat_stderr(pv, 4)
    assert model.kappa4_v() < -1  # while the data does have one


def test_wiener_denoiser_is_the_posterior_mean_on_gaussian_data():
    _, x = _data()
    sur = GaussianSurrogate.fit(x)
    gen = torch.Generator().manual_seed(3)
    x0 = sur.sample(100_000, generator=gen, dtype=torch.float64)
    a, s = vp_coefficients(0.6)
    xt, _ = noise(x0, a, generator=gen)
    # closed form, written with a dense inverse
    sigma, mu = sur.cov, sur.mean
    gain = a * sigma @ torch.linalg.inv(a * a * sigma + s * s * torch.eye(6, dtype=torch.float64))
    closed = mu + (xt - a * mu) @ gain.T
    torch.testing.assert_close(sur.denoise(xt, a), closed)
    err = ((sur.denoise(xt, a) - x0) ** 2).sum(1)
    se = float(err.std() / math.sqrt(len(err)))
    assert abs(float(err.mean()) - sur.mmse(a)) < 5 * se
    identity = ((xt / a - x0) ** 2).sum(1).mean()
    assert float(err.mean()) < float(identity)
    # a small perturbation of the optimal gain is worse: it is the minimiser
    worse = ((mu + (xt - a * mu) @ (1.05 * gain).T - x0) ** 2).sum(1).mean()
    assert float(err.mean()) < float(worse)


def test_mmse_limits_and_formula():
    _, x = _data()
    sur = GaussianSurrogate.fit(x)
    lam = sur.eigvals
    a, s = vp_coefficients(0.3)
    # independent of the eigen-formula: the trace of the posterior covariance
    # Sigma - a^2 Sigma (a^2 Sigma + s^2 I)^{-1} Sigma, by a linear solve on cov itself
    cov = sur.cov
    post = cov - a * a * cov @ torch.linalg.solve(a * a * cov + s * s * torch.eye(sur.d, dtype=cov.dtype), cov)
    assert sur.mmse(a) == pytest.approx(float(torch.trace(post)), rel=1e-10)
    assert sur.mmse(0.999) < sur.mmse(0.5) < sur.mmse(0.01) <= float(lam.sum()) + 1e-9
    assert sur.mmse(1e-6) == pytest.approx(float(torch.trace(cov)), rel=1e-6)  # no signal: the prior
    assert sur.mmse(1 - 1e-12) < 1e-9 * float(torch.trace(cov))  # no noise: no error


def test_surrogate_bad_inputs():
    with pytest.raises(ValueError, match=r"x must have shape \(n, d\)"):
        GaussianSurrogate.fit(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="ridge"):
        GaussianSurrogate.fit(torch.zeros(5, 3), ridge=-1)
    with pytest.raises(ValueError, match=r"a \(signal coefficient\) must lie in \(0, 1\)"):
        GaussianSurrogate.fit(torch.randn(5, 3)).mmse(1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        GaussianSurrogate(torch.zeros(2), torch.tensor([[1.0, 0.0], [0.0, -1.0]]))

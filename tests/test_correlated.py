"""Correlated latents: the sign-flip coupling, the fixed points, the higher-order gain,
the mean-field flow and the experiment config (chapter "Sliding down the stairs")."""

import math

import numpy as np
import pytest
import torch

from easyhard.data.latents import FLIP_THRESHOLD, coupled_moment, latent_law, sign_flip_law
from easyhard.data.mcm import MixedCumulantModel
from easyhard.experiments import correlated as corr
from easyhard.neuron import NeuronSpec
from easyhard.sgd import run
from easyhard.theory.fixed_points import (
    higher_order_gain,
    matched_gaussian_model,
    mean_field_flow,
    mean_field_plateau,
    noise_strength,
    pairwise_fixed_point,
    population_minimum,
    surrogate_excess_loss,
)
from easyhard.theory.landscape import excess_loss
from easyhard.theory.quadrature import normal_rule

N = 400_000


# -- the sign-flip coupling ------------------------------------------------------
def test_flip_coupling_moments_exact():
    law = sign_flip_law()
    assert abs(coupled_moment(law, 1)) < 1e-12  # E[lam nu] = 0 by the choice of threshold
    assert coupled_moment(law, 3) == pytest.approx(4 * math.log(2) / math.sqrt(2 * math.pi), rel=1e-12)
    assert coupled_moment(law, 2) == pytest.approx(0.0, abs=1e-12)  # s is odd
    # the marginal is Rademacher
    rad = latent_law("rademacher")
    for k in range(1, 7):
        assert law.moment(k) == pytest.approx(rad.moment(k), abs=1e-12)
    # quadrature check of the closed form E[lam^k Q(lam)]
    lam, w = normal_rule(law.thresholds())
    nu = law.atoms[np.searchsorted(law.thresholds(), lam)]
    for k in (1, 3, 5):
        assert coupled_moment(law, k) == pytest.approx(float(np.sum(w * lam**k * nu)), abs=1e-10)
    assert coupled_moment(rad, 1) == pytest.approx(rad.e_gaussian_coupled(), rel=1e-12)
    assert coupled_moment(latent_law("gaussian"), 3) == 3.0


def test_flip_coupling_samples():
    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, latent="rademacher_flip", p_corr=1.0, seed=0,
                           dtype=torch.float64)
    coupling = corr.flip_coupling(m, N)
    assert coupling.moments_agree(5.0) and coupling.marginal_rademacher(5.0)
    assert coupling.exact[3] == pytest.approx(coupled_moment(m.law, 3)) and coupling.exact[1] == pytest.approx(0.0, abs=1e-12)
    # power: the sign coupling nu = sign(lam) has E[lam nu] = sqrt(2/pi), not 0, and rho != 0
    sign = corr.flip_coupling(MixedCumulantModel(16, p_corr=1.0, seed=0, dtype=torch.float64), N)
    assert not sign.moments_agree(5.0, exact={1: 0.0, 3: coupling.exact[3]}) and not sign.marginal_rademacher(5.0)
    lam, nu = (x.numpy() for x in m.sample_latents(N))
    assert set(np.unique(nu)) == {-1.0, 1.0}
    inside = np.abs(lam) < FLIP_THRESHOLD
    assert np.all(nu[inside] == -np.sign(lam[inside])) and np.all(nu[~inside] == np.sign(lam[~inside]))


def test_flip_draw_of_compiled_engines_matches_python_reference():
    """The numba latent draw of the SGD engines against the law (moments, E[lam nu], E[lam^3 nu])."""
    from easyhard.sgd._kernels import draw_latents
    from easyhard.sgd.run import make_problem

    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, latent="rademacher_flip", p_corr=0.7, seed=0)
    k = make_problem(m, 0.01, "tanh", 0.6, None, 1.0).kernel()
    rng = np.random.default_rng(0)
    draws = np.array([draw_latents(rng, k.gaussian, k.atoms, k.cdf, k.cuts, k.p_corr) for _ in range(100_000)])
    lam, nu = draws[:, 0], draws[:, 1]
    n = len(lam)
    assert set(np.unique(nu)) == {-1.0, 1.0} and abs(nu.mean()) < 5 / math.sqrt(n)
    assert abs(np.mean(lam * nu)) < 5 * math.sqrt(np.var(lam * nu) / n)
    e3 = 0.7 * coupled_moment(m.law, 3)
    assert abs(np.mean(lam**3 * nu) - e3) < 5 * math.sqrt(np.var(lam**3 * nu) / n)


def test_flip_threshold_validation():
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="threshold"):
            sign_flip_law(bad)
    with pytest.raises(ValueError, match="k"):
        coupled_moment(sign_flip_law(), -1)


# -- fixed points and the gain ----------------------------------------------------
def _model(latent="rademacher", p_corr=1.0, d=32):
    return MixedCumulantModel(d, beta_u=5.0, beta_v=5.0, latent=latent, p_corr=p_corr, seed=0)


def test_pairwise_fixed_point_is_top_eigenvector():
    m = _model()
    au, av = pairwise_fixed_point(m)
    assert av == pytest.approx(0.2847, abs=1e-4)
    cov = m.covariance().numpy()
    top = np.linalg.eigh(cov)[1][:, -1]
    top *= np.sign(top @ m.u.double().numpy())
    assert au == pytest.approx(top @ m.u.double().numpy(), abs=1e-6)
    assert av == pytest.approx(top @ m.v.double().numpy(), abs=1e-6)
    assert pairwise_fixed_point(_model(p_corr=0.0)) == (1.0, 0.0)


def test_population_minimum_values_and_disk():
    m = _model()
    au, av, loss = population_minimum(m)
    assert av == pytest.approx(0.3465, abs=5e-4)
    assert au**2 + av**2 == pytest.approx(1.0)
    # no point of the disk is lower
    g = np.linspace(-1, 1, 81)
    U, V = np.meshgrid(g, g, indexing="ij")
    inside = U**2 + V**2 <= 1
    assert excess_loss(m, NeuronSpec("tanh", 0.6), U[inside], V[inside]).min() >= loss - 1e-9
    # on the surrogate the minimum is the pair-wise fixed point
    assert population_minimum(m, surrogate=True)[1] == pytest.approx(pairwise_fixed_point(m)[1], abs=1e-6)


def test_matched_gaussian_model_is_the_surrogate():
    m = _model()
    g = matched_gaussian_model(m)
    assert g.rho == pytest.approx(m.rho, rel=1e-12)
    torch.testing.assert_close(g.covariance(), m.covariance())
    assert g.kappa4_v() == 0.0
    au, av = np.array([0.0, 0.5, 0.9, 0.95]), np.array([0.0, 0.3, 0.3, -0.2])
    # its exact loss equals the surrogate loss of the original model
    np.testing.assert_allclose(excess_loss(g, NeuronSpec("tanh", 0.6), au, av),
                               surrogate_excess_loss(m, NeuronSpec("tanh", 0.6), au, av), atol=1e-10)
    np.testing.assert_allclose(higher_order_gain(g, NeuronSpec("tanh", 0.6), au, av), 0.0, atol=1e-10)
    ind = matched_gaussian_model(_model(p_corr=0.0))
    assert ind.p_corr == 0.0 and ind.latent == "gaussian"
    with pytest.raises(TypeError, match="model"):
        matched_gaussian_model("not a model")


def test_gain_signs():
    m = _model()
    au, av = pairwise_fixed_point(m)
    assert higher_order_gain(m, NeuronSpec("tanh", 0.6), au, av) < -0.04  # the fourth cumulant lowers the loss
    ind = _model(p_corr=0.0)
    assert abs(float(higher_order_gain(ind, NeuronSpec("tanh", 0.6), 1.0, 0.0))) < 1e-12  # w = u: nothing beyond pairs
    assert float(higher_order_gain(ind, NeuronSpec("tanh", 0.6), 0.0, 1.0)) < -0.02  # w = v: the quartic spike
    # the Gaussian latent mixed in with p_corr = sqrt(2/pi) is not Gaussian in the plane
    mix = _model("gaussian", math.sqrt(2 / math.pi))
    assert mix.rho == pytest.approx(m.rho)
    assert float(higher_order_gain(mix, NeuronSpec("tanh", 0.6), au, av)) > 1e-3
    with pytest.raises(ValueError, match="overlaps"):
        surrogate_excess_loss(m, NeuronSpec("tanh", 0.6), 0.9, 0.9)


def test_flip_population_minimum_has_v():
    f = _model("rademacher_flip")
    au, av, _ = population_minimum(f)
    assert abs(pairwise_fixed_point(f)[1]) < 1e-12
    assert abs(av) > 0.08  # only the mixed cumulant E[lam^3 nu] tilts the minimum towards v
    assert float(higher_order_gain(f, NeuronSpec("tanh", 0.6), au, av)) < -0.01


def test_noise_strength_matches_monte_carlo_and_zero_overlap():
    from easyhard.theory.flow import noise_constant

    m = _model()
    assert float(noise_strength(m, NeuronSpec("tanh", 0.6), 0.0, 0.0)) == pytest.approx(noise_constant(), rel=1e-3)
    # Monte Carlo of E[K0^2 + Kxi^2] at (0.9, 0.3)
    rng = np.random.default_rng(1)
    lam, nu = (x.double().numpy() for x in m.sample_latents(N))
    b = m.nu_scale
    p = math.sqrt(5.0) * 0.9 * lam + b * 0.3 * nu + math.sqrt(1 - (b * 0.3) ** 2) * rng.standard_normal(N)
    zeta = rng.standard_normal(N)
    a, s = 0.6, 0.8
    h = a * p + s * zeta
    sig = np.tanh(h)
    g1, g2 = -2 * (1 - sig**2) * (p - a * h - sig), -2 * sig
    val = (a * g1 + (1 - a * a) * g2) ** 2 + (s * g1 - a * s * g2) ** 2
    assert float(noise_strength(m, NeuronSpec("tanh", 0.6), 0.9, 0.3)) == pytest.approx(val.mean(), abs=5 * val.std() / math.sqrt(N) + 5e-3)


def test_mean_field_flow_reduces_to_population_flow_and_predicts_plateau():
    from easyhard.theory.flow import overlap_flow

    m = _model()
    exact = overlap_flow(m)
    fast = mean_field_flow(m, 0.0)
    for y in ([0.3, 0.1], [0.9, 0.3], [0.05, -0.02]):
        np.testing.assert_allclose(fast(0.0, np.array(y)), exact(0.0, np.array(y)), atol=2e-4)
    # delta = 0: the plateau is the population minimum; delta > 0 pulls it inside the circle
    au0, av0 = mean_field_plateau(m, 0.0)
    assert av0 == pytest.approx(population_minimum(m)[1], abs=2e-3)
    au, av = mean_field_plateau(m, 1 / math.log(1024))
    assert au**2 + av**2 < 0.95 and av < av0
    with pytest.raises(ValueError, match="delta"):
        mean_field_flow(m, -1.0)


def test_sgd_plateau_matches_mean_field_prediction():
    """A short direct check: the reduced engine settles where the mean-field flow predicts."""
    d = 1024
    m = _model(d=d)
    lr = 1 / (d * math.log(d))
    steps = 60_000
    rec = np.concatenate([[0], np.linspace(steps // 2, steps, 11).astype(int)])
    tr = run(m, steps, lr, walkers=8, engine="reduced", seed=3, records=rec)
    measured = np.median(np.abs(tr.alpha_v[:, 0, 1:]))
    assert measured == pytest.approx(mean_field_plateau(m, 1 / math.log(d))[1], abs=0.01)


# -- the experiment config ------------------------------------------------------
def test_config_presets_and_validation():
    for scale in ("ci", "laptop", "paper"):
        cfg = corr.config(scale)
        assert set(cfg.dims) <= set(cfg.plateau_dims)
        assert len([p for p in cfg.p_corrs]) >= 5 and min(cfg.p_corrs) == 0.0 and max(cfg.p_corrs) == 1.0
    with pytest.raises(ValueError, match="plateau_dims"):
        corr.config("ci", dims=(512, 100_000))
    with pytest.raises(ValueError, match="eta"):
        corr.config("ci", eta=1.5)
    with pytest.raises(ValueError, match="case"):
        corr.make_model(corr.config("ci"), "nonsense", 64)
    with pytest.raises(ValueError, match="case"):
        corr.recovery(corr.config("ci"), "control")


def test_fixed_point_table_and_threshold_between_plateaus():
    cfg = corr.config("ci")
    tab = corr.fixed_point_table(cfg)
    assert tab["control"]["minimum_v"] == pytest.approx(tab["control"]["pairwise_v"], abs=1e-6)
    assert tab["control"]["pairwise_v"] < cfg.eta < tab["rademacher"]["minimum_v"]
    assert tab["flip"]["e_lam_nu"] == pytest.approx(0.0, abs=1e-12) and tab["flip"]["e_lam3_nu"] > 1.0
    # the threshold lies between the predicted finite-step plateaus at the sweep's dims
    for d in cfg.dims:
        assert corr.predicted_plateau(cfg, "control", d)[1] < cfg.eta < corr.predicted_plateau(cfg, "rademacher", d)[1]


def test_recovery_small_run():
    cfg = corr.config("ci", dims=(256, 512), plateau_dims=(256, 512), gain_dim=256, walkers=8)
    rec = corr.recovery(cfg, "rademacher")
    assert rec.passage.shape == (2, 8) and np.all(np.isfinite(rec.passage))
    assert np.all(rec.mean_field_steps > rec.flow_steps)  # the contraction slows the escape
    ratio = rec.median / rec.mean_field_steps
    assert np.all((ratio > 0.5) & (ratio < 2.0))


def test_chapter_helpers():
    cfg = corr.config("ci")
    theta = np.array([0.0, 0.3])
    data, surrogate = corr.circle_losses(cfg, theta)
    assert data[0] == pytest.approx(surrogate[0], abs=1e-10)  # w = u: nothing beyond pairs
    assert data[1] < surrogate[1]  # with a v-component the data's loss is lower (the gain)
    assert corr.gain_at_pairwise(cfg) < 0
    forces = corr.coupling_forces(cfg)
    assert 0 < forces["flip"] < forces["sign"]
    assert all(d >= cfg.fit_from for d in corr.fit_dims(cfg)) and corr.fit_dims(cfg)


def test_log_corrected_slopes_divide_out_the_flows_logarithms():
    """A passage that is exactly d ln d (A ln d + B) has slope 1 after the flow's own factor."""
    cfg = corr.config("ci")
    dims = [512, 1024, 2048]
    A, B = corr.flow_time_fit(cfg, "rademacher", np.array(dims), mean_field=True)
    d = np.array(dims, float)
    passage = (d * np.log(d) * (A * np.log(d) + B))[:, None] * np.linspace(0.9, 1.1, 16)[None, :]
    rec = corr.Recovery(np.array(dims), passage, passage[:, 8], passage[:, 8], cfg.eta)
    out = corr.log_corrected_slopes(cfg, rec, dims)
    assert out["A"] == pytest.approx(A) and out["ln d (A ln d + B)"][0] == pytest.approx(1.0, abs=1e-6)
    assert out["ln d ln(eta sqrt d)"][0] != pytest.approx(1.0, abs=0.02)  # the other logarithms do not

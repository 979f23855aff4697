"""The statistics of the mixed cumulant model chapter (easyhard.experiments.mcm_model)."""

from __future__ import annotations

import dataclasses
import math

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from easyhard.data.mcm import MixedCumulantModel  # noqa: E402
from easyhard.experiments import mcm_model as mm  # noqa: E402
from easyhard.plotting import mcm as mcm_plots  # noqa: E402
from easyhard.stats import project  # noqa: E402


def test_presets():
    assert mm.mcm_model_config("ci") == mm.MCMModelConfig(64, 200_000, 20_000)
    assert [mm.mcm_model_config(s).d for s in ("ci", "laptop", "paper")] == [64, 256, 1024]
    with pytest.raises(dataclasses.FrozenInstanceError):
        mm.mcm_model_config("ci").d = 3
    with pytest.raises(ValueError):
        mm.mcm_model_config("huge")


@pytest.mark.parametrize("p_corr", [0.0, 0.5, 1.0])
def test_top_pc_tilt_is_the_closed_form(p_corr):
    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, p_corr=p_corr, seed=0)
    theta = math.atan(2 * m.rho / (m.beta_u + math.sqrt(m.beta_u**2 + 4 * m.rho**2)))
    assert mm.top_pc_tilt(m) == pytest.approx(math.sin(theta), abs=1e-6)  # u, v are float32


def test_spectrum_finds_u_and_hides_v():
    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, seed=0)
    spec = mm.covariance_spectrum(m, m.sample(40_000))
    assert spec.eigvals[-1] == pytest.approx(6.0, rel=0.05) and spec.top_u > 0.99 and spec.top_v < 0.05
    assert spec.mp[0] < 1 < spec.mp[1] and spec.mp[1] - spec.mp[0] == pytest.approx(4 * math.sqrt(16 / 40_000))
    assert spec.rayleigh_v == pytest.approx(1.0, abs=10 * spec.se_var)
    weak = mm.covariance_spectrum(MixedCumulantModel(16, beta_u=0.0, beta_v=5.0, seed=0), m.sample(2_000))
    assert weak.eigvals.shape == (16,)


def test_kappa4_sweep_agrees_and_its_check_has_power():
    sweep = mm.kappa4_sweep(8, 40_000, 5.0, np.array([1.0, 5.0]), seed=1)
    assert sweep.agrees(z=5)
    assert np.allclose(sweep.theory, [-2 * (b / (1 + b)) ** 2 for b in (1.0, 5.0)])
    wrong = dataclasses.replace(sweep, theory=sweep.theory * 0.5)  # a theory off by a factor 2
    assert not wrong.agrees(z=5)


def test_correlated_sweep_and_its_checks_have_power():
    sweep = mm.correlated_sweep(8, 40_000, 5.0, 5.0, np.array([0.0, 1.0]), seed=3)
    assert sweep.covariance_agrees(z=5) and sweep.tilt_agrees(tol=0.03)
    assert sweep.rho[0] == 0 and sweep.rho[1] > 0.5
    assert not dataclasses.replace(sweep, rho=sweep.rho + 10 * sweep.se).covariance_agrees(z=5)
    assert not dataclasses.replace(sweep, tilt_theory=sweep.tilt_theory + 0.05).tilt_agrees(tol=0.03)


def test_cross_covariance_se_covers_the_error():
    m = MixedCumulantModel(8, beta_u=5.0, beta_v=5.0, p_corr=0.6, seed=3)
    z = [(c - m.rho) / se for c, se in (mm.cross_covariance(m, m.sample(5_000)) for _ in range(20))]
    assert 0.5 < np.std(z) < 1.6  # the SE is the scale of the error


def test_surrogate_study_and_figures():
    m = MixedCumulantModel(8, beta_u=5.0, beta_v=5.0, seed=0)
    x = m.sample(20_000)
    sur = mm.surrogate_study(m, x, seed=4)
    assert sur.u.shape == sur.v.shape == (20_000,) and sur.cov_err < 0.2
    assert abs(sur.v.var() - 1) < 0.05 and abs(sur.u.var() - 6) < 0.3
    figs = [mcm_plots.surrogate_figure(project(x, m.v), sur.v),
            mcm_plots.spectrum_figure(mm.covariance_spectrum(m, x)),
            mcm_plots.kappa4_figure(mm.kappa4_sweep(8, 2_000, 5.0, np.array([1.0]), seed=1)),
            mcm_plots.correlated_figure(mm.correlated_sweep(8, 2_000, 5.0, 5.0, np.array([0.0, 1.0])))]
    assert [len(f.axes) for f in figs] == [2, 1, 1, 2]
    for f in figs:
        plt.close(f)

"""The staircase experiment: config, online SGD and Adam runs with exact losses, step detection."""

import dataclasses

import numpy as np
import pytest

from easyhard.experiments import mcm_bias as mb

TINY = dict(d=6, steps=3000, walkers=2, records=12, loss_points=2, adam_steps=30, batch=32)


def test_presets_and_bad_config():
    for scale in ("ci", "laptop", "paper"):
        cfg = mb.mcm_bias_config(scale)
        assert cfg.beta_u > 0 and cfg.beta_v > 0 and cfg.lr == pytest.approx(cfg.lr_scale / cfg.d**2)
    assert mb.run_config("correlated", "laptop")[0].p_corr == 1.0
    for bad in (dict(d=1), dict(walkers=65), dict(p_corr=1.5), dict(a=1.0), dict(lr_scale=0.0),
                dict(neurons=0), dict(seed=-1)):
        with pytest.raises(ValueError):
            mb.MCMBiasConfig(**bad)
    with pytest.raises(ValueError, match="key"):
        mb.run_config("p3")
    with pytest.raises(ValueError, match="optimiser"):
        mb.saved_or_run(mb.MCMBiasConfig(**TINY), "sgd", compute=False)


def test_online_run_is_exact_and_reproducible():
    cfg = mb.MCMBiasConfig(**TINY, neurons=2)
    r1, r2 = mb.run_online(cfg), mb.run_online(cfg)
    assert np.array_equal(r1.mcm, r2.mcm) and np.array_equal(r1.gram, r2.gram)
    K = r1.loss_steps.size
    assert r1.mcm.shape == (2, K) and r1.gram.shape == (2, K, 2, 2)
    assert np.allclose(np.diagonal(r1.gram, axis1=-2, axis2=-1), 1.0)
    au, _ = r1.loss_overlaps()
    assert au.shape == (2, 2, K)
    assert np.all(r1.surrogate > r1.floor)  # no denoiser beats the floor on Gaussian data
    other = mb.run_online(dataclasses.replace(cfg, seed=1))
    assert not np.array_equal(other.mcm, r1.mcm)


def test_one_neuron_gap_is_the_quartic_term():
    """One neuron: MCM and surrogate differ only through alpha_v (zero gain at alpha_v = 0)."""
    r = mb.run_online(mb.MCMBiasConfig(**TINY, neurons=1))
    _, av = r.loss_overlaps()
    gap = r.mcm - r.surrogate
    assert np.all(np.abs(gap) <= 0.05 * av[:, 0] ** 4 + 1e-12)


def test_adam_run_shapes_and_amplitude():
    fixed = mb.run_adam(mb.MCMBiasConfig(**TINY, neurons=2))
    trained = mb.run_adam(mb.MCMBiasConfig(**TINY, neurons=2, trainable_A=True))
    assert np.all(fixed.amplitude == 1.0)
    assert not np.allclose(trained.amplitude[:, -1], 1.0)
    assert np.all(np.isfinite(trained.mcm)) and trained.gram.shape[-1] == 2


def _fake(gap, av):
    steps = np.arange(1, len(gap[0]) + 1)
    w = len(gap)
    return mb.BiasRun({}, steps, np.zeros((w, 1, len(steps))), np.asarray(av, float)[:, None, :], steps,
                      np.ones((w, len(steps), 1, 1)), np.asarray(gap, float), np.zeros((w, len(steps))),
                      -1.0, np.ones((w, len(steps))), 0.0)


def test_parting_and_v_steps():
    r = _fake([[0, -1, 0, -1, -1], [0, 0, 0, 0, 0], [-1, -1, -1, -1, -1]],
              [[0.5, 0, 0, 0.5, 0.5], [0.5, 0.5, 0, 0, 0], [0.5] * 5])
    assert list(mb.parting_step(r, 0.5)) == [4, np.inf, 1]
    assert list(mb.v_used_step(r, 0.3)) == [4, np.inf, 1]


def test_independence_check_small():
    out = mb.independence_check(dims=(16, 32), walkers=4, budget=5.0)
    assert out["alpha_u"].shape == (2, 4) and np.all(out["alpha_u"] > 0.5)
    assert np.all(out["max_sqrt_d_alpha_v"] >= out["sqrt_d_alpha_v"])


def test_one_neuron_reduced_engine_run():
    cfg = mb.MCMBiasConfig(**{**TINY, "d": 64}, neurons=1, engine="reduced", lr_scale=10.0)
    r = mb.run_online(cfg)
    _, av = r.loss_overlaps()
    assert r.gram.shape[-1] == 1 and np.all(np.abs(r.mcm - r.surrogate) <= 0.05 * av[:, 0] ** 4 + 1e-12)
    with pytest.raises(ValueError, match="one neuron"):
        mb.MCMBiasConfig(neurons=2, engine="reduced")
    with pytest.raises(ValueError, match="engine"):
        mb.MCMBiasConfig(engine="gpu")


def test_staircase_plateau_and_parted_count_have_power():
    s = mb.Staircase(u_found=np.array([10.0, 10.0, 10.0]), v_used=np.array([200.0, np.inf, 50.0]),
                     parting=np.array([200.0, np.inf, 50.0]), below_floor=np.full(3, np.inf))
    assert s.n_parted == 2
    assert s.plateau_separates(factor=5) and not s.plateau_separates(factor=10)  # walker 2 parts at 5x u_found


def test_saved_beside_shows_only_saved_runs_with_provenance(tmp_path, monkeypatch):
    from easyhard import results

    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    live = mb.run_online(mb.MCMBiasConfig(**TINY, neurons=2))
    alone = mb.saved_beside(live, ("p2", "p2_long"))
    assert len(alone) == 1 and alone[0].run is live and alone[0].title.startswith("live")
    cfg, optimiser = mb.run_config("p2", "laptop")
    results.save(f"mcm_bias_{optimiser}", cfg, live.arrays(), wall_time=1.0, device="cpu", scale="laptop")
    both = mb.saved_beside(live, ("p2", "p2_long"))
    assert [r.title for r in both][1] == f"saved, d = {cfg.d}, {cfg.steps:.0e} steps"
    assert "laptop scale" in both[1].source and "code " in both[1].source
    assert np.array_equal(both[1].run.mcm, live.mcm)
    assert "walkers parted" in mb.summary_line(live) and f"d = {cfg.d}" in cfg.summary()


def test_chapter_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from easyhard.plotting import mcm_bias as mplot

    r = mb.run_online(mb.MCMBiasConfig(**TINY, neurons=2))
    fig = mplot.staircase_figure([mb.LabelledRun(r, "a", "src"), mb.LabelledRun(r, "b", "src")])
    grid = mplot.loss_grid([(r, "x")] * 3)
    assert len(fig.axes) == 4 and sum(ax.get_visible() for ax in grid.axes) == 3
    plt.close(fig)
    plt.close(grid)

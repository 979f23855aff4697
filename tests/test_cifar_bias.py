"""The CIFAR-10 chapter's experiment: saved runs chosen by config, seeds, the claims it checks."""

from __future__ import annotations

import dataclasses

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from test_parting import STEPS, T, make_run  # noqa: E402

from easyhard import results  # noqa: E402
from easyhard.experiments import cifar_bias as cb  # noqa: E402
from easyhard.plotting import cifar as cplot  # noqa: E402
from easyhard.plotting import parting as pplot  # noqa: E402
from easyhard.train import RESULT_NAME, saved_pairs, saved_run, train_config  # noqa: E402
from easyhard.train.parting import parting  # noqa: E402


@pytest.fixture(scope="module")
def pair():
    """A real-trained run that parts at t = 100 (step 16) and t = 500 (step 64), and its control,
    with the fields a saved CIFAR run carries."""
    rng = np.random.default_rng(0)
    shared = 0.03 * rng.standard_normal((len(T), 400))
    gain = np.zeros((len(STEPS), len(T)))
    gain[STEPS >= 16, 0] = 0.03
    gain[STEPS >= 64, 1] = 0.03
    extra = {"n_params": np.array(1234), "data_label": np.array("fake CIFAR-10"),
             "examples": np.zeros((len(STEPS), 2, 32, 32, 3), np.uint8), "clean": np.zeros((2, 32, 32, 3), np.uint8)}
    return {**make_run(gain, shared, 1), **extra}, {**make_run(np.zeros_like(gain), shared, 2), **extra}


def save_pair(root, config, pair, seed):
    real, ctrl = pair
    for data, arrays in (("real", real), ("surrogate", ctrl)):
        results.save(RESULT_NAME, {**_plain(config), "data": data, "seed": seed}, arrays, root=root, device="cpu")


def _plain(config):
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)


def test_saved_run_is_the_config_asked_for_not_the_newest(tmp_path, pair):
    """Defect 3 of the reliability review: a later laptop save with lr = 0.5, 7 steps became
    the chapter's saved run."""
    save_pair(tmp_path, train_config("laptop"), pair, seed=0)
    save_pair(tmp_path, train_config("laptop", lr=0.5, steps=7), pair, seed=0)  # newer, another config
    hit = saved_run("laptop", "real", root=tmp_path)
    assert hit.config["lr"] == 2e-4 and hit.config["steps"] == 1600
    assert saved_run(train_config("laptop", lr=0.5, steps=7), root=tmp_path).config["lr"] == 0.5
    assert saved_run("laptop", "real", seed=1, root=tmp_path) is None
    assert saved_run("paper", "real", root=tmp_path) is None
    with pytest.raises(TypeError, match="config must be"):
        saved_run(3, root=tmp_path)


def test_saved_pairs_by_config_and_seed(tmp_path, pair):
    laptop = train_config("laptop")
    for seed in (2, 0):
        save_pair(tmp_path, laptop, pair, seed)
    save_pair(tmp_path, dataclasses.replace(laptop, lr=1e-3), pair, seed=1)  # another config: not a seed of it
    results.save(RESULT_NAME, {**_plain(laptop), "data": "real", "seed": 3}, pair[0], root=tmp_path)  # no control
    found = saved_pairs(laptop, root=tmp_path)
    assert [(r.config["seed"], c.config["seed"], c.config["data"]) for r, c in found] == \
        [(0, 0, "surrogate"), (2, 2, "surrogate")]
    assert all(r.config["lr"] == 2e-4 for r, _ in found)
    assert [r.config["seed"] for r, _ in saved_pairs(laptop, root=tmp_path, seeds=(2,))] == [2]


def test_chapter_prefers_the_preset_then_the_pilot_and_carries_on_without(tmp_path, monkeypatch, pair):
    cfg = cb.cifar_bias_config("ci")
    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))  # how the chapter finds its results folder
    none = cb.saved_pairs(cfg)
    assert not none and none.seeds == () and "No saved longer run" in none.summary()
    assert none.describe() == "no saved run" and none.arrays() == []
    save_pair(tmp_path, cb.PILOT_LAPTOP, pair, seed=0)
    pilot = cb.saved_pairs(cfg)
    assert pilot.label.startswith("laptop pilot") and pilot.seeds == (0,) and "one seed only" in pilot.summary()
    for seed in (0, 1, 2):
        save_pair(tmp_path, train_config("laptop"), pair, seed)
    save_pair(tmp_path, train_config("laptop"), pair, seed=7)  # not one of the chapter's seeds
    new = cb.saved_pairs(cfg)
    assert new.label == "laptop preset" and new.seeds == (0, 1, 2) and "3 saved seeds" in new.summary()
    caption = new.describe()
    assert caption.count("\n") == 3 and "code " in caption and "cpu on" in caption and "1,234-parameter" in caption
    assert new.describe([1]).count("\n") == 1
    with pytest.raises(ValueError, match="not among the saved seeds"):
        new.describe([5])


def test_pilot_config_is_the_saved_pilot():
    """PILOT_LAPTOP is the exact config of the shipped pilot runs (their hash names the files)."""
    assert results.config_hash(cb.PILOT_LAPTOP) == "c53f7126f38f"
    assert results.config_hash({**cb.PILOT_LAPTOP, "data": "surrogate"}) == "e2a84037ee78"


def test_spread_over_seeds(pair):
    real, ctrl = pair
    gain = np.where(STEPS[:, None] >= 32, 0.03, 0.0) * np.ones((1, len(T)))  # a later seed: parts at 32
    shared = 0.03 * np.random.default_rng(0).standard_normal((len(T), 400))
    parts = [parting(real, ctrl), parting({**real, **make_run(gain, shared, 1)}, ctrl)]
    assert parts[0].step == (16, 64) and parts[1].step[0] == 32
    table = cb.spread_table(parts, (0, 1))
    assert "| 100 | 16 | 32 | 2/2 seeds | 16 - 32 |" in table
    assert "| 500 | 64 |" in table
    with pytest.raises(ValueError, match="same length"):
        cb.spread_table(parts, (0,))
    fig, ax = plt.subplots()
    pplot.spread(ax, parts, (0, 1), last=int(STEPS[-1]))
    assert len(ax.lines) == 2 * 2 + 1  # parted and not-parted markers per seed, the end of the run
    plt.close(fig)


def test_floor_table_and_levels(pair):
    real, _ = pair
    j = cb.level(real, 100)
    z = cb.below_floor_z(real, 100)
    assert z == pytest.approx((real["real"][-1, j] - real["floor"][j]) / real["se_real"][-1, j])
    assert f"| 100 | {real['floor'][0]:.4f} |" in cb.floor_table(real)
    with pytest.raises(ValueError, match="t = 250 was not evaluated"):
        cb.level(real, 250)


def test_kurtosis_claims_have_power():
    rng = np.random.default_rng(0)
    n = 10_000
    gauss = {(k, s): rng.standard_normal(20) * np.sqrt(24 / n) for k in ("pca", "random") for s in ("real", "surrogate")}
    flat = cb.KurtosisStudy(n, gauss, ())
    assert flat.surrogate_is_gaussian() and not flat.heavy_tailed()
    heavy = cb.KurtosisStudy(n, {**gauss, ("pca", "real"): np.full(20, 1.0), ("random", "real"): np.full(20, 0.2)}, ())
    assert heavy.heavy_tailed() and heavy.medians()["pca", "real"] == 1.0
    bad = cb.KurtosisStudy(n, {**gauss, ("random", "surrogate"): np.full(20, 0.4)}, ())
    assert not bad.surrogate_is_gaussian() and bad.surrogate_max() == pytest.approx(0.4)


def test_figures_draw(pair):
    real, ctrl = pair
    fig = cplot.loss_figure(real, "title")
    assert len(fig.axes) == len(T) + 1
    fig2 = pplot.pair_figure([(real, ctrl)])
    assert len(fig2.axes) == 2 * len(T)
    x = torch.randn(500, dtype=torch.float64)
    fig3 = cplot.kurtosis_figure(cb.KurtosisStudy(500, {(k, s): np.zeros(20) for k in ("pca", "random")
                                                        for s in ("real", "surrogate")}, (("a", x, x), ("b", x, x))))
    assert len(fig3.axes) == 3 and fig3.axes[0].get_yscale() == "log"
    for f in (fig, fig2, fig3):
        plt.close(f)


def test_seed_claims_report_every_claim_and_assert_all_but_the_early_agreement():
    """The chapter's table of claims on saved seeds: one row per claim and seed; a claim
    that fails is reported with its measurement (the early agreement) rather than dropped."""
    from easyhard.experiments import cifar_bias as cb

    saved = cb.saved_pairs(cb.cifar_bias_config("ci"))
    if not saved:
        pytest.skip("no saved pair with its control")
    claims = cb.seed_claims(saved.partings(), saved.arrays(), saved.seeds)
    assert len(claims) == 6 * len(saved.seeds)
    assert [c.asserted for c in claims[:6]] == [False, True, True, True, True, True]
    table = cb.claims_table(claims)
    assert table.count("\n") == len(claims) + 1 and "reproduced" in table
    with pytest.raises(ValueError, match="same length"):
        cb.seed_claims(saved.partings(), saved.arrays(), [*saved.seeds, 99])

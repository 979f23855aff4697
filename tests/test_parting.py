"""The control-referenced parting criterion and the Refinetti-style comparison."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from easyhard.plotting import parting as pplot  # noqa: E402
from easyhard.train.evaluation import parting_step  # noqa: E402
from easyhard.train.parting import (  # noqa: E402
    early_agreement,
    excess_gap,
    grows_with_t,
    halfway_step,
    parting,
    parting_spread,
    refinetti,
    seed_average,
    sustained_from,
)

STEPS = np.array([0, 1, 2, 4, 8, 16, 32, 64, 128])
T = np.array([100, 500])
N = 400


def make_run(gain: np.ndarray, shared: np.ndarray, seed: int, floor: float = 0.2) -> dict:
    """A run with per-image losses: the loss falls from 1 towards ``floor``; on real images
    it is lower by ``gain[s, j]`` (higher-order learning); ``shared`` (n_t, N) is an
    evaluation-set effect that both nets see on the same images."""
    rng = np.random.default_rng(seed)
    decay = np.exp(-STEPS / 8.0)[:, None, None]
    base = floor + (1 - floor) * decay + 0.05 * rng.standard_normal((len(STEPS), len(T), N))
    sur = base + 0.02 * rng.standard_normal(base.shape)
    real = base + shared[None] - gain[:, :, None] + 0.02 * rng.standard_normal(base.shape)
    run = {"steps": STEPS, "eval_t": T, "floor": np.full(len(T) + 1, floor),
           "real_per_image": real.astype(np.float32), "surrogate_per_image": sur.astype(np.float32)}
    for key, x in (("real", real), ("surrogate", sur)):
        x = np.concatenate([x, x.mean(1, keepdims=True)], axis=1)
        run[key], run[f"se_{key}"] = x.mean(2), x.std(2, ddof=1) / np.sqrt(N)
    d = np.concatenate([real - sur, (real - sur).mean(1, keepdims=True)], axis=1)
    run["se_diff"] = d.std(2, ddof=1) / np.sqrt(N)
    return run


def unpaired(run: dict) -> dict:
    return {k: v for k, v in run.items() if not k.endswith("per_image")}


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    # An evaluation-set effect: on these images the real loss is lower by ~2.5 paired SE
    # in every net, whatever it has learnt (the systematic gap of the saved laptop runs).
    shared = -0.005 + 0.03 * rng.standard_normal((len(T), N))
    gain = np.zeros((len(STEPS), len(T)))
    gain[STEPS >= 16, 0] = 0.03  # t = 100 parts at step 16
    gain[STEPS >= 64, 1] = 0.03  # t = 500 parts at step 64
    return make_run(gain, shared, 1), make_run(np.zeros_like(gain), shared, 2)


def test_sustained_from():
    above = np.array([False, True, False, True, True, True, True, True, True])
    assert sustained_from(STEPS, above) == 4  # the blip at step 1 does not count
    assert sustained_from(STEPS, np.zeros(9, bool)) is None
    with pytest.raises(ValueError, match="same shape"):
        sustained_from(STEPS, above[:3])


def test_parting_is_referenced_to_the_control(pair):
    real, ctrl = pair
    p = parting(real, ctrl)
    assert p.paired and p.step == (16, 64) and p.grows_with_t()
    assert p.control_step == (None, None) and max(p.control_max_z) < 4
    # The uncontrolled 2-SE criterion fires on the shared evaluation-set effect alone.
    gap_c = ctrl["surrogate"][:, 0] - ctrl["real"][:, 0]
    assert parting_step(STEPS, gap_c, ctrl["se_diff"][:, 0]) is not None
    # Without per-image losses the SE is the conservative sqrt(se_R^2 + se_C^2): still found.
    q = parting(unpaired(real), unpaired(ctrl))
    assert not q.paired and q.step == (16, 64)
    excess, se, paired = excess_gap(real, ctrl)
    _, se_u, _ = excess_gap(unpaired(real), unpaired(ctrl))
    assert paired and excess.shape == se.shape == (len(STEPS), len(T)) and np.all(se < se_u)


def test_agreement_until_halfway_and_drop_share(pair):
    real, ctrl = pair
    p = parting(real, ctrl)
    # Real loss 1 -> 0.2: half-way (0.6) first reached at step 8 (1 - 0.8 (1 - e^-1) = 0.49).
    assert p.halfway_step == (8, 8) == tuple(halfway_step(real, j) for j in range(2))
    assert max(p.agree_max_z) < 4
    assert p.drop_to_floor[0] == pytest.approx(1 - np.exp(-2), abs=0.05)  # at step 16
    assert 0 < p.drop_of_run[1] <= 1
    assert "| 100 | 16 |" in p.table()


def test_null_pair_never_parts():
    rng = np.random.default_rng(5)
    shared = 0.03 * rng.standard_normal((len(T), N))
    zero = np.zeros((len(STEPS), len(T)))
    p = parting(make_run(zero, shared, 3), make_run(zero, shared, 4))
    assert p.step == (None, None) and p.control_step == (None, None)


def test_refinetti_paired_comparison(pair):
    real, ctrl = pair
    c = refinetti(real, ctrl)
    assert c.paired and c.step == (16, 64)
    assert c.diff.shape == c.se.shape == (len(STEPS), len(T))
    u = refinetti(unpaired(real), unpaired(ctrl))
    assert not u.paired and np.all(c.se[1:] < u.se[1:])  # pairing by image removes the image variance


def seed_pairs(trajectory_noise: float, gain: np.ndarray, n_seeds: int = 3) -> list[tuple[dict, dict]]:
    """(real-trained, control) runs of several seeds on the same images: each net's loss is
    shifted by its own trajectory offset (one per step and t, as two training runs differ),
    far larger than the image noise the paired SE counts."""
    rng = np.random.default_rng(7)
    shared = 0.03 * rng.standard_normal((len(T), N))
    pairs = []
    for k in range(n_seeds):
        runs = []
        for g, seed in ((gain, 10 * k + 1), (np.zeros_like(gain), 10 * k + 2)):
            run = make_run(g, shared, seed)
            offset = trajectory_noise * rng.standard_normal((len(STEPS), len(T)))
            offset[0] = 0.0  # the same initial weights
            run["real_per_image"] = run["real_per_image"] + offset[:, :, None].astype(np.float32)
            run["real"] = run["real"] + np.concatenate([offset, offset.mean(1, keepdims=True)], axis=1)
            runs.append(run)
        pairs.append(tuple(runs))
    return pairs


def test_seed_average_references_the_comparison_to_the_seed_spread():
    gain = np.zeros((len(STEPS), len(T)))
    gain[STEPS >= 32, 0] = 0.3  # t = 100: every seed's real-trained net pulls ahead at step 32
    pairs = seed_pairs(0.01, gain)
    comps = [refinetti(r, c) for r, c in pairs]
    avg = seed_average(comps, [r for r, _ in pairs])
    assert avg.n_seeds == 3 and avg.mean.shape == avg.se.shape == (len(STEPS), len(T))
    assert avg.all_seeds_step[0] == 32 and avg.halfway_step[0] is not None
    # the paired SE calls the trajectory offsets disagreements; the seed spread does not
    assert avg.max_paired_z_before[0] > 4 and avg.max_z_before[0] < 3
    assert avg.agrees_then_parts(100) and not avg.agrees_then_parts(500)  # t = 500 never parts
    assert "| 100 | 32 |" in avg.table() and "| 500 | not within the run |" in avg.table()
    early = np.zeros_like(gain)
    early[STEPS >= 1, 0] = 0.3  # ahead from step 1, before the loss is half-way down: no agreement
    pairs = seed_pairs(0.01, early)
    assert not seed_average([refinetti(r, c) for r, c in pairs], [r for r, _ in pairs]).agrees_then_parts(100)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_average(comps[:1], [pairs[0][0]])
    with pytest.raises(ValueError, match="same length"):
        seed_average(comps, [pairs[0][0]])
    with pytest.raises(ValueError, match="t = 250 was not evaluated"):
        avg.agrees_then_parts(250)
    fig, axes = plt.subplots(1, len(T))
    pplot.seed_average(axes, avg)
    assert len(axes[0].lines) == 5  # the seed mean; +z, -z and 0; "every seed ahead from" (t = 100)
    assert len(axes[1].lines) == 4  # t = 500 never parts: no vertical line
    plt.close(fig)


def test_grows_with_t_and_spread(pair):
    assert grows_with_t([10, 10, 50, None, None]) and grows_with_t([None])
    assert not grows_with_t([50, 10]) and not grows_with_t([None, 10])
    p = parting(*pair)
    assert parting_spread([p, p]) == {100: (16, 16), 500: (64, 64)}


def test_bad_input(pair):
    real, ctrl = pair
    with pytest.raises(ValueError, match="share 'steps'"):
        parting(real, {**ctrl, "steps": STEPS + 1})
    with pytest.raises(ValueError, match="weights"):
        parting(real, ctrl, weights="smoothed")
    with pytest.raises(ValueError, match="z must"):
        refinetti(real, ctrl, z=0.0)
    with pytest.raises(ValueError, match="fraction"):
        halfway_step(real, 0, fraction=1.5)


def test_early_agreement_of_one_run(pair):
    real, _ = pair
    a = early_agreement(real)
    assert a.halfway_step == (8, 8) and a.holds(z=4) and "| 100 | 8 |" in a.table()
    late = early_agreement(real, fraction=0.99)  # at t = 100 the real net parts (step 16) first
    assert late.max_z[0] > 4 and not late.holds(z=4)


def test_saved_pairs_and_figures(tmp_path, pair):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from easyhard import results
    from easyhard.plotting import parting as pplot
    from easyhard.train import RESULT_NAME, saved_pairs

    real, ctrl = pair
    for seed in (1, 0):
        for data, arrays in (("real", real), ("surrogate", ctrl)):
            results.save(RESULT_NAME, {"scale": "laptop", "data": data, "seed": seed}, arrays, root=tmp_path)
    results.save(RESULT_NAME, {"scale": "laptop", "data": "real", "seed": 2}, real, root=tmp_path)  # no control
    pairs = saved_pairs({"scale": "laptop", "data": "real", "seed": 0}, root=tmp_path)  # any seed of this config
    assert [(r.config["seed"], c.config["data"]) for r, c in pairs] == [(0, "surrogate"), (1, "surrogate")]
    fig, axes = plt.subplots(2, 2)
    arrays = [(r.arrays, c.arrays) for r, c in pairs]
    pplot.excess(axes[0], arrays)
    pplot.comparison(axes[1], arrays)
    assert len(axes[0][0].lines) == 2 * len(pairs) + 2  # two curves per pair, threshold and zero
    plt.close(fig)

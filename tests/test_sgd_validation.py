"""The reduced engine against the direct one (the chapter "Easy and hard", "An exact reduction").

Two kinds of check. (1) Whole runs over many walkers for the covariance, quartic
and correlated cases: the means and the laws (KS) of the overlaps agree and first-passage
times pass a two-sample KS test. (2) The test with power: small d, a fixed
start, a few large steps and 1e5 repetitions; a KS test on the overlaps
separates the exact reduction (passes) from the mean-norm shortcut (fails).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import run

CASES = {
    # name: model kwargs, lr, tracked spike, threshold
    "covariance": ({"beta_u": 5.0, "beta_v": 0.0}, 0.02, "u", 0.5),
    "quartic": ({"beta_u": 0.0, "beta_v": 5.0}, 1.0 / 16**2, "v", 0.5),
    "correlated": ({"beta_u": 5.0, "beta_v": 5.0, "p_corr": 1.0}, 0.02, "v", 0.3),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_engines_agree_on_whole_runs(case: str) -> None:
    kwargs, lr, spike, eta = CASES[case]
    d, walkers = 16, 400
    model = MixedCumulantModel(d, seed=1, **kwargs)
    steps = 3000 if case != "quartic" else 40_000
    rec = np.array([0, steps // 30, steps // 6, steps])
    common = dict(walkers=walkers, thresholds={spike: eta}, records=rec)
    direct = run(model, steps, lr, engine="direct", backend="numba", seed=11, **common)
    reduced = run(model, steps, lr, engine="reduced", seed=12, **common)
    for name in ("alpha_u", "alpha_v"):
        x = np.abs(getattr(direct, name)[:, 0, 1:])
        y = np.abs(getattr(reduced, name)[:, 0, 1:])
        se = np.sqrt((x.var(0) + y.var(0)) / walkers)
        assert np.all(np.abs(x.mean(0) - y.mean(0)) < 4.5 * se + 1e-12), name
        # the whole law at each record (a std ratio is too noisy for these heavy tails)
        assert min(scipy.stats.ks_2samp(x[:, k], y[:, k]).pvalue for k in range(x.shape[1])) > 1e-4, name
    tx, ty = direct.passage[spike], reduced.passage[spike]
    assert np.mean(np.isfinite(tx)) > 0.5 and np.mean(np.isfinite(ty)) > 0.5
    assert scipy.stats.ks_2samp(tx, ty).pvalue > 1e-3


def test_reduction_is_exact_and_the_test_has_power() -> None:
    """d = 8, start (alpha_u, alpha_v) = (0.3, 0.2), 3 steps of lr = 1, 1e5 repetitions."""
    d, steps, lr, n = 8, 3, 1.0, 100_000
    model = MixedCumulantModel(d, beta_u=5.0, beta_v=5.0, seed=0)
    common = dict(walkers=n, init=(0.3, 0.2), records=np.array([0, steps]))
    direct = run(model, steps, lr, engine="direct", backend="numba", seed=1, **common)

    def pvalues(complement: str) -> tuple[float, float]:
        red = run(model, steps, lr, engine="reduced", seed=2, complement=complement, **common)
        return tuple(
            scipy.stats.ks_2samp(getattr(direct, k)[:, 0, -1], getattr(red, k)[:, 0, -1]).pvalue
            for k in ("alpha_u", "alpha_v")
        )

    assert min(pvalues("exact")) > 1e-3
    assert max(pvalues("mean")) < 1e-6  # the chi-square replaced by its mean: wrong
    assert max(pvalues("drop")) < 1e-6  # the rest of the sample dropped: wrong


def test_two_neurons_numba_and_torch_agree_in_law_and_the_test_has_power() -> None:
    """p = 2 neurons: the numba and torch direct backends draw from different streams, so
    compare the law of the overlaps after a few large steps (KS); a 20% larger step on the
    torch side must be rejected, or the comparison could not tell the backends apart."""
    model = MixedCumulantModel(8, beta_u=5.0, beta_v=5.0, seed=3)
    steps, lr, walkers = 40, 0.1, 6000

    def overlaps(backend: str, step: float, seed: int) -> np.ndarray:
        tr = run(model, steps, step, walkers=walkers, neurons=2, seed=seed, backend=backend,
                 records=np.array([0, steps]), device="cpu")
        return np.concatenate([np.abs(tr.alpha_u[:, :, -1]).max(axis=1), tr.alpha_v[:, 0, -1]])

    reference = overlaps("numba", lr, 11)
    same = scipy.stats.ks_2samp(reference[:walkers], overlaps("torch", lr, 12)[:walkers]).pvalue
    same_v = scipy.stats.ks_2samp(reference[walkers:], overlaps("torch", lr, 12)[walkers:]).pvalue
    wrong = scipy.stats.ks_2samp(reference[:walkers], overlaps("torch", 1.2 * lr, 12)[:walkers]).pvalue
    assert min(same, same_v) > 1e-3, (same, same_v)
    assert wrong < 1e-6, wrong

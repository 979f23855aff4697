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
from easyhard.experiments import easy_hard as eh
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
    steps = 3000 if case != "quartic" else 40_000
    rec = np.array([0, steps // 30, steps // 6, steps])
    out = eh.compare_engines(MixedCumulantModel(16, seed=1, **kwargs), steps, lr, spike, eta, 400, rec,
                             seeds=(11, 12))
    assert out.agrees(passage_p=1e-3, overlap_p=1e-4, z=4.5), out


def test_engine_comparison_has_power() -> None:
    """The first-passage KS test of the comparison rejects a reduced run with half the step (the
    small-step power lives in test_reduction_is_exact_and_the_test_has_power)."""
    kwargs, lr, spike, eta = CASES["covariance"]
    model = MixedCumulantModel(16, seed=1, **kwargs)
    kw = dict(walkers=400, thresholds={spike: eta}, records=2)
    direct = run(model, 3000, lr, engine="direct", backend="numba", seed=11, **kw)
    slower = run(model, 3000, lr / 2, engine="reduced", seed=12, **kw)
    assert scipy.stats.ks_2samp(direct.passage[spike], slower.passage[spike]).pvalue < 1e-6


def test_reduction_is_exact_and_the_test_has_power() -> None:
    """d = 8, start (alpha_u, alpha_v) = (0.3, 0.2), 3 steps of lr = 1, 1e5 repetitions (the chapter's check)."""
    pvalues = eh.ks_validation(eh.EngineCheckConfig.preset("ci"))
    assert min(pvalues["exact"]) > 1e-3
    assert max(pvalues["mean"]) < 1e-6  # the chi-square replaced by its mean: wrong
    assert max(pvalues["drop"]) < 1e-6  # the rest of the sample dropped: wrong


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

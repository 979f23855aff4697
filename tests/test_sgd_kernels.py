"""The compiled primitives of easyhard.sgd against their Python references, the per-walker
streams, and the compiled-code cache."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numba as nb
import numpy as np
import pytest
import scipy.stats

from easyhard.activations import ACTIVATIONS, get_activation
from easyhard.data.latents import LATENTS
from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import run
from easyhard.sgd._kernels import (
    ACTIVATION_CODES,
    Schedule,
    activation_and_slope,
    chi_square,
    chi_square_law,
    draw_latents,
    walker_generator,
)
from easyhard.sgd.direct_numba import _direct_single, _direct_walker
from easyhard.sgd.run import make_problem


@nb.njit
def _latents(rng, n, gaussian, atoms, cdf, cuts, p_corr):  # pragma: no cover - compiled
    out = np.empty((n, 2))
    for i in range(n):
        out[i, 0], out[i, 1] = draw_latents(rng, gaussian, atoms, cdf, cuts, p_corr)
    return out


@nb.njit
def _chi2(rng, n, law):  # pragma: no cover - compiled
    out = np.empty(n)
    for i in range(n):
        out[i] = chi_square(rng, law)
    return out


@nb.njit
def _act(h, code):  # pragma: no cover - compiled
    sig = np.empty(h.size)
    dsig = np.empty(h.size)
    for i in range(h.size):
        sig[i], dsig[i] = activation_and_slope(h[i], code)
    return sig, dsig


def test_activation_table_matches_activation_and_its_slope() -> None:
    assert set(ACTIVATION_CODES) == set(ACTIVATIONS)
    h = np.linspace(-3.0, 3.0, 601) + 1e-3  # off the ReLU kink
    for name, code in ACTIVATION_CODES.items():
        act = get_activation(name)
        sig, dsig = _act(h, code)
        np.testing.assert_allclose(sig, act.numpy(h), atol=1e-14, err_msg=name)
        np.testing.assert_allclose(dsig, act.slope(h), atol=1e-14, err_msg=name)
        fd = (act.numpy(h + 1e-6) - act.numpy(h - 1e-6)) / 2e-6  # and the slope is sigma'
        np.testing.assert_allclose(dsig, fd, atol=1e-7, err_msg=name)


def test_compiled_tanh_is_libm_tanh_to_rounding() -> None:
    """The kernels' tanh from one exp (the reduced step's latency) stays within 3e-16 of
    libm's tanh and its slope within 5e-16 of 1 - tanh^2 (absolute), small and large h."""
    h = np.concatenate([np.geomspace(1e-300, 30.0, 4000), np.linspace(-20.0, 20.0, 40001)])
    h = np.concatenate([h, -h, [0.0, -0.0]])
    sig, dsig = _act(h, ACTIVATION_CODES["tanh"])
    assert np.max(np.abs(sig - np.tanh(h))) <= 3e-16
    assert np.max(np.abs(dsig - (1.0 - np.tanh(h) ** 2))) <= 5e-16
    np.testing.assert_array_equal(_act(-h, ACTIVATION_CODES["tanh"])[0], -sig)  # odd, exactly
    big = np.abs(h) > 1e-15  # below, exp(-2|h|) rounds to 1 and tanh to 0 (error < 1e-15)
    assert np.all(np.sign(sig[big]) == np.sign(h[big]))


@pytest.mark.parametrize("latent", LATENTS)
@pytest.mark.parametrize("p_corr", [0.0, 0.6])
def test_latent_draws_match_the_law_and_the_coupling(latent: str, p_corr: float) -> None:
    model = MixedCumulantModel(8, beta_u=1.0, beta_v=1.0, latent=latent, p_corr=p_corr, seed=0)
    P = make_problem(model, 0.1, "tanh", 0.6, None, 1.0).kernel()
    n = 200_000
    x = _latents(np.random.default_rng(1), n, P.gaussian, P.atoms, P.cdf, P.cuts, P.p_corr)
    lam, nu = x[:, 0], x[:, 1]
    for k in (1, 2, 3, 4):
        # the sample moment's standard error from the law's own moments
        se = math.sqrt(max(model.law.moment(2 * k) - model.law.moment(k) ** 2, 1e-12) / n)
        assert abs(np.mean(nu**k) - model.law.moment(k)) < 5 * se + 1e-12, (k, latent)
    assert abs(lam.mean()) < 5 / math.sqrt(n) and abs(lam.var() - 1) < 5 * math.sqrt(2 / n)
    # E[lam nu] = p_corr E[lam Q(Phi(lam))]: the coupling, and only with p_corr > 0
    se = math.sqrt(np.var(lam * nu) / n)
    assert abs(np.mean(lam * nu) - model.e_lam_nu) < 5 * se


@pytest.mark.parametrize("df", [1, 2, 5, 61, 1021])
def test_chi_square_draw_is_chi_square(df: int) -> None:
    x = _chi2(np.random.default_rng(df), 100_000, chi_square_law(df))
    assert scipy.stats.kstest(x, scipy.stats.chi2(df).cdf).pvalue > 1e-3
    # power: a chi-square with one more degree of freedom is rejected
    assert scipy.stats.kstest(x, scipy.stats.chi2(df + 1).cdf).pvalue < 1e-6 or df > 100


def test_chi_square_law_refuses_zero_df() -> None:
    with pytest.raises(ValueError, match="df"):
        chi_square_law(0)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_multi_neuron_kernel_equals_one_neuron_kernel_at_p1(activation: str) -> None:
    """Same stream, same process: ``_direct_walker`` with p = 1 equals ``_direct_single``."""
    model = MixedCumulantModel(16, beta_u=3.0, beta_v=5.0, p_corr=0.5, seed=2)
    P = make_problem(model, 0.05, activation, 0.6, None, 1.0).kernel()
    u, v = model.u.double().numpy(), model.v.double().numpy()
    S = Schedule(np.array([0, 10, 300], dtype=np.int64), np.array([0.4, np.nan]), False)
    w0 = walker_generator(0, 0).standard_normal(16)
    w0 /= np.linalg.norm(w0)
    outs = []
    for kernel, W in ((_direct_walker, w0[None].copy()), (_direct_single, w0.copy())):
        shape = (1, 3) if W.ndim == 2 else (3,)
        o = [np.full(shape, np.nan), np.full(shape, np.nan), np.full(3, np.nan), np.full(2, np.nan),
             np.empty_like(W)]
        kernel(walker_generator(7, 0), W, u, v, P, S, *o)
        outs.append([np.reshape(x, -1) for x in o])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("engine", ["reduced", "direct", "effective"])
def test_walker_streams_do_not_depend_on_count_chunks_or_threads(engine: str) -> None:
    """Defect 14: walker i is fixed by (seed, i): beyond 64 walkers, across threads and offsets, and
    with stop_at_passage (a stopped walker never shifts its neighbours' streams)."""
    model = MixedCumulantModel(12, beta_u=5.0, beta_v=0.0, seed=4)
    kw = dict(engine=engine, backend="numba", seed=9, records=4, thresholds={"u": 0.4},
              stop_at_passage=True)
    big = run(model, 300, 0.05, walkers=130, threads=1, **kw)
    threaded = run(model, 300, 0.05, walkers=130, threads=2, **kw)
    small = run(model, 300, 0.05, walkers=3, threads=1, **kw)
    tail = run(model, 300, 0.05, walkers=5, first_walker=125, threads=2, **kw)
    for name in ("alpha_u", "alpha_v", "loss"):
        np.testing.assert_array_equal(getattr(big, name), getattr(threaded, name))
        np.testing.assert_array_equal(getattr(big, name)[:3], getattr(small, name))
        np.testing.assert_array_equal(getattr(big, name)[125:], getattr(tail, name))
    np.testing.assert_array_equal(big.passage["u"][125:], tail.passage["u"])
    assert np.isfinite(big.passage["u"]).any()


def test_custom_activation_is_refused_not_matched_by_name() -> None:
    """Defect 12: an Activation named "tanh" with another function ran the built-in tanh."""
    from easyhard.activations import Activation

    fake = Activation("tanh", lambda h: 0 * h, lambda h: 0 * h, odd=True)
    model = MixedCumulantModel(8, seed=0)
    with pytest.raises(ValueError, match="custom Activation"):
        run(model, 10, 0.01, activation=fake)
    run(model, 10, 0.01, activation=get_activation("tanh"), walkers=1)


def test_compiled_cache_follows_edits_to_inlined_helpers(tmp_path: Path) -> None:
    """A kernel cached on disk is recompiled when a helper it inlines (another file) changes
    (reliability review, defect 1: stale numba kernels after a code change)."""
    pkg = tmp_path / "kpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text(textwrap.dedent("""
        import numba as nb
        @nb.njit(cache=True, inline="always")
        def value():
            return 1.0
    """))
    (pkg / "kernel.py").write_text(textwrap.dedent("""
        import importlib.util, os
        from pathlib import Path
        # easyhard.sgd._kernels alone (it imports nothing from easyhard; skips torch)
        spec = importlib.util.spec_from_file_location("_kernels", os.environ["KERNELS"])
        kernels = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(kernels)
        kernels.key_cache_by_sources(Path(__file__).parent)
        import numba as nb
        from kpkg.helper import value
        @nb.njit(cache=True)
        def kernel():
            return value()
    """))
    script = "from kpkg.kernel import kernel; print(kernel(), sum(kernel.stats.cache_hits.values()))"
    env = {"PYTHONPATH": str(tmp_path),
           "KERNELS": str(Path(__file__).parents[1] / "lib" / "easyhard" / "sgd" / "_kernels.py")}

    def once() -> str:
        res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env=env, timeout=300, check=True)
        return res.stdout.split()

    assert once() == ["1.0", "0"]
    assert once() == ["1.0", "1"]  # from the cache
    (pkg / "helper.py").write_text((pkg / "helper.py").read_text().replace("1.0", "2.0"))
    assert once()[0] == "2.0"  # not the stale machine code


@pytest.mark.parametrize("engine", ["reduced", "direct"])
def test_ctrl_c_stops_a_long_compiled_run(engine: str) -> None:
    """Reliability defect 5: SIGINT (Jupyter's interrupt) stops a run of 10^12 steps within
    seconds with KeyboardInterrupt, instead of being ignored until the compiled loop ends."""
    import os
    import signal
    import time

    script = textwrap.dedent(f"""
        from easyhard.data.mcm import MixedCumulantModel
        from easyhard.sgd import run
        model = MixedCumulantModel(16, seed=0)
        run(model, 10, 0.01, walkers=1, engine={engine!r}, backend="numba")  # compile
        print("ready", flush=True)
        run(model, 10**12, 1e-4, walkers=2, engine={engine!r}, backend="numba", records=2)
        print("finished", flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "lib")}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert "KeyboardInterrupt" in err and "finished" not in out

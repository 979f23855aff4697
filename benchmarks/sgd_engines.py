"""Cost of the online-SGD engines, as ratios measured in one run.

    python benchmarks/sgd_engines.py [--quick]

Prints, from one run on this machine:

1. ns per walker-step of the compiled direct engine, the torch direct engine (CUDA when
   present) and the reduced engine for d in {64, 256, 1024, 4096}, the random-number
   floor of a direct step (a compiled loop drawing its 2d + 2 normals) and the ratios
   direct / floor and direct / reduced;
2. the reduced engine against today's baseline kernel (``baseline_reduced.py``: the
   Bartlett complement of two chi-squares and a normal), the chi-square draws
   (hand-written Marsaglia-Tsang against numba's ``rng.chisquare``) and the random-number
   floor of a reduced step (a compiled loop drawing only its random numbers), which
   bounds the ratio any kernel with the same random numbers can reach;
3. walker chunks of the reduced and the effective engine on 1 and 2 threads (wall time) and
   a sweep on 1 and 2 joblib processes.

Single-thread costs are CPU time of this process (``time.process_time``), the best of
three, so that other jobs on a shared machine inflate them less; the thread and process
rows are wall-clock times, which a busy machine does inflate.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import numba as nb
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import baseline_reduced  # noqa: E402

from easyhard.config import device  # noqa: E402
from easyhard.data.mcm import MixedCumulantModel  # noqa: E402
from easyhard.experiments.easy_hard import ns_per_walker_step  # noqa: E402
from easyhard.sgd import run, sample_complexity  # noqa: E402
from easyhard.sgd._kernels import chi_square, chi_square_law, latent_draws  # noqa: E402


@nb.njit
def _draw(rng: np.random.Generator, n: int, steps: int) -> float:  # pragma: no cover
    buf = np.empty(n)
    for _ in range(steps):
        for i in range(n):
            buf[i] = rng.standard_normal()
    return buf[0]


@nb.njit
def _mt(rng, n, law):  # pragma: no cover - compiled
    s = 0.0
    for _ in range(n):
        s += chi_square(rng, law)
    return s


@nb.njit
def _reduced_draws(rng, n, law):  # pragma: no cover - compiled
    """The random numbers of n reduced steps (Rademacher latent pair, six normals, one chi-square)."""
    s = 0.0
    for _ in range(n):
        lam, _, x = latent_draws(rng, False, 0.0)
        s += lam + x + chi_square(rng, law)
        for _ in range(6):
            s += rng.standard_normal()
    return s


@nb.njit
def _numba_chi2(rng, n, df):  # pragma: no cover - compiled
    s = 0.0
    for _ in range(n):
        s += rng.chisquare(df)
    return s


def best_cpu(fn, reps: int = 3) -> float:
    """Least CPU seconds of ``reps`` calls of ``fn()``."""
    best = math.inf
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def floor_ns(d: int, steps: int) -> float:
    """ns per step to draw 2d + 2 standard normals in a compiled loop."""
    rng = np.random.default_rng(0)
    _draw(rng, 4, 1)
    return best_cpu(lambda: _draw(rng, 2 * d + 2, steps)) / steps * 1e9


def engine_ns(model: MixedCumulantModel, engine: str, backend: str, walkers: int, steps: int) -> float:
    """ns per walker-step of one engine on one thread (after a warm-up run that compiles)."""
    return ns_per_walker_step(model, engine, walkers, steps, backend=backend)


def wall(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (noisier numbers)")
    args = parser.parse_args()
    work = 2e6 if args.quick else 1e7  # direct walker-steps x d per measurement
    dev = device()
    torch.set_num_threads(1)  # the torch column on one thread, like the numba ones
    print(f"machine: {os.cpu_count()} cpus; torch device: {dev}; load average {os.getloadavg()[0]:.1f}")

    print("\n1. engines, ns per walker-step (16 walkers, quartic spike, lr = 0.1/d^2)")
    header = (f"{'d':>5} {'floor':>8} {'direct':>9} {'x floor':>7} {'torch':>9} {'reduced':>8} "
              f"{'direct/reduced':>14}")
    print(header + "\n" + "-" * len(header))
    walkers = 16
    for d in (64, 256, 1024, 4096):
        model = MixedCumulantModel(d, beta_u=0.0, beta_v=5.0, seed=0)
        steps = max(4, int(work / d / walkers))
        fl = floor_ns(d, max(10, int(work / d)))
        direct = engine_ns(model, "direct", "numba", walkers, steps)
        tsteps = max(4, min(steps, 2000 if dev.type == "cuda" else 100))
        tdirect = engine_ns(model, "direct", "torch", walkers, tsteps)
        reduced = engine_ns(model, "reduced", "numba", walkers, max(1000, int(work / 4 / walkers)))
        print(f"{d:>5} {fl:>8.0f} {direct:>9.0f} {direct / fl:>7.2f} {tdirect:>9.0f} {reduced:>8.0f} "
              f"{direct / reduced:>14.0f}", flush=True)

    print("\n2. the reduced step against the baseline kernel (one walker, d = 64)")
    d, n = 64, int(work / 4)
    model = MixedCumulantModel(d, beta_u=0.0, beta_v=5.0, seed=0)
    baseline_reduced.ns_per_step(d, 100)
    engine_ns(model, "reduced", "numba", 1, 1000)
    # alternate the two kernels, so that a change of load hits both; the ratio of each pair
    pairs = [(baseline_reduced.ns_per_step(d, n, seed=k), engine_ns(model, "reduced", "numba", 1, n))
             for k in range(7)]
    ratios = sorted(old / new for old, new in pairs)
    old, new = np.median([p[0] for p in pairs]), np.median([p[1] for p in pairs])
    print(f"   baseline {old:.0f} ns, now {new:.0f} ns (medians of 7 alternations): "
          f"{ratios[3]:.2f}x fewer ns per step (median pair; range {ratios[0]:.2f} to {ratios[-1]:.2f})")
    rng = np.random.default_rng(0)
    law = chi_square_law(d - 3)
    _mt(rng, 10, law)
    _numba_chi2(rng, 10, float(d - 3))
    m = 2_000_000
    mt = best_cpu(lambda: _mt(rng, m, law)) / m * 1e9
    nbc = best_cpu(lambda: _numba_chi2(rng, m, float(d - 3))) / m * 1e9
    print(f"   chi2({d - 3}) draw: Marsaglia-Tsang {mt:.1f} ns, numba rng.chisquare {nbc:.1f} ns")
    _reduced_draws(rng, 10, law)
    draws = best_cpu(lambda: _reduced_draws(rng, m, law)) / m * 1e9
    print(f"   the random numbers of one reduced step alone: {draws:.0f} ns, so the step's arithmetic "
          f"costs about {new - draws:.0f} ns; with the same random numbers no kernel can beat "
          f"{old / draws:.2f}x against this baseline")

    print("\n3. parallel (wall clock)")
    walkers, steps = 64, 300_000 if args.quick else 1_000_000  # seconds of work per run
    kw = dict(walkers=walkers, engine="reduced", records=2)
    run(model, 2, 1e-4, **kw)
    t1 = min(wall(lambda: run(model, steps, 0.1 / d**2, threads=1, **kw)) for _ in range(2))
    t2 = min(wall(lambda: run(model, steps, 0.1 / d**2, threads=2, **kw)) for _ in range(2))
    print(f"   reduced engine, 64 walkers: 1 thread {t1:.2f} s, 2 threads {t2:.2f} s: {t1 / t2:.2f}x")
    eff = MixedCumulantModel(256, beta_u=0.0, beta_v=5.0, seed=0)
    ekw = dict(walkers=1024, engine="effective", records=2)
    esteps = 10**9 if args.quick else 10**10  # SDE steps adapt: the cost is per walker, not per SGD step
    run(eff, 10**6, 0.1 / 256**2, **ekw)
    e1 = min(wall(lambda: run(eff, esteps, 0.1 / 256**2, threads=1, **ekw)) for _ in range(2))
    e2 = min(wall(lambda: run(eff, esteps, 0.1 / 256**2, threads=2, **ekw)) for _ in range(2))
    print(f"   effective engine, 1024 walkers, d = 256: 1 thread {e1:.2f} s, 2 threads {e2:.2f} s: "
          f"{e1 / e2:.2f}x")
    sweep = dict(dims=[64, 96, 128, 192], beta_u=5.0, spike="u", walkers=2048 if args.quick else 16384,
                 chunk=512 if args.quick else 2048, budget=5.0, seed=1, progress=False)
    warm = {**sweep, "dims": [16], "walkers": 4, "chunk": 2}
    sample_complexity(**warm, n_jobs=1)
    sample_complexity(**warm, n_jobs=2)  # starts joblib's two worker processes (reused below)
    s1 = wall(lambda: sample_complexity(**sweep, n_jobs=1))
    s2 = wall(lambda: sample_complexity(**sweep, n_jobs=2))
    print(f"   sweep of {4 * sweep['walkers'] // sweep['chunk']} (d, chunk) tasks: 1 process {s1:.1f} s, 2 processes {s2:.1f} s: {s1 / s2:.2f}x")


if __name__ == "__main__":
    main()

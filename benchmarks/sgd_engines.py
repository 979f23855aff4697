"""Cost of the online-SGD engines per walker-step, next to the random-number floor.

    python benchmarks/sgd_engines.py [--quick]

For d in {64, 256, 1024, 4096} and walkers in {1, 16, 256} it prints ns per
walker-step of the compiled direct engine, the torch direct engine (CUDA when
present) and the reduced engine, and the floor measured in the same run: the
time a compiled loop takes to draw the 2d + 2 normals one direct step needs.
Each time is the best of three repetitions (the machine may be shared).
"""

from __future__ import annotations

import argparse
import time

import numba as nb
import numpy as np

from easyhard.config import device
from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import run


@nb.njit(cache=True)
def _draw(rng: np.random.Generator, n: int, steps: int) -> float:
    buf = np.empty(n)
    for _ in range(steps):
        for i in range(n):
            buf[i] = rng.standard_normal()
    return buf[0]


def floor_ns(d: int, steps: int) -> float:
    """ns per step to draw 2d + 2 standard normals in a compiled loop (best of 3)."""
    rng = np.random.default_rng(0)
    _draw(rng, 4, 1)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        _draw(rng, 2 * d + 2, steps)
        best = min(best, time.perf_counter() - t0)
    return best / steps * 1e9


def engine_ns(model: MixedCumulantModel, engine: str, backend: str, walkers: int, steps: int) -> float:
    """ns per walker-step of one engine (best of 3, after a warm-up run that compiles)."""
    kw = dict(walkers=walkers, engine=engine, backend=backend, records=2)
    run(model, 2, 1e-4, **kw)
    best = np.inf
    for rep in range(3):
        r = run(model, steps, 0.1 / model.d**2, seed=rep, **kw)
        best = min(best, r.wall_time)
    return best / (steps * walkers) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps (noisier numbers)")
    args = parser.parse_args()
    work = 2e6 if args.quick else 1e7  # direct walker-steps x d per measurement
    dev = device()
    print(f"torch device: {dev}")
    header = f"{'d':>5} {'walkers':>7} {'floor':>9} {'numba':>9} {'x floor':>7} {'torch':>9} {'reduced':>8} {'numba/red':>9}"
    print(header + "\n" + "-" * len(header))
    for d in (64, 256, 1024, 4096):
        model = MixedCumulantModel(d, beta_u=0.0, beta_v=5.0, seed=0)
        fl = floor_ns(d, max(10, int(work / d)))
        for walkers in (1, 16, 256):
            steps = max(4, int(work / d / walkers))
            direct = engine_ns(model, "direct", "numba", walkers, steps)
            torch_steps = max(4, min(steps, 2000)) if dev.type == "cuda" else max(4, min(steps, 200))
            tdirect = engine_ns(model, "direct", "torch", walkers, torch_steps)
            reduced = engine_ns(model, "reduced", "numba", walkers, max(1000, int(work / 16 / walkers)))
            print(f"{d:>5} {walkers:>7} {fl:>9.0f} {direct:>9.0f} {direct / fl:>7.2f} "
                  f"{tdirect:>9.0f} {reduced:>8.0f} {direct / reduced:>9.0f}", flush=True)
    print("ns per walker-step; floor: drawing 2d+2 normals per step in a compiled loop")


if __name__ == "__main__":
    main()

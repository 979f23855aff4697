"""SGD steps per second of the effective engine against the exact reduced engine, quartic escape.

    python benchmarks/sgd_effective.py [--walkers 32]

For d in {64, 256, 1024, 4096} (quartic spike, beta_v = 5, tanh at a = 0.6,
lr = 0.1 / d^2, uniform start, threshold |alpha_v| = 0.5) it prints:
the reduced engine's SGD steps per second (a fixed run of 10^6 steps per
walker; its cost per step does not depend on d), the effective engine's SGD steps
per second over whole escapes (first-passage steps summed over walkers, divided
by the wall time), their ratio, the effective engine's integration steps per
walker and its microseconds per integration step. Each time is the best of two
repetitions (the machine may be shared); the compile run is not timed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd import run

DIMS = (64, 256, 1024, 4096)


def reduced_rate(model: MixedCumulantModel, lr: float, steps: int = 1_000_000, walkers: int = 2) -> float:
    """SGD steps per second of the reduced engine (best of 2)."""
    run(model, 10, lr, walkers=1, engine="reduced", records=2)
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        run(model, steps, lr, walkers=walkers, engine="reduced", records=2)
        best = min(best, time.perf_counter() - t0)
    return steps * walkers / best


def effective_rate(model: MixedCumulantModel, lr: float, walkers: int) -> tuple[float, float, float]:
    """(SGD steps per second over whole escapes, integration steps per walker, us per integration step)."""
    d = model.d
    steps = int(2000 * d**3)
    kw = dict(walkers=walkers, engine="effective", seed=1, thresholds={"v": 0.5}, stop_at_passage=True, records=2)
    run(model, steps, lr, **{**kw, "walkers": 1})
    best, traj = np.inf, None
    for _ in range(2):
        t0 = time.perf_counter()
        traj = run(model, steps, lr, **kw)
        best = min(best, time.perf_counter() - t0)
    passage = traj.passage["v"]
    covered = np.where(np.isfinite(passage), passage, steps).sum()
    sde = traj.config["sde_steps"]
    return covered / best, float(sde.mean()), best / sde.sum() * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", type=int, default=32)
    args = parser.parse_args()
    print("| d | reduced SGD steps/s | effective SGD steps/s | ratio | SDE steps/walker | us/SDE step |")
    print("|---|---|---|---|---|---|")
    for d in DIMS:
        model = MixedCumulantModel(d, beta_u=0.0, beta_v=5.0, seed=d)
        lr = 0.1 / d**2
        red = reduced_rate(model, lr)
        eff, per_walker, us = effective_rate(model, lr, args.walkers)
        print(f"| {d} | {red:.3g} | {eff:.3g} | {eff / red:.3g} | {per_walker:.0f} | {us:.2f} |", flush=True)


if __name__ == "__main__":
    main()

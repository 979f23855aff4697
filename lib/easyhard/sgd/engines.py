"""``run``: one interface to the direct and the reduced online-SGD engines (science.md 5)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from easyhard.activations import Activation
from easyhard.config import check_seed, device
from easyhard.data.mcm import MixedCumulantModel
from easyhard.sgd._common import (
    BACKENDS,
    ENGINES,
    SPIKES,
    Trajectories,
    check_init,
    check_int,
    check_thresholds,
    make_problem,
    record_steps,
)
from easyhard.sgd.direct import run_numba, run_torch
from easyhard.sgd.reduced import COMPLEMENTS, run_reduced


def run(
    model: MixedCumulantModel,
    steps: int,
    lr: float,
    activation: str | Activation = "tanh",
    a: float = 0.6,
    walkers: int = 16,
    engine: str = "direct",
    seed: int = 0,
    *,
    neurons: int = 1,
    c: float | None = None,
    A: float = 1.0,
    thresholds: Mapping[str, float] | None = None,
    stop_at_passage: bool = False,
    records: int | np.ndarray = 64,
    init: tuple[float, float] | None = None,
    backend: str = "auto",
    progress: bool = False,
    complement: str = "exact",
    **effective: Any,
) -> Trajectories:
    """Projected online SGD of the tied neuron denoiser on fresh MCM samples.

    ``lr`` is the per-step factor (``delta / d`` of science.md 5); ``c`` the skip
    coefficient (default ``a``), ``A`` the amplitude. ``engine="direct"``
    simulates the d-dimensional process (``backend``: ``"numba"``, ``"torch"``
    or ``"auto"`` = torch on CUDA when present, else numba); ``"reduced"``
    simulates the same process exactly through ``(alpha_u, alpha_v)``
    (:mod:`easyhard.sgd.reduced`; one neuron). ``thresholds`` such as
    ``{"u": 0.5}`` record first-passage steps of ``max_j |alpha_u|``;
    ``stop_at_passage`` stops a walker once every tracked spike passed.
    ``records``: number of log-spaced record steps, or the steps themselves
    (sorted, starting at 0). ``init``: a fixed start ``(alpha_u, alpha_v)``
    instead of the uniform one. ``complement`` (reduced engine only) selects
    the negative controls of the validation; keep ``"exact"``.
    ``engine="effective"``: the diffusion limit of the reduced chain
    (:mod:`easyhard.sgd.effective`; one neuron); ``**effective`` are its options.
    Walker i draws from generator i spawned from ``seed``, so the same seed
    gives the same numbers per engine and backend.
    """
    # --- hook: the effective engine (its own module, its own checks) ---
    if engine == "effective":
        from easyhard.sgd.effective import run_effective

        return run_effective(model, steps, lr, activation, a, walkers, seed, neurons=neurons, c=c, A=A,
                             thresholds=thresholds, stop_at_passage=stop_at_passage, records=records,
                             init=init, progress=progress, **effective)
    if effective:
        raise TypeError(f"options {sorted(effective)} apply to engine='effective' only")
    # --- end of hook ---
    steps = check_int("steps", steps, 1)
    walkers = check_int("walkers", walkers, 1)
    neurons = check_int("neurons", neurons, 1)
    seed = check_seed(seed)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if complement not in COMPLEMENTS:
        raise ValueError(f"complement must be one of {tuple(COMPLEMENTS)}, got {complement!r}")
    if complement != "exact" and engine != "reduced":
        raise ValueError("complement applies to engine='reduced' only")
    if engine == "reduced" and neurons != 1:
        raise ValueError(f"engine='reduced' simulates one neuron (neurons=1), got neurons={neurons}")
    prob = make_problem(model, lr, activation, a, c, A)
    eta = check_thresholds(dict(thresholds) if thresholds else None)
    start = check_init(init)
    if isinstance(records, (int, np.integer)):
        rec = record_steps(steps, int(records))
    else:
        rec = np.asarray(records, dtype=np.int64)
        if rec.ndim != 1 or rec[0] != 0 or np.any(np.diff(rec) <= 0) or rec[-1] != steps:
            raise ValueError("records must be increasing steps from 0 to steps")
    t0 = time.perf_counter()
    if engine == "reduced":
        out = (*run_reduced(prob, walkers, rec, eta, stop_at_passage, seed, start, progress, complement), None)
        used = "numba"
    else:
        dev = device()
        used = backend if backend != "auto" else ("torch" if dev.type == "cuda" else "numba")
        u = model.u.detach().cpu().double().numpy()
        v = model.v.detach().cpu().double().numpy()
        if used == "numba":
            out = run_numba(prob, u, v, neurons, walkers, rec, eta, stop_at_passage, seed, start, progress)
        else:
            dev = dev if dev.type == "cuda" else torch.device("cpu")
            out = run_torch(
                prob, model.law, u, v, neurons, walkers, rec, eta, stop_at_passage, seed, start,
                progress, dev,
            )
    wall = time.perf_counter() - t0
    alpha_u, alpha_v, loss, passage, weights = out
    tracked = {k: np.where(np.isnan(passage[:, i]), np.inf, passage[:, i])
               for i, k in enumerate(SPIKES) if not np.isnan(eta[i])}
    config = {
        "engine": engine, "backend": used, "d": prob.d, "steps": steps, "lr": prob.lr,
        "activation": prob.activation, "a": prob.a, "c": prob.c, "A": prob.amp, "walkers": walkers,
        "neurons": neurons, "seed": seed, "beta_u": prob.beta_u, "beta_v": prob.beta_v,
        "latent": model.latent, "p_corr": prob.p_corr, "rho": model.rho,
        "thresholds": {k: float(eta[SPIKES.index(k)]) for k in tracked},
        "init": None if start is None else start.tolist(), "complement": complement,
    }
    return Trajectories(rec, alpha_u, alpha_v, loss, tracked, config, wall, weights)

"""The sample-complexity experiments of the chapter "Easy and hard".

Per scale, and the long saved sweeps.

``python -c "from easyhard.sgd.experiments import scaling; scaling('quartic', 'laptop')"``
runs one case at one scale, caching each d under ``.cache/sgd_sweeps`` (a cut-off
run resumes) and saving the whole sweep with :mod:`easyhard.results` as
``sgd_scaling_<case>``.

``python -m easyhard.sgd.experiments quartic_exact`` runs (or resumes) a long sweep of
:data:`LONG_SWEEPS`, checkpointed per (d, walker chunk) under ``data/checkpoints/<name>``
(committed, so a cut-off run resumes exactly on any machine), and saves the finished
dimensions as ``sgd_sweep_<name>`` in ``data/results`` after each d.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from easyhard import results
from easyhard.config import check_scale, preset
from easyhard.config import scale as current_scale
from easyhard.sgd.sweep import STREAMS, SampleComplexity, sample_complexity, saved_sweep

#: the physics of each case (the chapter's three cases): tanh neuron, a = 0.6, Rademacher latents
CASES: dict[str, dict[str, Any]] = {
    "covariance": {"beta_u": 5.0, "beta_v": 0.0, "spike": "u", "eta": 0.5, "step_rule": "log", "step_scale": 1.0},
    "quartic": {"beta_u": 0.0, "beta_v": 5.0, "spike": "v", "eta": 0.5, "step_rule": "inverse_d", "step_scale": 0.1},
    "correlated": {"beta_u": 5.0, "beta_v": 5.0, "p_corr": 1.0, "spike": "v", "eta": 0.3, "step_rule": "log", "step_scale": 1.0},
}

#: sizes per scale: dims, walkers, start, budget (multiples of the flow's escape time)
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "covariance": {
        "ci": {"dims": [32, 64, 128, 256, 512], "walkers": 32},
        "laptop": {"dims": [64, 128, 256, 512, 1024, 2048, 4096], "walkers": 64},
        "paper": {"dims": [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384], "walkers": 128},
    },
    "correlated": {
        "ci": {"dims": [32, 64, 128, 256, 512], "walkers": 32},
        "laptop": {"dims": [64, 128, 256, 512, 1024, 2048, 4096], "walkers": 64},
        "paper": {"dims": [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384], "walkers": 128},
    },
    "quartic": {
        "ci": {"dims": [12, 16, 24, 32], "walkers": 32, "start": "median", "budget": 10.0},
        "laptop": {"dims": [16, 24, 32, 48, 64, 96], "walkers": 32, "start": "median", "budget": 10.0},
        "paper": {"dims": [32, 64, 128, 256, 512], "walkers": 16, "start": "median", "budget": 10.0},
    },
}


def scaling_config(case: str, scale: str | None = None) -> dict[str, Any]:
    """The full keyword set of :func:`sample_complexity` for ``case`` at ``scale``."""
    if case not in CASES:
        raise ValueError(f"case must be one of {tuple(CASES)}, got {case!r}")
    sizes = preset(SIZES[case], scale)
    return {"engine": "reduced", "seed": 0, **CASES[case], **sizes}


def scaling(case: str, scale: str | None = None, *, compute: bool = True,
            progress: bool = True) -> SampleComplexity | None:
    """The saved sweep of ``case`` at ``scale``.

    Computed (and saved) if missing and
    ``compute``; None if missing and not ``compute``.
    """
    scale_name = check_scale(scale) if scale is not None else None
    cfg = scaling_config(case, scale_name)
    return saved_sweep(f"sgd_scaling_{case}", cfg, scale=scale_name or current_scale(),
                       compute=compute, progress=progress)


#: long sweeps saved in data/results (seeds differ from the ``scaling`` presets)
LONG_SWEEPS: dict[str, dict[str, Any]] = {
    "quartic_exact": {
        **CASES["quartic"], "engine": "reduced", "seed": 2026, "start": "uniform", "budget": 10.0,
        "dims": [16, 24, 32, 48, 64, 96, 128, 192], "walkers": 64, "chunk": 8,
    },
}


def checkpoint_dir(name: str) -> Path:
    """``data/checkpoints/<name>`` beside the results folder."""
    return results.results_dir().parent / "checkpoints" / name


def long_sweep(name: str, *, compute: bool = False, n_jobs: int | None = None,
               progress: bool = True) -> SampleComplexity | None:
    """The saved long sweep ``name`` (the dimensions finished so far, see ``dims``), or None.

    With ``compute``, runs the missing (d, walker-chunk) tasks, smallest d first, and
    saves after each d, so an interrupted run keeps every finished d and resumes the
    rest from the checkpoints. The saved sweep's wall time is the computing seconds
    summed over its checkpointed tasks (each on one core, whichever process and session
    ran it), and its sidecar lists the commits those tasks ran at (``task_commits``).
    """
    if name not in LONG_SWEEPS:
        raise ValueError(f"name must be one of {tuple(LONG_SWEEPS)}, got {name!r}")
    cfg = LONG_SWEEPS[name]
    key = f"sgd_sweep_{name}"
    if compute:
        results.check_writable()
        started = results.git_state()
        dims = sorted(cfg["dims"])
        for k in range(1, len(dims) + 1):
            sweep = sample_complexity(**{**cfg, "dims": dims[:k]}, checkpoint=checkpoint_dir(name),
                                      n_jobs=n_jobs, progress=progress)
            seconds, commits = _task_provenance(name, dims[:k])
            results.save(key, cfg, sweep.arrays(), wall_time=seconds, scale="long", device="cpu",
                         git={**started, "task_commits": commits})
    hit = results.load(key, cfg)
    return None if hit is None else SampleComplexity.from_result(hit)


def _task_provenance(name: str, dims: list[int]) -> tuple[float, list[str]]:
    """Seconds summed over the checkpointed tasks of ``dims`` in the current streams, and their commits."""
    cfg = LONG_SWEEPS[name]
    tasks = [r for r in results.find("sgd_passage", checkpoint_dir(name))
             if r.config.get("d") in dims and r.config.get("streams") == STREAMS
             and r.config.get("seed") == cfg["seed"] and r.config.get("walkers") == cfg["walkers"]]
    seconds = sum(float(r.meta.get("wall_time_s") or 0.0) for r in tasks)
    return seconds, sorted({str(r.meta.get("git_commit", "unknown"))[:12] for r in tasks})


def main() -> None:
    """Run or resume one long sweep of :data:`LONG_SWEEPS` (the command line)."""
    parser = argparse.ArgumentParser(description="Run or resume a long saved SGD sweep.")
    parser.add_argument("name", choices=sorted(LONG_SWEEPS))
    parser.add_argument("--n-jobs", type=int, default=None, help="joblib workers (default 1)")
    args = parser.parse_args()
    long_sweep(args.name, compute=True, n_jobs=args.n_jobs)


if __name__ == "__main__":
    main()

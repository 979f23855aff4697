"""Sample complexity: first-passage steps over a sweep of d, a log-log fit, the theory beside it.

Step sizes (see the chapter "Easy and hard", section "Step sizes"), ``lr = delta / d`` per step:
``"log"``: delta = scale / ln d (covariance spike, k = 2);
``"inverse_d"``: delta = scale / d (quartic spike, k = 4, scale ~ 0.1);
``"constant"``: delta = scale.

Parallel work. A sweep is a list of (d, walker-chunk) tasks, mapped through
:class:`joblib.Parallel`: serial by default, local processes with ``n_jobs``,
and a Dask cluster inside ``joblib.parallel_config(backend="dask")`` (with a
``dask.distributed.Client`` connected). Walker i at dimension d draws from the
stream of ``(sweep_seed(seed, d), i)`` whatever the chunking, so every mode
gives the same numbers, and a checkpoint folder caches each task's result, so
a cut-off sweep resumes where it stopped.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from easyhard import results
from easyhard._validation import MAX_ELEMENTS, check_choice, check_int, check_scalar, check_seed
from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import NeuronSpec
from easyhard.sgd._kernels import walker_chunks
from easyhard.sgd.run import ENGINES, run
from easyhard.theory import flow

#: The version of the engines' numbers, part of every checkpoint key. Checkpoints
#: of a sweep are keyed by it, not by a fingerprint of the source code, so that an
#: edit that leaves the numbers alone (a docstring, an argument check, a refactor)
#: keeps hours of checkpointed work. Bump it whenever a change alters the
#: first-passage steps of a fixed task: the test of the pinned passages
#: (``tests/test_sgd_pinned.py``) fails until you do, and re-pins them.
STREAMS = 2
#: no walker gets fewer than this many steps
MIN_STEPS = 1000
STEP_RULES: tuple[str, ...] = ("log", "inverse_d", "constant")
STARTS: tuple[str, ...] = ("uniform", "median")


def step_size(d: int, rule: str, scale: float) -> float:
    """delta(d) of the rule (module docstring).

    Raises
    ------
    ValueError
        If ``d < 2`` (``log d`` must be positive), ``scale`` is not a finite
        number > 0, or ``rule`` is not one of ``STEP_RULES`` ("log", "inverse_d", "constant").
    """
    check_choice(rule, "step_rule", STEP_RULES)
    d = check_int(d, "d", lo=2)
    scale = check_scalar(scale, "step_scale", lo=0.0, closed="neither")
    if rule == "log":
        return scale / math.log(d)
    if rule == "inverse_d":
        return scale / d
    return scale


def fit_slope(
    dims: np.ndarray, passage: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0,
) -> tuple[float, float, float, float]:
    """``(slope, lo, hi, intercept)`` of ``log median_walkers(passage) = intercept + slope log d``.

    ``passage`` has shape (len(dims), walkers) (inf: never reached). The interval
    is a percentile bootstrap over walkers, resampled independently per d;
    resamples whose median is infinite are dropped.
    """
    dims = np.asarray(dims, dtype=float)
    passage = np.asarray(passage, dtype=float)
    if dims.ndim != 1 or dims.size < 2 or passage.shape[0] != dims.size:
        raise ValueError("dims must be 1-d with >= 2 entries and passage of shape (len(dims), walkers)")
    if np.unique(dims).size != dims.size:
        raise ValueError(f"dims must be distinct (one row of passage per d), got {dims.tolist()}")
    level = check_scalar(level, "level", lo=0.0, hi=1.0, closed="neither")
    n_boot = check_int(n_boot, "n_boot", lo=1, hi=max(1, MAX_ELEMENTS // passage.size))
    x = np.log(dims)
    med = np.median(passage, axis=1)
    if not np.all(np.isfinite(med)) or np.any(med <= 0):
        raise ValueError("the median first-passage time is infinite or zero at some d: raise the budget")
    slope, intercept = np.polyfit(x, np.log(med), 1)
    rng = np.random.default_rng(seed)
    W = passage.shape[1]
    idx = rng.integers(0, W, size=(n_boot, dims.size, W))
    boot_med = np.median(np.take_along_axis(passage[None], idx, axis=2), axis=2)  # (n_boot, D)
    ok = np.all(np.isfinite(boot_med) & (boot_med > 0), axis=1)
    if not np.any(ok):
        raise ValueError("every bootstrap resample has an infinite median first-passage time "
                         "at some d: raise the budget")
    y = np.log(boot_med[ok])
    xc = x - x.mean()
    slopes = (y - y.mean(1, keepdims=True)) @ xc / (xc @ xc)
    lo, hi = np.percentile(slopes, [50 * (1 - level), 50 * (1 + level)])
    return float(slope), float(lo), float(hi), float(intercept)


@dataclass
class SampleComplexity:
    """First-passage steps per d (rows) and walker (columns), their summary and the theory.

    ``theory_steps``: the population flow from the median start (:mod:`easyhard.theory.flow`);
    ``formula_steps``: the closed-form escape times (:func:`~easyhard.theory.flow.escape_formula`).
    Both in SGD steps.
    """

    dims: np.ndarray
    passage: np.ndarray
    lr: np.ndarray
    theory_steps: np.ndarray
    formula_steps: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> np.ndarray:
        """Median first-passage step over walkers, shape (D,) (inf if fewer than half reached)."""
        return np.median(self.passage, axis=1)

    @property
    def quartiles(self) -> np.ndarray:
        """The 25% and 75% quantiles over walkers, shape (2, D)."""
        return np.percentile(self.passage, [25, 75], axis=1)

    @property
    def fraction_reached(self) -> np.ndarray:
        """Fraction of walkers that reached the threshold within the budget, shape (D,)."""
        return np.mean(np.isfinite(self.passage), axis=1)

    def fit(self, n_boot: int = 2000) -> tuple[float, float, float, float]:
        """:func:`fit_slope` of the measured first-passage steps."""
        return fit_slope(self.dims, self.passage, n_boot)

    def theory_slope(self) -> float:
        """Log-log slope of the flow's prediction over the same dims."""
        return float(np.polyfit(np.log(self.dims), np.log(self.theory_steps), 1)[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays :func:`easyhard.results.save` stores."""
        return {"dims": self.dims, "passage": self.passage, "lr": self.lr,
                "theory_steps": self.theory_steps, "formula_steps": self.formula_steps}

    @classmethod
    def from_result(cls, res: results.Result) -> SampleComplexity:
        """Rebuild from a saved :class:`easyhard.results.Result`."""
        arr = res.arrays
        return cls(arr["dims"], arr["passage"], arr["lr"], arr["theory_steps"], arr["formula_steps"], res.config)


def sweep_seed(seed: int, d: int) -> int:
    """The run seed of dimension ``d`` in a sweep seeded with ``seed``.

    63 bits of
    ``SeedSequence([seed, d])``, so different (seed, d) pairs never share a stream.
    """
    return int(np.random.SeedSequence([check_seed(seed), int(d)]).generate_state(1, np.uint64)[0] >> 1)


def _passage_task(task: dict[str, Any], checkpoint: str | None) -> np.ndarray:
    """First-passage steps of walkers ``task["walker_range"]`` at one d (a joblib task)."""

    def compute() -> dict[str, np.ndarray]:
        model = MixedCumulantModel(task["d"], beta_u=task["beta_u"], beta_v=task["beta_v"],
                                   latent=task["latent"], p_corr=task["p_corr"], seed=task["d"])
        lo, hi = task["walker_range"]
        traj = run(model, task["steps"], task["lr"], activation=task["activation"], a=task["a"],
                   walkers=hi - lo, engine=task["engine"], seed=sweep_seed(task["seed"], task["d"]),
                   thresholds={task["spike"]: task["eta"]}, stop_at_passage=True, records=2,
                   init=task["init"], threads=task["threads"], first_walker=lo)
        return {"passage": traj.passage[task["spike"]]}

    if checkpoint is None:
        return compute()["passage"]
    key = {k: v for k, v in task.items() if k != "threads"}
    # keyed by STREAMS (in the task), not by the code: see STREAMS
    return results.cached("sgd_passage", key, compute, root=checkpoint, code=None).arrays["passage"]


def sample_complexity(
    dims: list[int] | np.ndarray,
    *,
    beta_u: float = 5.0,
    beta_v: float = 0.0,
    latent: str = "rademacher",
    p_corr: float = 0.0,
    spike: str = "u",
    eta: float = 0.5,
    activation: str = "tanh",
    a: float = 0.6,
    step_rule: str = "log",
    step_scale: float = 1.0,
    walkers: int = 16,
    engine: str = "reduced",
    start: str = "uniform",
    budget: float = 30.0,
    seed: int = 0,
    checkpoint: str | Path | None = None,
    progress: bool = True,
    chunk: int | None = None,
    n_jobs: int | None = None,
    threads: int = 1,
    max_steps: int | None = None,
) -> SampleComplexity:
    """Run ``walkers`` walkers per d until ``|alpha_spike| >= eta`` (weak recovery).

    Parameters
    ----------
    dims : list of int
        Dimensions (>= 5), sorted and deduplicated.
    beta_u, beta_v, latent, p_corr
        The mixed cumulant model (spike directions seeded by d).
    spike, eta : str, float
        The tracked spike (``"u"`` or ``"v"``) and the weak-recovery threshold in (0, 1).
    activation, a
        The neuron and the noise level.
    step_rule, step_scale
        ``delta(d)`` (module docstring); ``lr = delta / d``.
    walkers : int
        Walkers per d.
    engine : str
        A registered engine of :func:`easyhard.sgd.run` (default ``"reduced"``).
    start : str
        ``"uniform"``: the plain random start; ``"median"``: every walker at the median
        initial overlap ``(a0, a0)``, ``a0 = median_start(d)``, which removes the spread of
        the random start (the dominant spread of the quartic escape) and keeps the
        d-dependence.
    budget : float
        Each walker gets at most ``budget`` times the flow's predicted steps (inf past that).
    seed : int
        Walker i at dimension d uses the stream ``(sweep_seed(seed, d), i)``.
    checkpoint : path, optional
        Folder caching each (d, walker-chunk) task (:func:`easyhard.results.cached`), so a
        cut-off sweep resumes exactly.
    progress : bool
        Show a progress bar over tasks.
    chunk : int, optional
        Walkers per task (default: all walkers of a d in one task).
    n_jobs : int, optional
        joblib workers (None: joblib's default, 1 unless a ``parallel_config`` says otherwise).
    threads : int
        Threads per task for its walkers (they do not change the numbers).
    max_steps : int, optional
        Steps per walker where the population flow never reaches ``eta`` (a spike that is
        absent, or a sign the neuron cannot learn; the budget above is then undefined).
        Without it such a sweep is refused before any work: a walker would otherwise
        run until it happens to pass, for as long as 1e4 d^3 steps.

    Returns
    -------
    SampleComplexity
    """
    if isinstance(dims, (str, bytes)) or np.ndim(dims) != 1 or len(dims) == 0:
        raise ValueError(f"dims must be a non-empty list of integers >= 5, got {dims!r}")
    dims = np.asarray(sorted({check_int(d, "dims entry", lo=5) for d in dims}), dtype=np.int64)
    spike = check_choice(spike, "spike", ("u", "v"))
    eta = check_scalar(eta, "eta (weak-recovery threshold)", lo=0.0, hi=1.0, closed="neither")
    start = check_choice(start, "start", STARTS)
    engine = check_choice(engine, "engine", tuple(ENGINES))
    step_scale = check_scalar(step_scale, "step_scale", lo=0.0, closed="neither")
    budget = check_scalar(budget, "budget", lo=0.0, closed="neither")
    walkers = check_int(walkers, "walkers", lo=1)
    chunk = walkers if chunk is None else check_int(chunk, "chunk", lo=1)
    threads = check_int(threads, "threads", lo=1)
    seed = check_seed(seed)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", lo=1)
    strength = beta_u if spike == "u" else beta_v
    if check_scalar(strength, f"beta_{spike}", lo=0.0) == 0.0 and max_steps is None:
        raise ValueError(f"spike={spike!r} with beta_{spike}=0: the model has no such spike, so no "
                         f"walker can learn it (set beta_{spike} > 0, or pass max_steps)")
    step_size(int(dims[0]), step_rule, step_scale)
    neuron = NeuronSpec(activation, a)
    config = {
        "beta_u": beta_u, "beta_v": beta_v, "latent": latent, "p_corr": p_corr, "spike": spike,
        "eta": eta, "activation": activation, "a": a, "step_rule": step_rule,
        "step_scale": step_scale, "walkers": walkers, "engine": engine, "start": start,
        "budget": budget, "seed": seed,
    }
    if max_steps is not None:  # only then, so that the keys of existing checkpoints stay valid
        config["max_steps"] = max_steps
    lrs, theory, formula, tasks = [], [], [], []
    for d in dims:
        d = int(d)
        model = MixedCumulantModel(d, beta_u=beta_u, beta_v=beta_v, latent=latent, p_corr=p_corr, seed=d)
        lr = step_size(d, step_rule, step_scale) / d
        tau = flow.escape_time(model, spike, eta, neuron)
        if math.isfinite(tau):
            steps = max(MIN_STEPS, int(budget * tau / lr))
        elif max_steps is not None:
            steps = max_steps
        else:
            raise ValueError(f"the population flow never reaches |alpha_{spike}| = {eta} at d={d} "
                             f"(escape_time is inf: the neuron cannot learn this spike), so the "
                             f"budget of {budget} x the flow's steps is undefined; pass max_steps")
        init = (flow.median_start(d),) * 2 if start == "median" else None
        lrs.append(lr)
        theory.append(tau / lr)
        formula.append(flow.escape_formula(model, spike, eta, neuron) / lr)
        for lo, hi in walker_chunks(walkers, chunk):
            tasks.append({**config, "d": d, "lr": lr, "steps": steps, "init": init,
                          "walker_range": (lo, hi), "streams": STREAMS, "threads": threads})
    root = None if checkpoint is None else str(checkpoint)
    parts = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_passage_task)(task, root) for task in tasks)
    from tqdm.auto import tqdm

    parts = list(tqdm(parts, total=len(tasks), desc="sample complexity", disable=not progress))
    rows = np.concatenate(parts).reshape(dims.size, walkers)
    return SampleComplexity(dims, rows, np.array(lrs), np.array(theory), np.array(formula), config)


def saved_sweep(
    name: str, config: dict[str, Any], *, scale: str, compute: bool = True, progress: bool = False,
) -> SampleComplexity | None:
    """The sweep saved as ``name`` for ``config``, else computed, saved and returned.

    ``config`` is the full keyword set of :func:`sample_complexity`. Computing
    checks the results folder first (no work lost to a failing save) and
    checkpoints each (d, walker-chunk) task in the cache, so a cut-off run
    resumes. Returns None if nothing is saved and not ``compute``.

    Parameters
    ----------
    name : str
        The result's name in :mod:`easyhard.results`.
    config : dict
        Keyword arguments of :func:`sample_complexity`; also the result's config.
    scale : str
        The scale recorded with a computed result.
    compute : bool
        Compute the sweep if it is not saved.
    progress : bool
        Show a progress bar while computing.

    Returns
    -------
    SampleComplexity or None
    """
    hit = results.load(name, config)
    if hit is not None:
        return SampleComplexity.from_result(hit)
    if not compute:
        return None
    results.check_writable()
    t0 = time.perf_counter()
    sweep = sample_complexity(**config, checkpoint=results.cache_dir() / "sgd_sweeps", progress=progress)
    results.save(name, config, sweep.arrays(), wall_time=time.perf_counter() - t0, scale=scale)
    return sweep

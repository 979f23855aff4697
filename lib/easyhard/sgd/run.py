"""``run``: one interface to the online-SGD engines; the checked problem and the output type.

An engine is a function registered in :data:`ENGINES` with the signature

    engine(params: Problem, walkers: int, schedule: Schedule, seed: int,
           init: np.ndarray | None, *, neurons: int, threads: int, progress: bool,
           backend: str, complement: str, first: int, device: torch.device) -> EngineOutput

It simulates walkers ``first .. first + walkers - 1`` (walker i's randomness
fixed by ``(seed, i)`` where the engine allows it) and returns arrays shaped
(W, neurons, R), (W, neurons, R), (W, R), (W, 2) and (W, neurons, d) or None.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import torch

from easyhard._validation import MAX_ELEMENTS, check_choice, check_int, check_scalar, check_seed
from easyhard.activations import Activation, is_builtin
from easyhard.config import device as default_device
from easyhard.data.mcm import MixedCumulantModel
from easyhard.grids import log_steps
from easyhard.neuron import NeuronSpec, as_neuron
from easyhard.sgd._kernels import ACTIVATION_CODES, KernelParams, Schedule, default_threads

#: engine name -> "module:function" (imported on first use); add an engine here
ENGINES: dict[str, str] = {
    "direct": "easyhard.sgd.run:run_direct",
    "reduced": "easyhard.sgd.reduced:run_reduced",
    "effective": "easyhard.sgd.effective:run_engine",
}
#: keyword options of :func:`run` that only one engine takes (passed on to it)
ENGINE_OPTIONS: dict[str, tuple[str, ...]] = {"effective": ("ito", "eps", "degree")}
BACKENDS: tuple[str, ...] = ("auto", "numba", "torch")
COMPLEMENTS: tuple[str, ...] = ("exact", "mean", "drop")
SPIKES: tuple[str, ...] = ("u", "v")


class EngineOutput(NamedTuple):
    """What an engine returns.

    Shapes as in the module docstring; ``passage`` is NaN where
    a spike was not reached or not tracked; ``extra``: engine-specific entries of the
    run's ``config``.
    """

    alpha_u: np.ndarray
    alpha_v: np.ndarray
    loss: np.ndarray
    passage: np.ndarray
    weights: np.ndarray | None
    extra: dict[str, Any] | None = None


@dataclass(frozen=True)
class Problem:
    """A checked SGD problem: the model, the neuron (with a built-in activation), the step."""

    model: MixedCumulantModel
    neuron: NeuronSpec
    lr: float

    @property
    def d(self) -> int:
        """The dimension."""
        return self.model.d

    def kernel(self) -> KernelParams:
        """The :class:`~easyhard.sgd._kernels.KernelParams` of the compiled engines."""
        m, law, nrn = self.model, self.model.law, self.neuron
        if law.is_gaussian:
            atoms = cdf = cuts = np.zeros(1)
        else:
            atoms = np.asarray(law.atoms, dtype=np.float64)
            cdf = np.cumsum(law.probs).astype(np.float64)
            cuts = np.asarray(law.thresholds(), dtype=np.float64)
        return KernelParams(
            d=m.d, su=math.sqrt(m.beta_u), nu_scale=m.nu_scale, shrink=m.shrink, a=nrn.a,
            s=nrn.s, c=nrn.c, amp=nrn.A, code=ACTIVATION_CODES[nrn.activation.name],
            lr=self.lr, gaussian=law.is_gaussian, atoms=atoms, cdf=cdf, cuts=cuts,
            p_corr=m.p_corr,
        )


def make_problem(
    model: MixedCumulantModel, lr: float, neuron: NeuronSpec | str | Activation,
    a: float | None = None, c: float | None = None, amp: float = 1.0,
) -> Problem:
    """Check the inputs (``ValueError``/``TypeError`` naming the parameter) into a :class:`Problem`.

    ``neuron``: a :class:`~easyhard.neuron.NeuronSpec` (then ``a``, ``c``, ``amp`` are left
    out), or a built-in activation's name or object followed by ``a``, ``c``, ``amp``.
    The spec checks the numbers; here only that the engines compile its activation.
    """
    if not isinstance(model, MixedCumulantModel):
        raise TypeError(f"model must be a MixedCumulantModel, got {type(model).__name__}")
    if model.beta_m != 0.0:
        raise ValueError(f"the SGD engines need model.beta_m == 0 (no mean spike), got {model.beta_m}")
    lr = check_scalar(lr, "lr", lo=0.0, closed="neither")
    if not isinstance(neuron, (NeuronSpec, str, Activation)):
        raise TypeError(f"activation must be a name in {tuple(ACTIVATION_CODES)} or a built-in "
                        f"Activation, got {type(neuron).__name__}")
    if isinstance(neuron, str) and neuron not in ACTIVATION_CODES:
        raise ValueError(f"activation must be one of {tuple(ACTIVATION_CODES)}, got {neuron!r}")
    neuron = as_neuron(neuron, a, c, amp)
    act = neuron.activation
    if not is_builtin(act) or act.name not in ACTIVATION_CODES:
        raise ValueError(f"the SGD engines compile only the built-in activations "
                         f"{tuple(ACTIVATION_CODES)}; got a custom Activation {act.name!r}")
    return Problem(model, neuron, lr)


def check_thresholds(thresholds: Mapping[str, float] | None) -> np.ndarray:
    """Thresholds ``{"u": eta_u, "v": eta_v}`` as an array (u, v), NaN where not tracked."""
    out = np.full(2, np.nan)
    for key, eta in (thresholds or {}).items():
        if key not in SPIKES:
            raise ValueError(f"thresholds keys must be in {SPIKES}, got {key!r}")
        out[SPIKES.index(key)] = check_scalar(eta, f"threshold for {key!r}", lo=0.0, hi=1.0,
                                              closed="neither")
    return out


def check_init(init: tuple[float, float] | None) -> np.ndarray | None:
    """A fixed start ``(alpha_u, alpha_v)`` with alpha_u^2 + alpha_v^2 < 1, or None (uniform)."""
    if init is None:
        return None
    try:
        arr = np.asarray(init, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"init must be (alpha_u, alpha_v) with alpha_u^2 + alpha_v^2 < 1, "
                         f"got {init!r}") from err
    if arr.shape != (2,) or not np.all(np.isfinite(arr)) or float(arr @ arr) >= 1.0:
        raise ValueError(f"init must be (alpha_u, alpha_v) with alpha_u^2 + alpha_v^2 < 1, got {init!r}")
    return arr


#: the noise level of :func:`run` when it is given an activation without ``a``
DEFAULT_A = 0.6

#: the default number of log-spaced record steps of :func:`run`
DEFAULT_RECORDS = 64


def record_steps(steps: int, records: int = DEFAULT_RECORDS) -> np.ndarray:
    """0 and about ``records`` log-spaced steps in [1, steps] (:func:`easyhard.grids.log_steps`).

    A run of ``steps`` steps has at most ``steps + 1`` distinct record steps, so
    ``records`` may not exceed ``max(DEFAULT_RECORDS, steps + 1)`` (a size guard:
    ``records=10**9`` would otherwise allocate gigabytes for a short run).
    """
    steps = check_int(steps, "steps", lo=1)
    records = check_int(records, "records (number of log-spaced record steps)", lo=2,
                        hi=max(DEFAULT_RECORDS, steps + 1))
    return log_steps(steps, records)


def _check_records(records: int | np.ndarray, steps: int) -> np.ndarray:
    """The record steps of :func:`run`: a count (:func:`record_steps`) or explicit integer steps."""
    if isinstance(records, (int, np.integer)) and not isinstance(records, bool):
        return record_steps(steps, int(records))
    raw = np.asarray(records)
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(raw == np.round(raw))):
        raise TypeError(f"records must be a count or an array of integer steps, got {records!r}")
    rec = raw.astype(np.int64)
    if rec.ndim != 1 or rec.size < 2 or rec[0] != 0 or np.any(np.diff(rec) <= 0) or rec[-1] != steps:
        raise ValueError(f"records must be increasing integer steps from 0 to steps={steps}, "
                         f"got {raw.size} entries" + (f" from {rec[0]} to {rec[-1]}" if rec.size else ""))
    return rec


@dataclass
class Trajectories:
    """Output of :func:`easyhard.sgd.run`.

    ``alpha_u``, ``alpha_v``: overlaps ``w_j . u``, ``w_j . v`` of shape
    (walkers, neurons, records) at ``steps`` (step 0 = initialisation; NaN after
    a walker stopped). ``loss``: mean w-dependent per-sample loss ``G_loss`` over
    the steps since the previous record (x0 units, summed over dimensions; NaN at
    step 0), shape (walkers, records). ``weights``: final unit weights (walkers,
    neurons, d) of the direct engine (None for the others). ``passage``: first step at which
    ``max_j |alpha_e| >= eta_e``, per spike in ``thresholds`` (inf if never).
    """

    steps: np.ndarray
    alpha_u: np.ndarray
    alpha_v: np.ndarray
    loss: np.ndarray
    passage: dict[str, np.ndarray]
    config: dict[str, Any] = field(default_factory=dict)
    wall_time: float = float("nan")
    weights: np.ndarray | None = None


def _check_size(walkers: int, neurons: int, records: int, d: int) -> None:
    """Refuse outputs of more than :data:`~easyhard._validation.MAX_ELEMENTS` entries before any work.

    The overlaps take ``2 walkers neurons records`` entries; the direct engine
    (``d > 0``) also keeps the weights, ``walkers neurons d``, and each walker's
    Gram matrix of its neurons, ``neurons^2``.
    """
    for what, size in (("the recorded overlaps (2 x walkers x neurons x records)",
                        2 * walkers * neurons * records),
                       ("the weights (walkers x neurons x d)", walkers * neurons * d),
                       ("the neurons' Gram matrix (neurons x neurons)", neurons**2 * (d > 0))):
        if size > MAX_ELEMENTS:
            raise ValueError(f"{what} would hold {size} entries, more than {MAX_ELEMENTS}: "
                             f"lower walkers={walkers}, neurons={neurons} or records={records}")


def _overflow_message(params: Problem) -> str:
    return (f"the SGD update overflowed at d={params.d}: lr={params.lr:g}, A={params.neuron.A:g} and "
            f"c={params.neuron.c:g} make the step non-finite; lower them (the step is of order "
            f"lr * A * (|c| + 1) per unit weight)")


def _check_finite(out: EngineOutput, schedule: Schedule, params: Problem) -> None:
    """Raise ``FloatingPointError`` if an overlap is non-finite before its walker stopped.

    A walker that stopped once every tracked spike passed may have NaN overlaps
    at the records from its last passage on (the effective engine reports a
    passage inside an SDE step at the step's end, and stops there); any other
    NaN or infinity is an overflow of the update.
    """
    bad = ~(np.isfinite(out.alpha_u) & np.isfinite(out.alpha_v))  # (walkers, neurons, records)
    if not bad.any():
        return
    stop = np.full(bad.shape[0], np.inf)
    if schedule.stop:
        passed = out.passage[:, ~np.isnan(schedule.eta)]
        stop = np.where(np.isnan(passed), np.inf, passed).max(axis=1)
    allowed = schedule.rec[None, :] >= stop[:, None]
    if np.any(bad & ~allowed[:, None, :]):
        raise FloatingPointError(_overflow_message(params))


def engine_function(engine: str) -> Callable[..., EngineOutput]:
    """The function registered for ``engine`` in :data:`ENGINES`."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {tuple(ENGINES)}, got {engine!r}")
    module, name = ENGINES[engine].split(":")
    return getattr(importlib.import_module(module), name)


def run_direct(
    params: Problem, walkers: int, schedule: Schedule, seed: int, init: np.ndarray | None, *,
    neurons: int = 1, threads: int = 1, progress: bool = False, backend: str = "auto",
    complement: str = "exact", first: int = 0, device: torch.device | None = None,
) -> EngineOutput:
    """The direct engine on its backend (``"auto"``: torch on CUDA when present, else numba)."""
    if complement != "exact":
        raise ValueError("complement applies to engine='reduced' only")
    dev = device if device is not None else default_device()
    used = backend if backend != "auto" else ("torch" if dev.type == "cuda" else "numba")
    if used == "numba":
        from easyhard.sgd.direct_numba import run_numba

        return EngineOutput(*run_numba(params, neurons, walkers, schedule, seed, init,
                                       threads=threads, progress=progress, first=first))
    from easyhard.sgd.direct_torch import run_torch

    dev = dev if dev.type == "cuda" else torch.device("cpu")
    return EngineOutput(*run_torch(params, neurons, walkers, schedule, seed, init,
                                   progress=progress, device=dev))


def run(
    model: MixedCumulantModel,
    steps: int,
    lr: float,
    activation: str | Activation | NeuronSpec = "tanh",
    a: float | None = None,
    walkers: int = 16,
    engine: str = "direct",
    seed: int = 0,
    *,
    neurons: int = 1,
    c: float | None = None,
    A: float = 1.0,
    thresholds: Mapping[str, float] | None = None,
    stop_at_passage: bool = False,
    records: int | np.ndarray = DEFAULT_RECORDS,
    init: tuple[float, float] | None = None,
    backend: str = "auto",
    progress: bool = False,
    complement: str = "exact",
    threads: int | None = None,
    first_walker: int = 0,
    device: str | torch.device | None = None,
    **options: Any,
) -> Trajectories:
    """Projected online SGD of the tied neuron denoiser on fresh MCM samples.

    Parameters
    ----------
    model : MixedCumulantModel
        The data (``beta_m = 0``); d comes from it.
    steps : int
        SGD steps per walker (>= 1).
    lr : float
        Per-step factor ``delta / d`` (> 0).
    activation, a, c, A
        The neuron ``c x_t + A w sigma(w.x_t)`` at noise level ``a`` (default 0.6; ``c``
        defaults to ``a``); ``activation`` is a built-in name or Activation (custom ones are
        refused), or a :class:`~easyhard.neuron.NeuronSpec` with such an activation, and then
        ``a``, ``c``, ``A`` are left out.
    walkers : int
        Independent runs.
    engine : str
        ``"direct"``: the d-dimensional process (``backend`` ``"numba"``, ``"torch"``, or
        ``"auto"`` = torch on CUDA when present, else numba); ``"reduced"``: the same
        process exactly through ``(alpha_u, alpha_v)`` (:mod:`easyhard.sgd.reduced`; one neuron);
        ``"effective"``: the diffusion (SDE) limit of the reduced chain, whose cost does not
        grow with d (:mod:`easyhard.sgd.effective`; one neuron).
    seed : int
        On numba, walker i draws from a generator fixed by ``(seed, first_walker + i)``,
        whatever ``walkers``, ``threads`` and chunking; the torch backend draws all
        walkers from one generator, so there walker i also depends on ``walkers``.
    neurons : int
        p neurons (direct engine).
    thresholds : mapping, optional
        ``{"u": eta_u, "v": eta_v}``: record first-passage steps of ``max_j |alpha|``.
    stop_at_passage : bool
        Stop a walker once every tracked spike passed.
    records : int or array
        Number of log-spaced record steps, or the steps (increasing, from 0 to ``steps``).
    init : (float, float), optional
        A fixed start ``(alpha_u, alpha_v)`` instead of the uniform one.
    complement : str
        Reduced engine only: ``"exact"``, or the negative controls ``"mean"``, ``"drop"``.
    threads : int, optional
        Threads for walker chunks (default :func:`~easyhard.sgd._kernels.default_threads`).
    first_walker : int
        Index of the first walker (to split a run into pieces with the same numbers).
    device : str or torch.device, optional
        Device of the torch backend (default :func:`easyhard.config.device`); ``"auto"``
        picks torch when it is CUDA.

    **options
        Options of one engine (``ENGINE_OPTIONS``): ``ito``, ``eps`` and ``degree`` of the
        effective engine (:func:`easyhard.sgd.effective.run_engine`); refused for the others.

    Returns
    -------
    Trajectories
    """
    engine = check_choice(engine, "engine", tuple(ENGINES))
    unknown = sorted(set(options) - set(ENGINE_OPTIONS.get(engine, ())))
    if unknown:
        owners = {k: e for e, keys in ENGINE_OPTIONS.items() for k in keys}
        where = ", ".join(f"{k!r} applies to engine={owners[k]!r} only" if k in owners
                          else f"{k!r} is not an option of run" for k in unknown)
        raise TypeError(f"unexpected options for engine={engine!r}: {where}")
    steps = check_int(steps, "steps", lo=1)
    walkers = check_int(walkers, "walkers", lo=1)
    neurons = check_int(neurons, "neurons", lo=1)
    first_walker = check_int(first_walker, "first_walker", lo=0)
    threads = default_threads() if threads is None else check_int(threads, "threads", lo=1)
    seed = check_seed(seed)
    fn = engine_function(engine)
    backend = check_choice(backend, "backend", BACKENDS)
    complement = check_choice(complement, "complement", COMPLEMENTS)
    if complement != "exact" and engine != "reduced":
        raise ValueError("complement applies to engine='reduced' only")
    if engine != "direct" and neurons != 1:
        raise ValueError(f"engine={engine!r} simulates one neuron (neurons=1), got neurons={neurons}")
    if a is None and not isinstance(activation, NeuronSpec):
        a = DEFAULT_A
    params = make_problem(model, lr, activation, a, c, A)
    eta = check_thresholds(thresholds)
    start = check_init(init)
    rec = _check_records(records, steps)
    _check_size(walkers, neurons, rec.size, params.d if engine == "direct" else 0)
    schedule = Schedule(rec, eta, bool(stop_at_passage and not np.all(np.isnan(eta))))
    dev = torch.device(device) if device is not None else default_device()
    used = "numba" if engine != "direct" else (
        backend if backend != "auto" else ("torch" if dev.type == "cuda" else "numba"))
    t0 = time.perf_counter()
    try:
        out = EngineOutput(*fn(params, walkers, schedule, seed, start, neurons=neurons,
                               threads=threads, progress=progress, backend=used,
                               complement=complement, first=first_walker, device=dev, **options))
    except ZeroDivisionError as err:  # numba's float division by an overflowed norm
        raise FloatingPointError(_overflow_message(params)) from err
    wall = time.perf_counter() - t0
    _check_finite(out, schedule, params)
    tracked = {k: np.where(np.isnan(out.passage[:, i]), np.inf, out.passage[:, i])
               for i, k in enumerate(SPIKES) if not np.isnan(eta[i])}
    neuron = params.neuron
    config = {
        "engine": engine, "backend": used, "d": params.d, "steps": steps, "lr": params.lr,
        "activation": neuron.activation.name, "a": neuron.a, "c": neuron.c, "A": neuron.A,
        "walkers": walkers, "first_walker": first_walker, "neurons": neurons, "seed": seed,
        "beta_u": model.beta_u, "beta_v": model.beta_v, "latent": model.latent,
        "p_corr": model.p_corr, "rho": model.rho,
        "thresholds": {k: float(eta[SPIKES.index(k)]) for k in tracked},
        "init": None if start is None else start.tolist(), "complement": complement,
        **(out.extra or {}),
    }
    return Trajectories(rec, out.alpha_u, out.alpha_v, out.loss, tracked, config, wall, out.weights)

"""The simplicity bias of tied neuron denoisers on the full mixed cumulant model.

One frozen config, :class:`MCMBiasConfig`, with ``ci``/``laptop``/``paper``
presets (:func:`mcm_bias_config`), and the runs of the chapter "The simplicity
bias in the minimal model":

* :func:`run_online`: projected online SGD (:func:`easyhard.sgd.run`, direct
  engine) of p tied neurons, with the exact population loss on the model, on
  its Gaussian surrogate and the Wiener floor at log-spaced steps
  (:mod:`easyhard.theory.surrogate_loss`);
* :func:`run_adam`: the same denoiser (:class:`~easyhard.denoisers.neuron.NeuronDenoiser`)
  trained by minibatch Adam in torch, optionally with a trainable amplitude;
* :func:`independence_check`: one neuron for d = 64..1024 (exact reduced engine);
* :func:`parting_step`, :func:`v_used_step`: when the two losses part, when v is used.

The exact loss needs the Gram matrix ``W W^T`` at each loss step. ``run`` returns
the weights of the last step only, so :func:`run_online` runs the same seeded
walkers once per loss step and reads the final weights (the random stream of a
walker does not depend on the run's length, which :func:`run_online` checks
against the overlaps recorded by the longest run). The cost is the sum of the
loss steps, about 2.3 times the longest run for four loss steps per decade.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch

from easyhard import results
from easyhard.config import check_seed, preset, torch_generator
from easyhard.config import scale as current_scale
from easyhard.data.mcm import MixedCumulantModel
from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.diffusion import vp_coefficients
from easyhard.neuron import NeuronSpec
from easyhard.sgd import record_steps, run
from easyhard.theory.surrogate_loss import (
    loss_curves,
    monte_carlo_loss,
    overlaps,
    tied_loss,
    wiener_floor,
)

OPTIMISERS: tuple[str, ...] = ("online_sgd", "adam")
ENGINES: tuple[str, ...] = ("direct", "reduced")


@dataclass(frozen=True)
class MCMBiasConfig:
    """One staircase run: tied tanh neurons on the full MCM (beta_u, beta_v > 0).

    ``engine="reduced"`` (one neuron only) uses the exact reduced engine, whose cost does
    not grow with d. ``lr = lr_scale / d^2`` is the per-step factor of online SGD (``delta / d`` with
    ``delta = lr_scale / d``, the quartic phase's step); ``loss_points`` log-spaced
    steps per decade carry the exact losses, ``records`` log-spaced steps the overlaps.
    Adam (:func:`run_adam`) uses ``adam_lr``, ``batch`` and ``adam_steps``.
    """

    d: int = 16
    neurons: int = 2
    beta_u: float = 5.0
    beta_v: float = 5.0
    p_corr: float = 0.0
    latent: str = "rademacher"
    activation: str = "tanh"
    a: float = 0.6
    walkers: int = 6
    steps: int = 3_000_000
    lr_scale: float = 0.1
    records: int = 96
    loss_points: int = 4
    seed: int = 0
    model_seed: int = 1
    adam_lr: float = 1e-2
    batch: int = 256
    adam_steps: int = 3000
    trainable_A: bool = False
    engine: str = "direct"

    @property
    def neuron(self) -> NeuronSpec:
        """The neuron: ``activation`` at the noise level ``a``, with c = a and A = 1."""
        return NeuronSpec(self.activation, self.a)

    def __post_init__(self) -> None:
        """Check the engine, the integer sizes, the betas and rates, p_corr, a and the seeds."""
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.engine == "reduced" and self.neurons != 1:
            raise ValueError(f"engine='reduced' simulates one neuron, got neurons={self.neurons}")
        for name in ("d", "neurons", "walkers", "steps", "records", "loss_points", "batch", "adam_steps"):
            value = getattr(self, name)
            low = 2 if name in ("d", "records") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.walkers > 64:
            raise ValueError(f"walkers must be <= 64 (one random stream per walker), got {self.walkers}")
        for name in ("beta_u", "beta_v", "lr_scale", "adam_lr"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.lr_scale <= 0 or self.adam_lr <= 0:
            raise ValueError("lr_scale and adam_lr must be > 0")
        if not 0.0 <= self.p_corr <= 1.0:
            raise ValueError(f"p_corr must lie in [0, 1], got {self.p_corr!r}")
        vp_coefficients(self.a)
        check_seed(self.seed)
        check_seed(self.model_seed)

    def summary(self) -> str:
        """One line: the model, the denoiser and the training budget."""
        return (f"d = {self.d}, beta_u = beta_v = {self.beta_u:g}, {self.latent} latent, {self.activation}, "
                f"a = {self.a}, lr = {self.lr_scale:g}/d^2, {self.steps:,} steps, {self.walkers} walkers")

    @property
    def lr(self) -> float:
        """Per-step factor of online SGD, ``lr_scale / d^2``."""
        return self.lr_scale / self.d**2

    def model(self) -> MixedCumulantModel:
        """The mixed cumulant model of this config."""
        return MixedCumulantModel(self.d, self.beta_u, self.beta_v, latent=self.latent,
                                  p_corr=self.p_corr, seed=self.model_seed)


#: sizes per scale; the physics (beta, a, tanh, lr_scale) is the same at every scale
SIZES: dict[str, dict[str, Any]] = {
    "ci": {"d": 8, "steps": 1_000_000, "walkers": 6, "adam_steps": 1000},
    "laptop": {"d": 12, "steps": 10_000_000, "walkers": 12, "adam_steps": 10_000},
    "paper": {"d": 32, "steps": 300_000_000, "walkers": 32, "adam_steps": 200_000},
}

#: the runs of the chapter, by key: (overrides of the scale's preset, optimiser)
RUNS: dict[str, tuple[dict[str, Any], str]] = {
    "p1": ({"neurons": 1, "engine": "reduced"}, "online_sgd"),
    "p2": ({"neurons": 2}, "online_sgd"),
    "p2_long": ({"neurons": 2}, "online_sgd"),
    "p4": ({"neurons": 4}, "online_sgd"),
    "correlated": ({"neurons": 2, "p_corr": 1.0}, "online_sgd"),
    "a0.4": ({"neurons": 2, "a": 0.4}, "online_sgd"),
    "a0.8": ({"neurons": 2, "a": 0.8}, "online_sgd"),
    "adam": ({"neurons": 2}, "adam"),
    "adam_A": ({"neurons": 2, "trainable_A": True}, "adam"),
}


def mcm_bias_config(scale: str | None = None, **overrides: Any) -> MCMBiasConfig:
    """The config at ``scale`` (default: the current scale), with ``overrides``."""
    return replace(MCMBiasConfig(**preset(SIZES, scale)), **overrides)


@dataclass
class BiasRun:
    """Overlaps and exact losses of one run (online SGD or Adam).

    ``steps`` (R,), ``alpha_u``/``alpha_v`` (walkers, neurons, R) at ``steps``;
    ``loss_steps`` (K,) with ``gram`` (walkers, K, neurons, neurons) and the exact
    losses ``mcm``, ``surrogate`` (walkers, K) there; ``floor`` the Wiener floor;
    ``amplitude`` (walkers, K) the amplitude A (fixed unless trained).
    Losses in x0 units, summed over the d dimensions.
    """

    config: dict[str, Any]
    steps: np.ndarray
    alpha_u: np.ndarray
    alpha_v: np.ndarray
    loss_steps: np.ndarray
    gram: np.ndarray
    mcm: np.ndarray
    surrogate: np.ndarray
    floor: float
    amplitude: np.ndarray
    wall_time: float

    def arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for :func:`easyhard.results.save`."""
        keys = ("steps", "alpha_u", "alpha_v", "loss_steps", "gram", "mcm", "surrogate", "amplitude")
        return {k: getattr(self, k) for k in keys} | {"floor": np.array(self.floor)}

    @classmethod
    def from_result(cls, res: results.Result) -> BiasRun:
        """Rebuild from a saved :class:`easyhard.results.Result`."""
        arr = res.arrays
        keys = ("steps", "alpha_u", "alpha_v", "loss_steps", "gram", "mcm", "surrogate", "amplitude")
        return cls(res.config, *(arr[k] for k in keys[:5]), arr["mcm"], arr["surrogate"],
                   float(arr["floor"]), arr["amplitude"], float(res.meta.get("wall_time_s") or np.nan))

    def loss_overlaps(self) -> tuple[np.ndarray, np.ndarray]:
        """``(alpha_u, alpha_v)`` at ``loss_steps``, shape (walkers, neurons, K)."""
        idx = np.searchsorted(self.steps, self.loss_steps)
        return self.alpha_u[..., idx], self.alpha_v[..., idx]


def loss_steps(steps: int, per_decade: int) -> np.ndarray:
    """``per_decade`` log-spaced steps per decade from 1 to ``steps`` (integers, unique)."""
    k = max(2, int(round(per_decade * math.log10(steps))) + 1)
    return np.unique(np.round(np.geomspace(1, steps, k)).astype(np.int64))


def run_online(cfg: MCMBiasConfig, progress: bool = False) -> BiasRun:
    """Projected online SGD of ``cfg.neurons`` tied neurons, with exact losses (module docstring)."""
    model = cfg.model()
    t0 = time.perf_counter()
    lsteps = loss_steps(cfg.steps, cfg.loss_points)
    rec = np.union1d(record_steps(cfg.steps, cfg.records), lsteps)
    if cfg.engine == "reduced":  # one neuron: the overlaps are the whole state
        traj = run(model, cfg.steps, cfg.lr, activation=cfg.activation, a=cfg.a, walkers=cfg.walkers,
                   engine="reduced", seed=cfg.seed, records=rec, progress=progress)
        idx = np.searchsorted(rec, lsteps)
        au, av = np.swapaxes(traj.alpha_u[..., idx], 1, 2), np.swapaxes(traj.alpha_v[..., idx], 1, 2)
        gram = np.ones(au.shape + (1,))
        curves = loss_curves(model, au, av, gram, cfg.neuron)
        return BiasRun(asdict(cfg) | {"optimiser": "online_sgd"}, rec, traj.alpha_u, traj.alpha_v, lsteps,
                       gram, curves.mcm, curves.surrogate, curves.floor,
                       np.ones((cfg.walkers, lsteps.size)), time.perf_counter() - t0)
    kw = dict(activation=cfg.activation, a=cfg.a, walkers=cfg.walkers, engine="direct",
              seed=cfg.seed, neurons=cfg.neurons, backend="numba")
    traj = run(model, cfg.steps, cfg.lr, records=rec, progress=progress, **kw)
    W = np.empty((cfg.walkers, lsteps.size, cfg.neurons, cfg.d))
    W[:, -1] = traj.weights
    for i, n in enumerate(lsteps[:-1]):
        W[:, i] = run(model, int(n), cfg.lr, records=[0, int(n)], **kw).weights
    au, av, gram = overlaps(model, W)
    idx = np.searchsorted(rec, lsteps)
    mismatch = np.max(np.abs(np.swapaxes(au, 1, 2) - traj.alpha_u[..., idx]))
    if mismatch > 1e-8:
        raise RuntimeError(f"the reruns do not reproduce the recorded overlaps (max error {mismatch:.3g}): "
                           "easyhard.sgd.run no longer gives each walker a stream independent of the run length")
    curves = loss_curves(model, au, av, gram, cfg.neuron)
    wall = time.perf_counter() - t0
    return BiasRun(asdict(cfg) | {"optimiser": "online_sgd"}, rec, traj.alpha_u, traj.alpha_v, lsteps,
                   gram, curves.mcm, curves.surrogate, curves.floor,
                   np.ones((cfg.walkers, lsteps.size)), wall)


def run_adam(cfg: MCMBiasConfig, progress: bool = False) -> BiasRun:
    """Minibatch Adam on the same tied denoiser, projected on the sphere after each step.

    Fresh samples each step (online), batch ``cfg.batch``, learning rate ``cfg.adam_lr``,
    ``cfg.adam_steps`` steps, one independent net per walker (seeds ``seed + i``);
    the amplitude A is trained too if ``cfg.trainable_A``. Exact losses at the loss steps.
    """
    from tqdm.auto import tqdm

    model = cfg.model()
    a, s = vp_coefficients(cfg.a)
    lsteps = loss_steps(cfg.adam_steps, cfg.loss_points)
    rec = np.union1d(record_steps(cfg.adam_steps, cfg.records), lsteps)
    au = np.empty((cfg.walkers, cfg.neurons, rec.size))
    av = np.empty_like(au)
    gram = np.empty((cfg.walkers, lsteps.size, cfg.neurons, cfg.neurons))
    amp = np.empty((cfg.walkers, lsteps.size))
    t0 = time.perf_counter()
    u, v = model.u.double(), model.v.double()
    for i in tqdm(range(cfg.walkers), disable=not progress, desc="adam walkers"):
        gen = torch_generator(cfg.seed + i)
        net = NeuronDenoiser(cfg.d, c=a, A=1.0, neurons=cfg.neurons, activation=cfg.activation,
                             trainable_A=cfg.trainable_A, generator=gen, dtype=torch.float64)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.adam_lr)
        data_gen = torch_generator(10_000 + cfg.seed + i)
        r = k = 0
        for n in range(cfg.adam_steps + 1):
            if n == rec[r]:
                with torch.no_grad():
                    au[i, :, r] = (net.W @ u).numpy()
                    av[i, :, r] = (net.W @ v).numpy()
                    if k < lsteps.size and n == lsteps[k]:
                        gram[i, k] = (net.W @ net.W.T).numpy()
                        amp[i, k] = float(net.A)
                        k += 1
                r += 1
            if n == cfg.adam_steps:
                break
            x0 = model.sample(cfg.batch, generator=data_gen).double()
            x_t = a * x0 + s * torch.randn(x0.shape, generator=data_gen, dtype=torch.float64)
            opt.zero_grad()
            net.loss(x0, x_t).backward()
            opt.step()
            net.project_()
    idx = np.searchsorted(rec, lsteps)
    la, lv = np.swapaxes(au[..., idx], 1, 2), np.swapaxes(av[..., idx], 1, 2)
    gram = 0.5 * (gram + np.swapaxes(gram, -1, -2))
    mcm = np.empty((cfg.walkers, lsteps.size))
    sur = np.empty_like(mcm)
    for i in range(cfg.walkers):  # A may differ per walker and step
        for j in range(lsteps.size):
            c = loss_curves(model, la[i, j], lv[i, j], gram[i, j], NeuronSpec(cfg.activation, cfg.a, A=float(amp[i, j])))
            mcm[i, j], sur[i, j] = c.mcm, c.surrogate
    wall = time.perf_counter() - t0
    return BiasRun(asdict(cfg) | {"optimiser": "adam"}, rec, au, av, lsteps, gram, mcm, sur,
                   wiener_floor(model, cfg.a), amp, wall)


def saved_or_run(cfg: MCMBiasConfig, optimiser: str = "online_sgd", *, compute: bool = True,
                 name: str = "mcm_bias", progress: bool = False, scale: str | None = None) -> BiasRun | None:
    """The saved run of ``cfg``, else the run computed now (if ``compute``), else None.

    The saved run is ``data/results/<name>_<optimiser>-<hash>``; a run computed here is
    saved.
    """
    if optimiser not in OPTIMISERS:
        raise ValueError(f"optimiser must be one of {OPTIMISERS}, got {optimiser!r}")
    key = f"{name}_{optimiser}"
    hit = results.load(key, cfg)
    if hit is not None:
        return BiasRun.from_result(hit)
    if not compute:
        return None
    results.check_writable()  # before computing: no work lost to a failing save
    out = (run_online if optimiser == "online_sgd" else run_adam)(cfg, progress=progress)
    results.save(key, cfg, out.arrays(), wall_time=out.wall_time, scale=_scale_of(cfg))
    return out


def run_config(key: str, scale: str | None = None) -> tuple[MCMBiasConfig, str]:
    """``(config, optimiser)`` of the chapter's run ``key`` (see :data:`RUNS`) at ``scale``.

    At ``laptop`` and ``paper`` scale the p = 4, correlated and noise-level runs use half the
    walkers, the correlated one a tenth of the steps (its plateau is short); ``p2_long`` is
    ``p2`` at d - 2 with three times the steps and two thirds of the walkers.
    """
    if key not in RUNS:
        raise ValueError(f"key must be one of {tuple(RUNS)}, got {key!r}")
    overrides, optimiser = RUNS[key]
    cfg = mcm_bias_config(scale, **overrides)
    if key == "p1":  # one neuron, exact reduced engine: a large d costs nothing more;
        # no quartic stage to wait for, so the covariance step delta = 1 / ln d
        d = {"ci": 256, "laptop": 1024, "paper": 4096}[scale or current_scale()]
        cfg = replace(cfg, d=d, lr_scale=d / math.log(d))
    if (scale or current_scale()) != "ci":
        if key in ("p4", "correlated", "a0.4", "a0.8"):
            cfg = replace(cfg, walkers=cfg.walkers // 2)
        if key == "correlated":
            cfg = replace(cfg, steps=cfg.steps // 10)
        if key == "p2_long":  # a smaller d and three times the steps: most walkers reach the second stage
            cfg = replace(cfg, d=cfg.d - 2, steps=3 * cfg.steps, walkers=cfg.walkers * 2 // 3)
        if optimiser == "adam":
            cfg = replace(cfg, walkers=min(cfg.walkers, 4))
    return cfg, optimiser


def chapter_run(key: str, scale: str | None = None, *, compute: bool = True,
                progress: bool = False) -> BiasRun | None:
    """The chapter's run ``key`` at ``scale``: saved, computed now, or None.

    Saved if present, else computed (and saved, except at ``ci`` scale) if
    ``compute``, else None.
    """
    cfg, optimiser = run_config(key, scale)
    if (scale or current_scale()) == "ci":
        return (run_online if optimiser == "online_sgd" else run_adam)(cfg, progress=progress)
    return saved_or_run(cfg, optimiser, compute=compute, progress=progress, scale=scale or current_scale())


def reproduce(scale: str = "laptop", keys: tuple[str, ...] | None = None) -> None:
    """Compute and save every run of the chapter at ``scale``.

    Each run is saved as it finishes, so an interrupted reproduction resumes with the
    runs still missing.
    """
    for key in keys or tuple(RUNS):
        t0 = time.perf_counter()
        chapter_run(key, scale, progress=False)
        print(f"{key}: {time.perf_counter() - t0:.0f} s", flush=True)


def _scale_of(cfg: MCMBiasConfig) -> str:
    for name in SIZES:
        if all(getattr(cfg, k) == v for k, v in SIZES[name].items()):
            return name
    return current_scale()


def _sustained(steps: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Per row of ``hit`` (walkers, K): the first of ``steps`` from which ``hit`` holds to the end.

    That is, at every later step; inf if it does not hold at the last one.
    """
    out = np.full(hit.shape[0], np.inf)
    for i, h in enumerate(hit):
        if h[-1]:
            j = 0 if h.all() else len(h) - int(np.argmin(h[::-1]))
            out[i] = steps[j]
    return out


def parting_step(r: BiasRun, tol: float) -> np.ndarray:
    """Per walker: the first loss step from which ``mcm - surrogate < -tol`` to the end.

    That is, at every later loss step; inf if never.
    """
    return _sustained(r.loss_steps, r.mcm - r.surrogate < -tol)


def v_used_step(r: BiasRun, eta: float) -> np.ndarray:
    """Per walker: the first loss step from which some neuron has ``|alpha_v| >= eta`` to the end.

    That is, at every later loss step (inf if never), on the grid of
    :func:`parting_step`.
    """
    _, av = r.loss_overlaps()
    return _sustained(r.loss_steps, np.abs(av).max(axis=1) >= eta)


def below_floor_step(r: BiasRun) -> np.ndarray:
    """Per walker: the first loss step with the model loss below the Wiener floor (inf if never)."""
    hit = r.mcm < r.floor
    return np.where(hit.any(1), r.loss_steps[np.argmax(hit, 1)], np.inf)


def independence_check(dims: tuple[int, ...] = (64, 128, 256, 512, 1024), walkers: int = 16,
                       activation: str = "tanh", a: float = 0.6, beta: float = 5.0,
                       budget: float = 20.0, seed: int = 0) -> dict[str, np.ndarray]:
    """One neuron on the full independent MCM: its overlaps with u and v per d and walker.

    With delta = 1 / ln d, run for ``budget d ln^2 d`` steps (exact reduced engine): final
    ``|alpha_u|`` and ``sqrt(d) |alpha_v|`` per d and walker, and the largest
    ``sqrt(d) |alpha_v|`` over the second half of the run.
    """
    out = {"dims": np.asarray(dims), "alpha_u": [], "sqrt_d_alpha_v": [], "max_sqrt_d_alpha_v": []}
    for d in dims:
        model = MixedCumulantModel(d, beta, beta, seed=1)
        steps = int(budget * d * math.log(d) ** 2)
        traj = run(model, steps, 1.0 / (d * math.log(d)), activation=activation, a=a, walkers=walkers,
                   engine="reduced", seed=seed, records=64)
        late = traj.steps >= steps // 2
        out["alpha_u"].append(np.abs(traj.alpha_u[:, 0, -1]))
        out["sqrt_d_alpha_v"].append(math.sqrt(d) * np.abs(traj.alpha_v[:, 0, -1]))
        out["max_sqrt_d_alpha_v"].append(math.sqrt(d) * np.abs(traj.alpha_v[:, 0, late]).max(1))
    return {k: np.asarray(v) for k, v in out.items()}


#: tolerances of the chapter's step detection: a gap below -GAP_TOL (x0 units, summed)
#: counts as parting (about 7 % of the two-neuron second drop at a = 0.6, reached at
#: |alpha_v| ~ 0.25 on the split); |alpha_v| >= V_ETA counts as using v (0.2, below that
#: level, about 40 % of the v-overlap of the two-neuron minimum); min_j |alpha_u| >= U_ETA
#: counts as having found u
GAP_TOL, V_ETA, U_ETA = 1e-4, 0.2, 0.6


@dataclass(frozen=True)
class Staircase:
    """Per-walker steps of the stages of one run: u found, v used, losses parted, floor crossed.

    Inf where it never happened; each stage is sustained to the end. ``u_found``
    (every neuron has ``|alpha_u| >= U_ETA``), ``v_used`` (some neuron has
    ``|alpha_v| >= V_ETA``), ``parting`` (MCM loss below the surrogate's by more than
    ``GAP_TOL``), ``below_floor`` (first step with the MCM loss under the Wiener floor).
    """

    u_found: np.ndarray
    v_used: np.ndarray
    parting: np.ndarray
    below_floor: np.ndarray

    @property
    def n_parted(self) -> int:
        """How many walkers reached the second stage (their losses parted)."""
        return int(np.isfinite(self.parting).sum())

    def plateau_separates(self, factor: float = 10.0) -> bool:
        """Whether a plateau separates the two drops of the loss.

        True if every walker that parted did so at least ``factor`` times later than it
        found ``u``.
        """
        parted = np.isfinite(self.parting)
        return bool(np.all(self.parting[parted] >= factor * self.u_found[parted]))

    def table(self) -> str:
        """A Markdown table, one row per walker."""
        rows = ["| walker | u found | v used | losses part | below floor |", "|---|---|---|---|---|"]
        fmt = lambda x: "never" if not np.isfinite(x) else f"{int(x):,}"  # noqa: E731
        for i in range(len(self.u_found)):
            rows.append(f"| {i} | " + " | ".join(fmt(getattr(self, k)[i])
                        for k in ("u_found", "v_used", "parting", "below_floor")) + " |")
        return "\n".join(rows)


def staircase(r: BiasRun, gap_tol: float = GAP_TOL, v_eta: float = V_ETA, u_eta: float = U_ETA) -> Staircase:
    """The steps of :class:`Staircase` for the run ``r``."""
    u_found = _sustained(r.steps, np.abs(r.alpha_u).min(axis=1) >= u_eta)
    return Staircase(u_found, v_used_step(r, v_eta), parting_step(r, gap_tol), below_floor_step(r))


@dataclass(frozen=True)
class LabelledRun:
    """A run with the title of its panel and its provenance (``source``) for the caption."""

    run: BiasRun
    title: str
    source: str


def saved_beside(live: BiasRun, keys: tuple[str, ...], scale: str = "laptop") -> list[LabelledRun]:
    """The live run, then the saved runs ``keys`` at ``scale`` that exist, each labelled.

    ``live`` is this scale's run; each run is labelled with its d, steps and provenance
    (scale, machine, commit).
    """
    d, scale_now = live.config["d"], current_scale()
    out = [LabelledRun(live, f"live {scale_now}, d = {d}", f"live {scale_now}: {live.wall_time:.0f} s on this machine")]
    for key in keys:
        cfg, optimiser = run_config(key, scale)
        hit = results.load(f"mcm_bias_{optimiser}", cfg)
        if hit is not None:
            r = BiasRun.from_result(hit)
            out.append(LabelledRun(r, f"saved, d = {cfg.d}, {cfg.steps:.0e} steps", hit.describe()))
    return out


def summary_line(r: BiasRun) -> str:
    """The plateau (median final MCM loss), the floor, the walkers that parted, the final amplitude."""
    s = staircase(r)
    return (f"plateau (median final MCM loss) {np.median(r.mcm[:, -1]):.4f}, floor {r.floor:.4f}, "
            f"walkers parted {s.n_parted}/{len(s.parting)}, final A {np.median(r.amplitude[:, -1]):.3f}")


#: the saved variants of the two-neuron run shown beside the live Adam run, with their titles
VARIANTS: dict[str, str] = {"p4": "four neurons, online SGD (saved)", "adam": "two neurons, Adam (saved)",
                            "adam_A": "two neurons, Adam, trainable A (saved)"}


@dataclass(frozen=True)
class MonteCarloCheck:
    """The exact loss of weights ``W`` beside its Monte Carlo estimate ``mean`` +- ``se``."""

    exact: float
    mean: float
    se: float

    @property
    def z(self) -> float:
        """``(exact - mean) / se``."""
        return (self.exact - self.mean) / self.se


def monte_carlo_check(model: MixedCumulantModel, W: np.ndarray | torch.Tensor, activation: str, a: float, *,
                      A: float = 1.0, data: str = "mcm", n: int = 200_000, seed: int = 0) -> MonteCarloCheck:
    """The exact loss of the tied neurons ``W`` (p, d) against a Monte Carlo estimate.

    The exact loss (:func:`~easyhard.theory.surrogate_loss.tied_loss`) on ``data``
    (``"mcm"`` or ``"surrogate"``) against ``n`` sampled losses
    (:func:`~easyhard.theory.surrogate_loss.monte_carlo_loss`, from ``seed``).
    """
    neuron = NeuronSpec(activation, a, A=A)
    exact = float(tied_loss(model, *overlaps(model, W), neuron, data=data))
    mean, se = monte_carlo_loss(model, W, neuron, data=data, n=n, seed=seed)
    return MonteCarloCheck(exact, mean, se)

"""The simplicity bias of a U-Net on CIFAR-10: the chapter's experiment, its saved runs, its checks.

One frozen config, :class:`CifarBiasConfig`, with ``ci``/``laptop``/``paper`` presets
(:func:`cifar_bias_config`), and what the chapter computes from it:

* :func:`kurtosis_study`: the excess kurtosis ``kappa_4 / kappa_2^2`` of CIFAR-10 and of
  its Gaussian surrogate along principal axes and random directions, with
  :meth:`KurtosisStudy.heavy_tailed` and :meth:`KurtosisStudy.surrogate_is_gaussian`,
  the two claims the chapter checks;
* :func:`floor_table`: where the real-image loss crosses the Wiener floor;
* :func:`saved_pairs`: the saved longer runs *of the configs the chapter asks for*
  (:attr:`CifarBiasConfig.saved`, in order of preference), one (real, control) pair
  per saved seed, never "the newest run of a scale";
* :func:`spread_table`: the parting step of every saved seed (the Refinetti-style
  comparison over seeds is :func:`easyhard.train.parting.seed_average`);
* :func:`seed_claims`, :func:`claims_table`: every claim of the chapter on every saved seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from easyhard import results
from easyhard.config import preset
from easyhard.data.cifar import Cifar10, load_cifar10
from easyhard.data.cifar_surrogate import cifar_surrogate, directions, excess_kurtosis_along
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.train import RESULT_NAME, TrainConfig, train_config
from easyhard.train import saved_pairs as _saved_pairs
from easyhard.train.evaluation import parting_step
from easyhard.train.parting import Parting, parting, parting_spread

Arrays = Mapping[str, np.ndarray]

#: The exact config of the pilot runs saved on 2026-11-26 (seed 0, real and control):
#: the laptop preset before it evaluated 1024 images at 24 steps, and before EMA
#: warm-up and EMA evaluation existed (so those two fields are absent, not False).
PILOT_LAPTOP: dict[str, Any] = {
    "T": 1000, "batch_size": 64, "beta_end": 0.02, "beta_start": 0.0001, "ch": None,
    "checkpoint_every": 250, "compile": False, "data": "real", "ema_decay": 0.9999,
    "eval_seed": 12345, "eval_t": [50, 100, 250, 500, 750], "grad_clip": 1.0, "lr": 0.0002,
    "n_eval": 256, "n_evals": 16, "n_show": 6, "precision": "bf16", "ridge": 1e-05,
    "scale": "laptop", "seed": 0, "show_t": 250, "source": "auto", "steps": 1600, "unet": "tiny",
}


def _saved_configs() -> tuple[tuple[str, Mapping[str, Any] | TrainConfig], ...]:
    return (("paper preset", train_config("paper")), ("laptop preset", train_config("laptop")),
            ("laptop pilot (256 evaluation images)", PILOT_LAPTOP))


@dataclass(frozen=True)
class CifarBiasConfig:
    """The CIFAR-10 chapter at one scale.

    Attributes
    ----------
    live : the run trained (or loaded from the cache) by the chapter itself
    saved : ``(label, config)`` of the saved longer runs the chapter shows, in order of
        preference: the first of them with a saved (real, control) pair is shown
    seeds : the seeds of a saved config that count (the training command saves 0, 1, 2)
    n_proj : images and surrogate samples in the kurtosis figure
    n_directions : principal axes and random directions in the kurtosis figure
    direction_seed, sample_seed : seeds of the random directions and surrogate samples
    """

    live: TrainConfig
    saved: tuple[tuple[str, Mapping[str, Any] | TrainConfig], ...] = field(default_factory=_saved_configs)
    seeds: tuple[int, ...] = (0, 1, 2)
    n_proj: int = 10_000
    n_directions: int = 20
    direction_seed: int = 2
    sample_seed: int = 1


def load_data(cfg: CifarBiasConfig) -> tuple[Cifar10, GaussianSurrogate]:
    """The CIFAR-10 training split and its Gaussian surrogate.

    The split from :func:`~easyhard.data.cifar.load_cifar10` (source ``cfg.live.source``),
    the surrogate from :func:`~easyhard.data.cifar_surrogate.cifar_surrogate` (ridge
    ``cfg.live.ridge``, cached).
    """
    train_set = load_cifar10("train", source=cfg.live.source)
    return train_set, cifar_surrogate(train_set, ridge=cfg.live.ridge)


def cifar_bias_config(scale: str | None = None) -> CifarBiasConfig:
    """The chapter's config at ``scale`` (default: the current scale).

    Only the live run changes with the scale; the saved runs shown are the same at every
    scale (a ``ci`` build shows the saved ``laptop`` runs beside its own small run).
    """
    name = preset({"ci": "ci", "laptop": "laptop", "paper": "paper"}, scale)
    return CifarBiasConfig(live=train_config(name))


# --- the kurtosis figure ---------------------------------------------------------------


@dataclass(frozen=True)
class KurtosisStudy:
    """Projections of CIFAR-10 and of surrogate samples, and excess kurtosis along directions.

    ``kurtosis[(kind, source)]``: the excess kurtosis along each of the ``kind`` directions
    (``"pca"``: the top principal axes, largest first; ``"random"``), for ``source``
    ``"real"`` or ``"surrogate"``. ``panels``: ``(title, real projection, surrogate
    projection)`` for the two histogram panels (one pixel, one principal axis).
    """

    n: int
    kurtosis: dict[tuple[str, str], np.ndarray]
    panels: tuple[tuple[str, torch.Tensor, torch.Tensor], ...]

    def medians(self) -> dict[tuple[str, str], float]:
        """The median excess kurtosis per (kind, source)."""
        return {k: float(np.median(v)) for k, v in self.kurtosis.items()}

    def heavy_tailed(self, pca: float = 0.5, random: float = 0.1) -> bool:
        """Whether CIFAR-10 is heavy-tailed along principal axes and random directions.

        True if its median excess kurtosis exceeds ``pca`` along principal axes and
        ``random`` along random directions.
        """
        med = self.medians()
        return med["pca", "real"] > pca and med["random", "real"] > random

    def surrogate_max(self) -> float:
        """The largest ``|excess kurtosis|`` of the surrogate over all directions."""
        return float(max(np.abs(v).max() for (_, src), v in self.kurtosis.items() if src == "surrogate"))

    def surrogate_is_gaussian(self, z: float = 6.0) -> bool:
        """Whether the surrogate's excess kurtosis stays within ``z`` sampling SEs of 0.

        Along every direction; the SE of a Gaussian sample's excess kurtosis is
        ``sqrt(24 / n)``.
        """
        return self.surrogate_max() < z * np.sqrt(24.0 / self.n)


def kurtosis_study(train_set: Cifar10, surrogate: GaussianSurrogate, cfg: CifarBiasConfig) -> KurtosisStudy:
    """Excess kurtosis of CIFAR-10 and of its surrogate along principal and random directions.

    Of ``cfg.n_proj`` evenly spaced training images and as many surrogate samples, along
    ``cfg.n_directions`` principal axes and random directions.
    """
    n = cfg.n_proj
    if not 8 <= n <= len(train_set):
        raise ValueError(f"n_proj must lie in [8, {len(train_set)}], got {n}")
    x_real = train_set.images(slice(0, len(train_set), len(train_set) // n))[:n].reshape(n, -1)
    x_sur = surrogate.sample(n, generator=torch.Generator().manual_seed(cfg.sample_seed))
    dirs = {"pca": directions(surrogate, "pca", cfg.n_directions),
            "random": directions(surrogate, "random", cfg.n_directions, seed=cfg.direction_seed)}
    kurt = {(kind, src): excess_kurtosis_along(x, d) for kind, d in dirs.items()
            for src, x in (("real", x_real), ("surrogate", x_sur))}
    pixel = 16 * 32 + 16  # red channel (the first 1024 entries), centre pixel
    axis = dirs["pca"][min(4, cfg.n_directions - 1)]
    panels = (("one pixel (red, centre)", x_real[:, pixel], x_sur[:, pixel]),
              (f"projection on principal axis {min(5, cfg.n_directions)}",
               x_real.double() @ axis, x_sur.double() @ axis))
    return KurtosisStudy(n, kurt, panels)


# --- one run ----------------------------------------------------------------------------


def floor_table(r: Arrays, z: float = 2.0) -> str:
    """A Markdown table of the losses against the Wiener floor, one row per noise level.

    Per noise level: the Wiener floor, the first step from which the real-image loss
    stays more than ``z`` SE below it, and the final losses.
    """
    rows = ["| t | Wiener floor | first step below floor | final real | final surrogate "
            "| final (real - floor) / SE |", "|---|---|---|---|---|---|"]
    for j, t in enumerate(r["eval_t"]):
        below = parting_step(r["steps"], r["floor"][j] - r["real"][:, j], r["se_real"][:, j], z=z)
        rows.append(f"| {t} | {r['floor'][j]:.4f} | {below if below is not None else 'not yet'} | "
                    f"{r['real'][-1, j]:.4f} | {r['surrogate'][-1, j]:.4f} | {below_floor_z(r, int(t)):+.1f} |")
    return "\n".join(rows)


def level(r: Arrays, t: int) -> int:
    """The column of noise level ``t`` in a run's arrays (ValueError if it was not evaluated)."""
    ts = [int(x) for x in r["eval_t"]]
    if t not in ts:
        raise ValueError(f"t = {t} was not evaluated in this run; its levels are {ts}")
    return ts.index(t)


def below_floor_z(r: Arrays, t: int) -> float:
    """``(L_real - floor) / SE`` at the last step at level ``t``: negative below the floor."""
    j = level(r, t)
    return float((r["real"][-1, j] - r["floor"][j]) / r["se_real"][-1, j])


# --- the saved longer runs --------------------------------------------------------------


@dataclass(frozen=True)
class SavedPairs:
    """The saved (real, control) pairs of one config the chapter asked for, one per seed.

    Empty (falsy) when no config asked for has a saved pair; :meth:`summary` then says so.
    """

    label: str | None
    pairs: tuple[tuple[results.Result, results.Result], ...]
    asked: tuple[str, ...]

    def __bool__(self) -> bool:
        """Whether any saved pair was found."""
        return bool(self.pairs)

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds of the saved pairs, sorted."""
        return tuple(int(r.config["seed"]) for r, _ in self.pairs)

    @property
    def first(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The arrays of the pair of the lowest seed (IndexError when empty)."""
        real, ctrl = self.pairs[0]
        return real.arrays, ctrl.arrays

    def arrays(self) -> list[tuple[dict[str, np.ndarray], dict[str, np.ndarray]]]:
        """The arrays of every pair, by seed."""
        return [(r.arrays, c.arrays) for r, c in self.pairs]

    def summary(self) -> str:
        """One sentence: which config, how many seeds; or that none was found, and where."""
        if not self.pairs:
            return ("No saved longer run with its control was found in the results folder "
                    "(`easyhard.paths.results_dir()`) for the configs this chapter asks for "
                    f"({'; '.join(self.asked)}). The cells below that need one say so and skip: "
                    "train them with `python -m easyhard.train --preset laptop --data both --seeds 0 1 2`, "
                    "or point $EASYHARD_RESULTS_DIR at a folder that holds them.")
        n = len(self.pairs)
        return (f"{n} saved seed{'s' if n > 1 else ''} ({', '.join(map(str, self.seeds))}) of the "
                f"{self.label}, each with its control"
                + ("; one seed only, so the spread across seeds is not measured yet." if n == 1 else "."))

    def describe(self, seeds: Sequence[int] | None = None) -> str:
        """A figure caption: the config, the data and the provenance of each saved run.

        Each saved run's scale, machine and commit (of ``seeds`` only, default all), one
        run per line.
        """
        if not self.pairs:
            return "no saved run"
        shown = [r for r, _ in self.pairs if seeds is None or r.config["seed"] in seeds]
        if not shown:
            raise ValueError(f"seeds {seeds} are not among the saved seeds {self.seeds}")
        c, a = shown[0].config, shown[0].arrays
        head = (f"saved {self.label}: {int(a['n_params']):,}-parameter U-Net, lr {c['lr']:g}, "
                f"batch {c['batch_size']}, {c['n_eval']} evaluation images; {a['data_label']}")
        return "\n".join([head, *(f"seed {r.config['seed']} (and its control): {r.describe()}" for r in shown)])

    def partings(self, **kwargs: Any) -> list[Parting]:
        """:func:`easyhard.train.parting.parting` of every pair (keyword arguments passed on)."""
        return [parting(r, c, **kwargs) for r, c in self.arrays()]


def saved_pairs(cfg: CifarBiasConfig, root: str | None = None) -> SavedPairs:
    """The saved pairs of the first config of ``cfg.saved`` that has any, restricted to ``cfg.seeds``.

    A saved run counts only if its config equals the one asked for, up to the seed (and
    ``data`` for the control): a run of another learning rate or evaluation size at the
    same scale is never shown in its place.
    """
    for label, config in cfg.saved:
        found = _saved_pairs(config, root=root, seeds=cfg.seeds)
        if found:
            return SavedPairs(label, tuple(found), tuple(lbl for lbl, _ in cfg.saved))
    return SavedPairs(None, (), tuple(lbl for lbl, _ in cfg.saved))


def spread_table(parts: Sequence[Parting], seeds: Sequence[int]) -> str:
    """A Markdown table of the parting step per noise level and seed, with its range."""
    if len(parts) != len(seeds):
        raise ValueError(f"parts and seeds must have the same length, got {len(parts)} and {len(seeds)}")
    spread = parting_spread(parts)
    rows = ["| t | " + " | ".join(f"seed {s}" for s in seeds) + " | parted in | earliest - latest |",
            "|---|" + "---|" * len(seeds) + "---|---|"]
    for t, steps in spread.items():
        hit = [s for s in steps if s is not None]
        span = f"{min(hit)} - {max(hit)}" if hit else "-"
        rows.append(f"| {t} | " + " | ".join("not within the run" if s is None else str(s) for s in steps)
                    + f" | {len(hit)}/{len(steps)} seeds | {span} |")
    return "\n".join(rows)


@dataclass(frozen=True)
class SeedClaim:
    """One claim of the chapter on one saved seed: what was measured and whether it holds.

    ``asserted`` claims end in :func:`easyhard.checks.check`; the early agreement is
    reported, not asserted, on saved runs: it is the claim that the saved laptop runs
    put in question, and the chapter shows where and why it fails instead of hiding it.
    """

    seed: int
    claim: str
    measured: str
    held: bool
    asserted: bool


def seed_claims(parts: Sequence[Parting], pairs: Sequence[tuple[Arrays, Arrays]],
                seeds: Sequence[int]) -> list[SeedClaim]:
    """Every claim of the chapter's list, evaluated on every saved seed (the real run of each pair)."""
    if not len(parts) == len(pairs) == len(seeds):
        raise ValueError("parts, pairs and seeds must have the same length")
    out = []
    for seed, p, (real, _) in zip(seeds, parts, pairs, strict=True):
        j = level(real, 100)
        half, step = p.halfway_step[j], p.step[j]
        rows = [
            ("t = 100: the losses agree within 3 SE until the loss is half-way to the floor",
             f"max {p.agree_max_z[j]:.1f} SE before step {half}; parts at step {step}",
             p.agree_max_z[j] <= 3, False),
            ("the parting step grows with the noise level t (and t = 100 parts)",
             "parting steps " + ", ".join(f"t={t}: {s}" for t, s in zip(p.eval_t, p.step, strict=True)),
             p.grows_with_t() and step is not None, True),
            ("the control net never parts", f"control max {max(p.control_max_z):.1f} SE",
             all(s is None for s in p.control_step), True),
            ("t = 100: the real-image loss ends more than 10 SE below the Wiener floor",
             f"{below_floor_z(real, 100):+.1f} SE", below_floor_z(real, 100) < -10, True),
            ("t = 100: on surrogate samples the net stays above the floor",
             f"min surrogate loss - floor {float((real['surrogate'][:, j] - real['floor'][j]).min()):+.4f}",
             bool((real["surrogate"][:, j] > real["floor"][j]).all()), True),
            ("t = 500: the real-image loss is still above the floor",
             f"{below_floor_z(real, 500):+.1f} SE", below_floor_z(real, 500) > 0, True),
        ]
        out += [SeedClaim(int(seed), c, m, bool(h), a) for c, m, h, a in rows]
    return out


def claims_table(claims: Sequence[SeedClaim]) -> str:
    """A Markdown table of :func:`seed_claims`: claim, seed, measured, reproduced, asserted."""
    rows = ["| seed | claim | measured | reproduced | asserted |", "|---|---|---|---|---|"]
    rows += [f"| {c.seed} | {c.claim} | {c.measured} | {'yes' if c.held else '**no**'} | "
             f"{'yes' if c.asserted else 'no (reported)'} |" for c in claims]
    return "\n".join(rows)


__all__ = ["PILOT_LAPTOP", "RESULT_NAME", "CifarBiasConfig", "KurtosisStudy", "SavedPairs",
           "SeedClaim", "below_floor_z", "cifar_bias_config", "claims_table", "floor_table", "kurtosis_study",
           "level", "load_data", "saved_pairs", "seed_claims", "spread_table"]

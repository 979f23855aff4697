"""The step at which a U-Net trained on CIFAR-10 parts from its Gaussian surrogate.

A run's arrays (:func:`easyhard.train.train`) hold, at each evaluation step
``s`` and noise level ``t``, the test loss on real images ``L_real`` and on
surrogate samples ``L_sur`` with the paired standard error ``se_diff`` of
their difference. The *gap* of a net is

    g(s, t) = L_sur(s, t) - L_real(s, t),

positive when the net does better on real images than on Gaussian samples of
the same mean and covariance, i.e. when it uses higher-order statistics.

A finite evaluation set gives a gap that is not zero even for a net that has
learnt nothing beyond the covariance: the *control* net, trained on surrogate
samples, shows excursions of a few paired SE. The criterion is therefore
referenced to the control run on the same evaluation set:

    excess(s, t) = g_real-net(s, t) - g_control(s, t),
    SE(s, t)     = std_i[(l^R_sur,i - l^R_real,i) - (l^C_sur,i - l^C_real,i)] / sqrt(n)

with the per-image losses ``l`` when both runs saved them (the same images
and noise draws, so the difference is paired image by image), else the
conservative ``sqrt(se_R^2 + se_C^2)`` (it ignores the positive correlation
of the two nets' errors on the same images). The *parting step* at ``t`` is
the first evaluation step from which ``excess > z SE`` holds at every later
evaluation (``z = 4`` by default).

The Refinetti-style comparison (Refinetti, Ingrosso and Goldt 2023) asks the
same question on real test images only: does the net trained on real images
beat the control there? Its difference ``L^C_real - L^R_real`` is paired
image by image when per-image losses were saved. Over several seeds,
:func:`seed_average` references it to the seed-to-seed spread instead, the
noise of two different training trajectories.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from easyhard._validation import check_choice, check_scalar

Arrays = Mapping[str, np.ndarray]
WEIGHTS: tuple[str, ...] = ("raw", "ema")


def _key(name: str, weights: str) -> str:
    check_choice(weights, "weights", WEIGHTS)
    return name if weights == "raw" else f"ema_{name}"


def _check_pair(real_run: Arrays, control_run: Arrays) -> None:
    for key in ("steps", "eval_t"):
        if not np.array_equal(real_run[key], control_run[key]):
            raise ValueError(f"the real and control runs must share {key!r}: "
                             f"{real_run[key]} vs {control_run[key]}")
    if real_run["real"].shape != control_run["real"].shape:
        raise ValueError("the real and control runs must have the same evaluation shape, got "
                         f"{real_run['real'].shape} and {control_run['real'].shape}")


def sustained_from(steps: np.ndarray, above: np.ndarray) -> int | None:
    """The first step from which ``above`` holds at every later evaluation (None if never).

    Parameters
    ----------
    steps : (n_evals,) int array
    above : (n_evals,) bool array
    """
    steps, above = np.asarray(steps), np.asarray(above, dtype=bool)
    if steps.shape != above.shape:
        raise ValueError(f"steps and above must have the same shape, got {steps.shape} and {above.shape}")
    # tail[i] = above[i:].all()
    tail = np.flip(np.logical_and.accumulate(np.flip(above)))
    hits = np.flatnonzero(tail)
    return int(steps[hits[0]]) if hits.size else None


def gap(run: Arrays, weights: str = "raw") -> tuple[np.ndarray, np.ndarray]:
    """The gap ``L_sur - L_real`` and its paired SE, shapes (n_evals, n_t + 1)."""
    return (run[_key("surrogate", weights)] - run[_key("real", weights)],
            run[_key("se_diff", weights)])


def excess_gap(real_run: Arrays, control_run: Arrays, weights: str = "raw"
               ) -> tuple[np.ndarray, np.ndarray, bool]:
    """``excess = gap_real_net - gap_control`` and its SE, shapes (n_evals, n_t).

    Returns ``(excess, se, paired)``: ``paired`` is True when the SE comes from
    per-image losses (image-by-image pairing across the two nets), False when it
    is the conservative ``sqrt(se_R^2 + se_C^2)``. Only the noise levels are
    returned, not the average over them.
    """
    _check_pair(real_run, control_run)
    n_t = len(real_run["eval_t"])
    g_r, se_r = gap(real_run, weights)
    g_c, se_c = gap(control_run, weights)
    excess = (g_r - g_c)[:, :n_t]
    per_image = [_key(k, weights) for k in ("real_per_image", "surrogate_per_image")]
    if all(k in real_run and k in control_run for k in per_image):
        d = [run[per_image[1]].astype(np.float64) - run[per_image[0]].astype(np.float64)
             for run in (real_run, control_run)]
        diff = d[0] - d[1]  # (n_evals, n_t, n)
        return excess, diff.std(axis=2, ddof=1) / np.sqrt(diff.shape[2]), True
    return excess, np.hypot(se_r, se_c)[:, :n_t], False


@dataclass(frozen=True)
class Parting:
    """The control-referenced parting of one pair of runs, per noise level.

    Attributes
    ----------
    eval_t : noise levels
    step : parting step per t (None: not within the run)
    control_step : the control's own parting step (its ``|gap| > z se_diff`` sustained)
    control_max_z : the largest ``|gap| / se_diff`` of the control over all steps > 0
    halfway_step : first step at which the real-trained net's real-image loss has fallen
        half-way from its step-0 value to the Wiener floor (None: not within the run)
    agree_max_z : the largest ``|gap| / se_diff`` of the real-trained net over the evaluations
        before ``halfway_step``, where the loss has fallen less than half-way (all steps when
        it never does)
    drop_to_floor : fraction of the way to the floor made at the parting step,
        ``(L(0) - L(s_part)) / (L(0) - floor)`` (nan without a parting step)
    drop_of_run : fraction of the run's own drop made at the parting step,
        ``(L(0) - L(s_part)) / (L(0) - L(end))``
    paired : whether the SEs are paired image by image across the two nets
    z : threshold in SE
    """

    eval_t: tuple[int, ...]
    step: tuple[int | None, ...]
    control_step: tuple[int | None, ...]
    control_max_z: tuple[float, ...]
    halfway_step: tuple[int | None, ...]
    agree_max_z: tuple[float, ...]
    drop_to_floor: tuple[float, ...]
    drop_of_run: tuple[float, ...]
    paired: bool
    z: float

    def grows_with_t(self) -> bool:
        """Whether the parting step is non-decreasing in t.

        A level that never parts counts as parting after the run (so no higher t
        may part before it).
        """
        return grows_with_t(self.step)

    def table(self) -> str:
        """A Markdown table, one row per noise level."""
        rows = [f"| t | parts at (excess > {self.z:g} SE on) | share of the way to the floor by then | "
                "loss half-way to the floor at | max abs(gap)/SE before then | control: max abs(gap)/SE |",
                "|---|---|---|---|---|---|"]
        for j, t in enumerate(self.eval_t):
            part, half = self.step[j], self.halfway_step[j]
            rows.append(
                f"| {t} | {part if part is not None else 'not within the run'} | "
                f"{'-' if part is None else f'{self.drop_to_floor[j]:.0%}'} | "
                f"{half if half is not None else 'not within the run'} | "
                f"{self.agree_max_z[j]:.1f} | {self.control_max_z[j]:.1f} |")
        return "\n".join(rows)


def grows_with_t(parts: Sequence[int | None]) -> bool:
    """True when ``parts`` (ordered by increasing t) is non-decreasing, None = infinity."""
    big = [np.inf if p is None else p for p in parts]
    return all(a <= b for a, b in zip(big[:-1], big[1:], strict=True))


def halfway_step(run: Arrays, j: int, fraction: float = 0.5, weights: str = "raw") -> int | None:
    """First step at which the real-image loss at level ``j`` is ``fraction`` of the way to the floor.

    The share of the way is ``(L(0) - L(s)) / (L(0) - floor)``, from the step-0
    value to the Wiener floor.
    """
    fraction = check_scalar(fraction, "fraction", lo=0.0, hi=1.0, closed="right")
    loss = run[_key("real", weights)][:, j]
    share = (loss[0] - loss) / (loss[0] - run["floor"][j])
    hits = np.flatnonzero(share >= fraction)
    return int(run["steps"][hits[0]]) if hits.size else None


@dataclass(frozen=True)
class Agreement:
    """How well one net's real and surrogate losses agree early in training, per noise level.

    Early means before its real-image loss has fallen ``fraction`` of the way
    to the Wiener floor.

    ``halfway_step[j]``: the first step at which it has (None: not within the run);
    ``max_z[j]``: the largest ``|L_sur - L_real| / se_diff`` over the evaluations before
    that step (all steps when it never falls that far).
    """

    eval_t: tuple[int, ...]
    halfway_step: tuple[int | None, ...]
    max_z: tuple[float, ...]
    fraction: float

    def holds(self, z: float = 3.0) -> bool:
        """Whether the losses agree within ``z`` paired SE before the half-way step at every t."""
        return all(m <= z for m in self.max_z)

    def table(self) -> str:
        """A Markdown table, one row per noise level."""
        rows = [f"| t | loss {self.fraction:.0%} of the way to the floor at | max abs(gap)/SE before then |",
                "|---|---|---|"]
        rows += [f"| {t} | {h if h is not None else 'not within the run'} | {m:.1f} |"
                 for t, h, m in zip(self.eval_t, self.halfway_step, self.max_z, strict=True)]
        return "\n".join(rows)


def early_agreement(run: Arrays, fraction: float = 0.5, weights: str = "raw") -> Agreement:
    """:class:`Agreement` of one run (no control needed)."""
    steps = np.asarray(run["steps"])
    g, se = gap(run, weights)
    halves, zs = [], []
    for j in range(len(run["eval_t"])):
        half = halfway_step(run, j, fraction, weights)
        before = steps < half if half is not None else np.ones(len(steps), dtype=bool)
        z = np.abs(g[before, j]) / np.maximum(se[before, j], 1e-300)
        halves.append(half)
        zs.append(float(z.max()) if z.size else 0.0)
    return Agreement(tuple(int(t) for t in run["eval_t"]), tuple(halves), tuple(zs), float(fraction))


def parting(real_run: Arrays, control_run: Arrays, *, z: float = 4.0, fraction: float = 0.5,
            weights: str = "raw") -> Parting:
    """The control-referenced parting of ``real_run`` against ``control_run``.

    ``real_run`` is trained on CIFAR-10, ``control_run`` on surrogate samples;
    both are evaluated on the same sets.

    Parameters
    ----------
    real_run, control_run : arrays of :func:`easyhard.train.train` (same steps and eval_t)
    z : threshold of the parting criterion, in SE of the excess gap
    fraction : the share of the way to the Wiener floor that defines the half-way step
    weights : ``"raw"`` or ``"ema"`` (needs runs evaluated with EMA weights)
    """
    z = check_scalar(z, "z", lo=0.0, closed="neither")
    excess, se, paired = excess_gap(real_run, control_run, weights)
    steps = np.asarray(real_run["steps"])
    g_c, se_c = gap(control_run, weights)
    agree = early_agreement(real_run, fraction, weights)
    loss = real_run[_key("real", weights)]
    out: dict[str, list] = {k: [] for k in ("step", "control_step", "control_max_z",
                                            "drop_to_floor", "drop_of_run")}
    for j in range(len(real_run["eval_t"])):
        part = sustained_from(steps, excess[:, j] > z * se[:, j])
        zc = np.abs(g_c[:, j]) / np.maximum(se_c[:, j], 1e-300)
        out["step"].append(part)
        out["control_step"].append(sustained_from(steps, zc > z))
        out["control_max_z"].append(float(zc[steps > 0].max()))
        if part is None:
            out["drop_to_floor"].append(float("nan"))
            out["drop_of_run"].append(float("nan"))
        else:
            at = loss[np.searchsorted(steps, part), j]
            out["drop_to_floor"].append(float((loss[0, j] - at) / (loss[0, j] - real_run["floor"][j])))
            out["drop_of_run"].append(float((loss[0, j] - at) / (loss[0, j] - loss[-1, j])))
    return Parting(eval_t=agree.eval_t, halfway_step=agree.halfway_step, agree_max_z=agree.max_z,
                   **{k: tuple(v) for k, v in out.items()}, paired=paired, z=float(z))


@dataclass(frozen=True)
class Comparison:
    """Control net against real-trained net on the same real test images, per noise level.

    ``diff[s, j] = L^C_real - L^R_real`` (positive: the real-trained net is better),
    ``se[s, j]`` its SE (paired image by image when ``paired``), ``step[j]`` the first
    step from which ``diff > z se`` at every later evaluation.
    """

    eval_t: tuple[int, ...]
    steps: np.ndarray
    diff: np.ndarray
    se: np.ndarray
    step: tuple[int | None, ...]
    paired: bool
    z: float


def refinetti(real_run: Arrays, control_run: Arrays, *, z: float = 4.0, weights: str = "raw"
              ) -> Comparison:
    """Compare the control net with the real-trained net on the same real test images."""
    z = check_scalar(z, "z", lo=0.0, closed="neither")
    _check_pair(real_run, control_run)
    n_t = len(real_run["eval_t"])
    diff = (control_run[_key("real", weights)] - real_run[_key("real", weights)])[:, :n_t]
    key = _key("real_per_image", weights)
    paired = key in real_run and key in control_run
    if paired:
        d = control_run[key].astype(np.float64) - real_run[key].astype(np.float64)
        se = d.std(axis=2, ddof=1) / np.sqrt(d.shape[2])
    else:
        se = np.hypot(real_run[_key("se_real", weights)], control_run[_key("se_real", weights)])[:, :n_t]
    steps = np.asarray(real_run["steps"])
    step = tuple(sustained_from(steps, diff[:, j] > z * se[:, j]) for j in range(n_t))
    return Comparison(tuple(int(t) for t in real_run["eval_t"]), steps, diff, se, step, paired, float(z))


@dataclass(frozen=True)
class SeedAverage:
    """The Refinetti comparison of several seeds: its mean over seeds and the seed-to-seed SE.

    Two nets trained on different data streams differ, even before either has learnt
    anything specific to its data, by far more than the paired SE of
    :class:`Comparison` (which counts only the evaluation images' noise, for two fixed
    nets): the noise of the comparison is that of the training trajectory. Its size is
    measured across the ``K`` seeds,

        m(s, t) = mean_k diff_k(s, t),    SE(s, t) = std_k diff_k(s, t) / sqrt(K)   (ddof 1),

    and ``m / SE`` follows Student's t with ``K - 1`` degrees of freedom when the two nets
    are equally good on average.

    Attributes
    ----------
    eval_t, steps : noise levels and evaluation steps
    mean, se : ``m`` and ``SE``, shape ``(n_evals, n_t)``
    n_seeds : ``K``
    all_seeds_step : per t, the first step from which every seed's real-trained net leads
        by a sustained ``z`` paired SE (``Comparison.step``): the latest over seeds
        (None when a seed never parts)
    halfway_step : per t, the latest over seeds of the step at which the real-trained net's
        real-image loss has fallen ``fraction`` of the way to the Wiener floor
    max_z_before : per t, the largest ``|m| / SE`` over the evaluations (after step 0)
        before ``all_seeds_step`` (all of them when it is None)
    max_paired_z_before : per t, the largest ``|diff_k| / SE_k`` in paired SE, over seeds
        and the same evaluations: what the per-seed paired SE would call a disagreement
    fraction : the share of the way to the floor that defines ``halfway_step``
    """

    eval_t: tuple[int, ...]
    steps: np.ndarray
    mean: np.ndarray
    se: np.ndarray
    n_seeds: int
    all_seeds_step: tuple[int | None, ...]
    halfway_step: tuple[int | None, ...]
    max_z_before: tuple[float, ...]
    max_paired_z_before: tuple[float, ...]
    fraction: float

    def agrees_then_parts(self, t: int, z: float = 3.0) -> bool:
        """Whether at level ``t`` the two nets agree within the seed spread, then part.

        True if every seed's real-trained net ends up ahead (``all_seeds_step``), not
        before its loss has fallen ``fraction`` of the way to the floor, and before that
        the seed mean stays within ``z`` seed-to-seed SE of zero.
        """
        if t not in self.eval_t:
            raise ValueError(f"t = {t} was not evaluated; evaluated: {self.eval_t}")
        j = self.eval_t.index(t)
        part, half = self.all_seeds_step[j], self.halfway_step[j]
        return part is not None and half is not None and half <= part and self.max_z_before[j] <= z

    def table(self) -> str:
        """A Markdown table, one row per noise level."""
        rows = ["| t | every seed's real-trained net ahead from | loss half-way to the floor at (latest seed) "
                "| before then: max abs(mean)/seed SE | before then: max abs(diff)/paired SE |",
                "|---|---|---|---|---|"]
        for j, t in enumerate(self.eval_t):
            part, half = self.all_seeds_step[j], self.halfway_step[j]
            rows.append(f"| {t} | {part if part is not None else 'not within the run'} | "
                        f"{half if half is not None else 'not within the run'} | "
                        f"{self.max_z_before[j]:.1f} | {self.max_paired_z_before[j]:.0f} |")
        return "\n".join(rows)


def seed_average(comparisons: Sequence[Comparison], real_runs: Sequence[Arrays],
                 fraction: float = 0.5) -> SeedAverage:
    """:class:`SeedAverage` of the :func:`refinetti` comparisons of several seeds.

    Parameters
    ----------
    comparisons : one :class:`Comparison` per seed (at least 2), sharing steps and eval_t
    real_runs : the real-trained run of each seed, in the same order (for the half-way step)
    fraction : the share of the way to the Wiener floor that defines the half-way step
    """
    if len(comparisons) < 2:
        raise ValueError(f"comparisons must hold at least 2 seeds (a seed-to-seed SE), got {len(comparisons)}")
    if len(real_runs) != len(comparisons):
        raise ValueError(f"real_runs and comparisons must have the same length, got {len(real_runs)} "
                         f"and {len(comparisons)}")
    first = comparisons[0]
    if any(c.eval_t != first.eval_t or not np.array_equal(c.steps, first.steps) for c in comparisons):
        raise ValueError("all comparisons must share steps and eval_t")
    diff = np.stack([c.diff for c in comparisons])  # (K, n_evals, n_t)
    paired_z = np.abs(diff) / np.maximum(np.stack([c.se for c in comparisons]), 1e-300)
    mean, se = diff.mean(axis=0), diff.std(axis=0, ddof=1) / np.sqrt(len(comparisons))
    steps = first.steps
    parts, halves, zs, pzs = [], [], [], []
    for j in range(len(first.eval_t)):
        seed_steps = [c.step[j] for c in comparisons]
        part = None if None in seed_steps else max(seed_steps)
        seed_halves = [halfway_step(run, j, fraction) for run in real_runs]
        before = (steps > 0) & (steps < (part if part is not None else np.inf))
        z = np.abs(mean[before, j]) / np.maximum(se[before, j], 1e-300)
        parts.append(part)
        halves.append(None if None in seed_halves else max(seed_halves))
        zs.append(float(z.max()) if z.size else 0.0)
        pzs.append(float(paired_z[:, before, j].max()) if before.any() else 0.0)
    return SeedAverage(first.eval_t, steps, mean, se, len(comparisons), tuple(parts), tuple(halves),
                       tuple(zs), tuple(pzs), float(fraction))


def parting_spread(partings: Sequence[Parting]) -> dict[int, tuple[int | None, ...]]:
    """The parting steps of several seeds, per noise level: ``{t: (seed0, seed1, ...)}``."""
    if not partings:
        raise ValueError("partings must hold at least one Parting")
    ts = partings[0].eval_t
    if any(p.eval_t != ts for p in partings):
        raise ValueError("all partings must share eval_t")
    return {t: tuple(p.step[j] for p in partings) for j, t in enumerate(ts)}

"""Every figure of the book: where it is, what it shows, what makes it, and what that costs.

:data:`FIGURES` lists the figures of the seven chapters in reading order. A
figure is drawn either from a run that its chapter computes live at the
reader's scale, or from saved results (``data/results/``, shipped with the
package), or both. :data:`JOBS` are the experiments that make the saved
results: :func:`reproduce` runs the job of a figure at a scale and saves its
results where the chapter looks for them (:func:`easyhard.paths.results_dir`).
A figure without a job is computed live by its chapter; reproducing it means
executing that chapter (:func:`execute_chapter`).

Runtimes are measured, never estimated: :func:`runtime` reads the measurements
shipped in ``figure_runtimes.json`` (written by ``benchmarks/figure_runtimes.py``
on the machine it names) and returns None for what was not measured.

``python -m easyhard list`` prints this table, ``python -m easyhard reproduce
<figure-id>`` runs a figure's job (see :mod:`easyhard.cli`).
"""

from __future__ import annotations

import ast
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from easyhard.config import SCALES

__all__ = [
    "CLAIMS",
    "FIGURES",
    "FIXED",
    "JOBS",
    "Figure",
    "Job",
    "asserted_claims",
    "chapter_path",
    "chapter_title",
    "checks_table",
    "claims_table",
    "figure_table",
    "execute_chapter",
    "figure",
    "measurement",
    "provenance",
    "reproduce",
    "runtime",
    "runtimes",
    "saved_results",
]

#: the scale name of a job whose runs have one fixed size (no ``--scale``)
FIXED = "fixed"

#: the paper's claims as the book's introduction states them; claim 3 there is split into
#: its four statements (3-6)
CLAIMS: dict[int, str] = {
    1: "A distributional simplicity bias: a U-Net on CIFAR-10 first denoises with pair-wise statistics "
       "only; its losses on real and surrogate images part while both are above the Wiener floor",
    2: "A minimal model shows it: tied neuron denoisers on the mixed cumulant model learn the "
       "covariance spike before the cumulant spike",
    3: "A scalar sets the pace: the diffusion information exponent k of a spike sets the sample "
       "complexity of online SGD",
    4: "Pair-wise structure (the covariance spike) is learnt with n ~ d samples, up to logarithms",
    5: "The fourth cumulant needs n ~ d^3 samples with online SGD (steps c/d)",
    6: "Correlated latents make the cumulant spike learnable with n ~ d samples again",
}


@dataclass(frozen=True)
class Job:
    """An experiment that makes saved results.

    Attributes
    ----------
    key : str
        Its name in :data:`JOBS`.
    call : str
        The library call it makes, as a reader would type it.
    scales : tuple of str
        The scales it runs at, or ``(FIXED,)`` for one fixed size.
    results : tuple of str
        The names of the results it saves.
    run : callable
        ``run(scale, workers, progress, **options)``; ``scale`` is None for a fixed-size job.
    workers : str
        What ``--workers N`` sets for this job.
    """

    key: str
    call: str
    scales: tuple[str, ...]
    results: tuple[str, ...]
    run: Callable[..., Any]
    workers: str = "torch threads"


@dataclass(frozen=True)
class Figure:
    """One figure of the book.

    Attributes
    ----------
    id : str
        Its id, e.g. ``"cifar-spectrum"``.
    chapter : str
        The chapter's notebook name (``chapters/<chapter>.ipynb``).
    what : str
        What it shows, in one line.
    shows : str
        Where its data come from: ``"live"`` (the reader's scale), ``"saved laptop"``, or both.
    claims : tuple of int
        The claims of :data:`CLAIMS` it bears on (empty: background).
    job : str or None
        The key of its job in :data:`JOBS`; None if the chapter computes it live only.
    options : tuple of (str, object) pairs
        Keyword arguments of the job's ``run`` for this figure (e.g. which runs), as
        pairs so that the figure stays hashable.
    """

    id: str
    chapter: str
    what: str
    shows: str
    claims: tuple[int, ...] = ()
    job: str | None = None
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def results(self) -> tuple[str, ...]:
        """The names of the saved results it shows (those of its job)."""
        return JOBS[self.job].results if self.job else ()

    @property
    def scales(self) -> tuple[str, ...]:
        """The scales :func:`reproduce` accepts for it."""
        return JOBS[self.job].scales if self.job else SCALES

    def command(self, scale: str | None = None) -> str:
        """The shell command that reproduces it."""
        if self.job and JOBS[self.job].scales == (FIXED,):
            return f"python -m easyhard reproduce {self.id}"
        return f"python -m easyhard reproduce {self.id} --scale {scale or self.default_scale}"

    @property
    def default_scale(self) -> str | None:
        """The scale its saved results come from (``laptop`` where saved ones are shown), else ``ci``."""
        if self.job and JOBS[self.job].scales == (FIXED,):
            return None
        return "laptop" if "saved" in self.shows else "ci"


# --------------------------------------------------------------------------- jobs


def _threads(workers: int) -> None:
    from easyhard.config import set_threads

    set_threads(workers)


def _cifar(scale: str, workers: int, progress: bool) -> None:
    from easyhard.train.__main__ import main

    main(["--preset", scale, "--data", "both", "--threads", str(workers),
          *([] if progress else ["--no-progress"])])


def _mcm_bias(scale: str, workers: int, progress: bool, keys: tuple[str, ...]) -> None:
    from easyhard.experiments import mcm_bias as mb

    _threads(workers)
    for key in keys:
        cfg, optimiser = mb.run_config(key, scale)
        t0 = time.perf_counter()
        mb.saved_or_run(cfg, optimiser, compute=True, progress=progress, scale=scale)
        print(f"{key}: {time.perf_counter() - t0:.0f} s", flush=True)


def _scaling(scale: str, workers: int, progress: bool) -> None:
    from easyhard.sgd import experiments

    for case in ("covariance", "quartic"):
        experiments.scaling(case, scale, compute=True, progress=progress)


def _long_sweep(scale: None, workers: int, progress: bool) -> None:
    from easyhard.sgd import experiments

    experiments.long_sweep("quartic_exact", compute=True, n_jobs=workers, progress=progress)


def _step_size(scale: str, workers: int, progress: bool) -> None:
    from easyhard.experiments import easy_hard as eh

    eh.save_step_size_sweep(eh.StepSizeConfig.preset(scale), scale)


def _effective(scale: None, workers: int, progress: bool) -> None:
    from easyhard.sgd import effective_validation as ev

    for c in ev.SWEEP_STEP_SCALES:
        ev.quartic_sweep(c, compute=True, progress=progress)


def _correlated(scale: str, workers: int, progress: bool) -> None:
    from easyhard.experiments import correlated

    correlated.compute_saved(scale)


def _exponent_law(scale: str, workers: int, progress: bool, names: tuple[str, ...]) -> None:
    from easyhard.experiments import exponent_law

    exponent_law.compute_saved(scale, names)


JOBS: dict[str, Job] = {job.key: job for job in (
    Job("cifar-unet", "python -m easyhard.train --preset SCALE --data both", SCALES, ("cifar_unet",), _cifar),
    Job("mcm-bias", "easyhard.experiments.mcm_bias.saved_or_run(*run_config(key, SCALE))", SCALES,
        ("mcm_bias_online_sgd", "mcm_bias_adam"), _mcm_bias),
    Job("sgd-scaling", "easyhard.sgd.experiments.scaling(case, SCALE), case = covariance, quartic", SCALES,
        ("sgd_scaling_covariance", "sgd_scaling_quartic"), _scaling, workers="not used"),
    Job("sgd-long-sweep", 'easyhard.sgd.experiments.long_sweep("quartic_exact", compute=True)', (FIXED,),
        ("sgd_sweep_quartic_exact",), _long_sweep, workers="joblib processes"),
    Job("step-size", "easyhard.experiments.easy_hard.save_step_size_sweep(StepSizeConfig.preset(SCALE), SCALE)",
        SCALES, ("easy_hard_step_size",), _step_size, workers="not used"),
    Job("effective-sweeps", "easyhard.sgd.effective_validation.quartic_sweep(c), c = 0.1, 1", (FIXED,),
        ("sgd_effective_quartic",), _effective, workers="not used"),
    Job("correlated", "easyhard.experiments.correlated.compute_saved(SCALE)", SCALES,
        ("correlated_plateaus", "correlated_recovery", "correlated_pcorr", "correlated_flip"), _correlated,
        workers="not used"),
    Job("exponent-law", "easyhard.experiments.exponent_law.compute_saved(SCALE, names)", SCALES,
        ("exponent_law_k1", "exponent_law_k2", "exponent_law_k3", "exponent_law_k4", "exponent_law_k6",
         "exponent_law_k2_a04", "exponent_law_k2_a06", "exponent_law_k2_a08", "exponent_law_k4_a04",
         "exponent_law_k4_a06", "exponent_law_k4_a08"), _exponent_law, workers="not used"),
)}

_LAW = (("names", ("k1", "k2", "k3", "k4", "k6")),)
_INVARIANCE = (("names", tuple(f"k{k}_a{a}" for k in (2, 4) for a in ("04", "06", "08"))),)

# --------------------------------------------------------------------------- figures

FIGURES: tuple[Figure, ...] = (
    # Part I
    Figure("cifar-samples", "cifar_simplicity_bias", "CIFAR-10 training images above samples of their Gaussian surrogate", "live", (1,)),
    Figure("cifar-spectrum", "cifar_simplicity_bias", "the CIFAR-10 covariance spectrum and its power-law exponent", "live", (1,)),
    Figure("cifar-kurtosis", "cifar_simplicity_bias", "excess kurtosis of CIFAR-10 and of its surrogate: a pixel, principal axis 5, 40 directions", "live", (1,)),
    Figure("cifar-loss-live", "cifar_simplicity_bias", "test loss of the chapter's U-Net on real and surrogate images per noise level, with the Wiener floor", "live", (1,), "cifar-unet"),
    Figure("cifar-gap-live", "cifar_simplicity_bias", "surrogate minus real test loss of the chapter's run (2 paired SE)", "live", (1,), "cifar-unet"),
    Figure("cifar-loss-saved", "cifar_simplicity_bias", "the saved longer run and its control (trained on surrogate samples): test losses", "saved laptop", (1,), "cifar-unet"),
    Figure("cifar-spread", "cifar_simplicity_bias", "the control-referenced parting step per noise level and seed", "saved laptop", (1,), "cifar-unet"),
    Figure("cifar-parting", "cifar_simplicity_bias", "the real-trained net minus its control, in SE, and both nets on the same real images", "saved laptop", (1,), "cifar-unet"),
    Figure("cifar-seed-average", "cifar_simplicity_bias", "control minus real-trained net on real images, mean of the seeds in seed-to-seed SE", "saved laptop", (1,), "cifar-unet"),
    Figure("cifar-examples", "cifar_simplicity_bias", "denoised test images along training, and the control's", "saved laptop", (1,), "cifar-unet"),
    # Part II
    Figure("mcm-planes", "mixed_cumulant_model", "MCM samples in the planes of the spikes u and v", "live", (2,)),
    Figure("mcm-projections", "mixed_cumulant_model", "histograms of the projections on u, v and a random direction", "live", (2,)),
    Figure("mcm-spectrum", "mixed_cumulant_model", "the sample covariance spectrum: u visible, v in the Marchenko-Pastur bulk", "live", (2,)),
    Figure("mcm-kappa4", "mixed_cumulant_model", "the fourth cumulant along v against beta_v, k-statistics against the formula", "live", (2,)),
    Figure("mcm-pcorr", "mixed_cumulant_model", "correlated latents: Cov(u.x, v.x) = rho and the tilt of the top principal component", "live", (2, 6)),
    Figure("mcm-surrogate", "mixed_cumulant_model", "the data along v against the Gaussian surrogate's", "live", (2,)),
    Figure("mcm-small-multiples", "mixed_cumulant_model", "histograms of v.x over beta_v and the latent law (the explorer's static version)", "live", (2,)),
    Figure("mb-one-neuron", "mcm_simplicity_bias", "one tied neuron: MCM and surrogate losses agree at every step", "live", (2,), "mcm-bias", (("keys", ("p1",)),)),
    Figure("mb-staircase", "mcm_simplicity_bias", "two tied neurons: the loss staircase and the gain per walker, live and saved", "live + saved laptop", (2,), "mcm-bias", (("keys", ("p2", "p2_long")),)),
    Figure("mb-overlaps", "mcm_simplicity_bias", "one walker's overlaps with the spikes and the neurons' mutual overlap (a = 0.8)", "saved laptop", (2,), "mcm-bias", (("keys", ("a0.8",)),)),
    Figure("mb-optimisers", "mcm_simplicity_bias", "losses of four neurons (online SGD) and of two neurons trained by Adam", "live + saved laptop", (2,), "mcm-bias", (("keys", ("adam", "p4", "adam_A")),)),
    Figure("mb-correlated", "mcm_simplicity_bias", "correlated latents: the losses part by the end of the first drop", "live + saved laptop", (2, 6), "mcm-bias", (("keys", ("correlated",)),)),
    Figure("mb-cifar-side-by-side", "mcm_simplicity_bias", "the saved CIFAR-10 run beside the saved two-neuron MCM run", "saved laptop", (1, 2), "mcm-bias", (("keys", ("p2",)),)),
    # Part III
    Figure("ie-loss-1d", "information_exponent", "the one-dimensional population loss G_t(p) at three noise levels", "live", (3,)),
    Figure("ie-hermite", "information_exponent", "Hermite coefficients g_k(a) of tanh, erf and ReLU against the noise level", "live", (3,)),
    Figure("ie-landscape", "information_exponent", "the population loss over (alpha_u, alpha_v), independent and coupled latents", "live", (3, 6)),
    Figure("ie-leading-power", "information_exponent", "the loss along each spike grows like alpha^k, k the information exponent", "live", (3,)),
    Figure("eh-trajectories", "easy_and_hard", "SGD trajectories: linear time for u, cubic time for v", "live", (4, 5)),
    Figure("eh-sweeps-live", "easy_and_hard", "sample complexity of the chapter's live sweeps: slopes 1 and 3 against the flow", "live", (4, 5)),
    Figure("eh-sweeps-saved", "easy_and_hard", "sample complexity of the saved laptop sweeps", "saved laptop", (4, 5), "sgd-scaling"),
    Figure("eh-collapse", "easy_and_hard", "first passage / d^3 and / d^2.5 of the saved long sweep: the d^3 lower bound", "saved long", (5,), "sgd-long-sweep"),
    Figure("eh-step-size", "easy_and_hard", "large steps (c = 1): mean passage against the rescaled diffusion", "live + saved laptop", (5,), "step-size"),
    Figure("eh-large-d", "easy_and_hard", "the effective engine at large d: d^3 at c = 0.1 and c = 1", "saved", (5,), "effective-sweeps"),
    Figure("eh-engine-agreement", "easy_and_hard", "reduced and direct engines: one law of the whole run", "live", ()),
    Figure("eh-cost", "easy_and_hard", "nanoseconds per SGD step of the direct and reduced engines on this machine", "live", ()),
    Figure("corr-circle", "correlated_latents", "exact population losses on the circle of (alpha_u, alpha_v): data and surrogate", "live", (6,)),
    Figure("corr-trajectories", "correlated_latents", "alpha_v and the higher-order gain along live runs, against the mean-field flow", "live", (6,)),
    Figure("corr-plateaus", "correlated_latents", "plateau heights of alpha_v against the mean-field flow", "live", (6,)),
    Figure("corr-recovery", "correlated_latents", "first passage of alpha_v against d: linear cost, live and saved", "live + saved laptop", (6,), "correlated"),
    Figure("corr-pcorr", "correlated_latents", "first passage against d for several p_corr (saved)", "saved laptop", (6,), "correlated"),
    Figure("corr-flip", "correlated_latents", "the sign-flip coupling (k* = 3): still linear cost, live and saved", "live + saved laptop", (6,), "correlated"),
    Figure("el-passages", "exponent_law", "median first passage against d for k = 1, 2, 3, 4, 6 with the mean-field escape", "live + saved laptop", (3, 4, 5), "exponent-law", _LAW),
    Figure("el-invariance", "exponent_law", "k = 2 and 4 at three noise levels: one rate, prefactors from g_k(a)", "saved laptop", (3,), "exponent-law", _INVARIANCE),
    Figure("el-lower-bound", "exponent_law", "k = 4: the fraction of walkers within K d^2.5 and K d^3 steps", "saved laptop", (5,), "exponent-law", (("names", ("k4",)),)),
)

_BY_ID = {f.id: f for f in FIGURES}


def figure(figure_id: str) -> Figure:
    """The figure called ``figure_id``; ``ValueError`` listing the valid ids otherwise."""
    if figure_id not in _BY_ID:
        raise ValueError(f"unknown figure id {figure_id!r}; the figures are: {', '.join(_BY_ID)}")
    return _BY_ID[figure_id]


# --------------------------------------------------------------------------- saved results and runtimes


def saved_results(fig: Figure, sidecars: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The provenance (JSON sidecars) of the saved results the figure can show, newest first.

    Parameters
    ----------
    fig : Figure
        The figure.
    sidecars : list of dict, optional
        Every saved result's sidecar (default :func:`easyhard.results.sidecars`; pass
        them to look up many figures with one scan).

    Returns
    -------
    list of dict
        The sidecars whose ``name`` is one of :attr:`Figure.results`.
    """
    from easyhard import results

    metas = results.sidecars() if sidecars is None else sidecars
    found = [m for m in metas if m.get("name") in fig.results]
    return sorted(found, key=lambda m: str(m.get("date", "")), reverse=True)


@cache
def runtimes() -> dict[str, Any]:
    """The shipped runtime measurements (``figure_runtimes.json``); empty if none were shipped."""
    path = Path(__file__).with_name("figure_runtimes.json")
    return json.loads(path.read_text()) if path.exists() else {}


def runtime(fig: Figure, scale: str = "ci", device: str = "cpu") -> float | None:
    """Measured seconds of reproducing ``fig`` at ``scale`` on ``device``, or None if not measured.

    A figure with a job costs its job's run; a live figure costs the execution of its chapter.
    """
    entry = measurement(fig, scale, device)
    return float(entry["seconds"]) if entry else None


def measurement(fig: Figure, scale: str = "ci", device: str = "cpu") -> dict[str, Any] | None:
    """The shipped measurement behind :func:`runtime`: seconds, machine, date, commit and how; or None."""
    key = f"figure:{fig.id}" if fig.job else f"chapter:{fig.chapter}"
    return runtimes().get(device, {}).get(key, {}).get(scale)


# --------------------------------------------------------------------------- reproducing


def chapter_path(chapter: str) -> Path | None:
    """``chapters/<chapter>.ipynb`` of the repository checkout, or None (an installed package has none)."""
    from easyhard.paths import REPO_ROOT

    path = REPO_ROOT / "chapters" / f"{chapter}.ipynb"
    return path if path.exists() else None


def execute_chapter(chapter: str, scale: str, out: Path, timeout: int = 1800) -> Path:
    """Execute ``chapters/<chapter>.ipynb`` at ``scale`` with nbclient; write it to ``out``; return ``out``."""
    import os

    import nbclient
    import nbformat

    source = chapter_path(chapter)
    if source is None:
        raise FileNotFoundError(
            f"chapter {chapter!r} is not here (an installed package carries no chapters): open "
            f"chapters/{chapter}.ipynb of the repository, or run this in a checkout")
    nb = nbformat.read(source, as_version=4)
    previous = os.environ.get("EASYHARD_SCALE")
    os.environ["EASYHARD_SCALE"] = scale
    try:
        nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(source.parent)}}).execute()
    finally:
        if previous is None:
            os.environ.pop("EASYHARD_SCALE", None)
        else:
            os.environ["EASYHARD_SCALE"] = previous
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return out


def reproduce(figure_id: str, scale: str | None = None, *, workers: int = 1, progress: bool = True,
              out: Path | None = None) -> str:
    """Run the experiment behind ``figure_id`` at ``scale`` and save its results; return what was done.

    Parameters
    ----------
    figure_id : str
        An id of :data:`FIGURES`.
    scale : str, optional
        ``ci``, ``laptop`` or ``paper`` (default :attr:`Figure.default_scale`); must be
        left out for a fixed-size job.
    workers : int
        Processes or threads, as the job's :attr:`Job.workers` says.
    progress : bool
        Show the library's progress bars (tqdm).
    out : Path, optional
        For a live figure: where the executed chapter is written
        (default ``<chapter>.<scale>.ipynb`` in the current folder).

    Returns
    -------
    str
        One line: what ran, how long it took and where the results are.
    """
    from easyhard._validation import check_int
    from easyhard.paths import results_dir

    fig = figure(figure_id)
    workers = check_int(workers, "workers", lo=1, hi=1024)
    job = JOBS[fig.job] if fig.job else None
    if job is not None and job.scales == (FIXED,):
        if scale is not None:
            raise ValueError(f"figure {fig.id!r} comes from runs of one fixed size ({job.call}); "
                             f"leave out the scale (got {scale!r})")
    else:
        scale = scale if scale is not None else fig.default_scale
        if scale not in fig.scales:
            raise ValueError(f"scale must be one of {fig.scales} for figure {fig.id!r}, got {scale!r}")
    t0 = time.perf_counter()
    if job is None:
        target = out or Path.cwd() / f"{fig.chapter}.{scale}.ipynb"
        execute_chapter(fig.chapter, scale, target)
        return (f"{fig.id}: computed live by chapter {fig.chapter} (no saved result); executed at {scale} "
                f"in {time.perf_counter() - t0:.0f} s, written to {target}")
    from easyhard.results import check_writable

    check_writable(results_dir())
    job.run(scale, workers, progress, **dict(fig.options))
    return (f"{fig.id}: {job.call} ({scale or 'fixed size'}) in {time.perf_counter() - t0:.0f} s; "
            f"results {', '.join(job.results)} saved in {results_dir()}")


# --------------------------------------------------------------------------- asserted numbers


def asserted_claims(chapter: str) -> list[tuple[str, str]]:
    """The checks a chapter asserts: ``(condition, message)`` of each ``assert`` and ``check(...)``.

    Read from the chapter's notebook source, so the list is the chapter's own
    (its tolerances included); empty if the chapter is not in this checkout.
    """
    path = chapter_path(chapter)
    if path is None:
        return []
    cells = json.loads(path.read_text())["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        code = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in sorted(ast.walk(tree), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
            if isinstance(node, ast.Assert):
                found.append((ast.unparse(node.test), _text(node.msg)))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "check"
                  and len(node.args) >= 2):
                found.append((ast.unparse(node.args[0]), _text(node.args[1])))
    return found


def _text(node: ast.expr | None) -> str:
    if node is None:
        return ""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its text, with {placeholders}
        return "".join(v.value if isinstance(v, ast.Constant) else "{" + ast.unparse(v.value) + "}"
                       for v in node.values)
    return ast.unparse(node)


# --------------------------------------------------------------------------- the figure map's tables

_TITLES = {
    "cifar_simplicity_bias": "The simplicity bias of a diffusion U-Net on CIFAR-10",
    "mixed_cumulant_model": "The mixed cumulant model",
    "mcm_simplicity_bias": "The simplicity bias in the minimal model",
    "information_exponent": "The diffusion information exponent",
    "easy_and_hard": "Easy and hard",
    "correlated_latents": "Sliding down the stairs: correlated latents",
    "exponent_law": "One law for every exponent",
}


def chapter_title(chapter: str) -> str:
    """The title of a chapter (its notebook name if unknown)."""
    return _TITLES.get(chapter, chapter)


def _md(text: str) -> str:
    """``text`` safe inside a Markdown table cell (no pipes, math, emphasis or HTML)."""
    for char in "\\|$*_<>`[]":
        text = text.replace(char, "\\" + char)
    return text


def _code(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'") + "`"


def _seconds(entry: dict[str, Any] | None) -> str:
    return "not measured" if entry is None else f"{entry['seconds']:.0f} s"


def provenance(meta: dict[str, Any]) -> str:
    """One line of a saved result's provenance: scale, commit, date, machine, device, wall time."""
    commit = str(meta.get("git_commit") or "unknown")[:8] + (" (uncommitted changes)" if meta.get("git_dirty") else "")
    wall = meta.get("wall_time_s")
    wall_text = f"{wall:.0f} s" if isinstance(wall, (int, float)) and not isinstance(wall, bool) else "?"
    device = str(meta.get("device", "?")).split(" (best available")[0]
    return (f"{meta.get('scale', '?')}: commit {commit}, {str(meta.get('date', '?'))[:10]}, "
            f"{meta.get('machine', '?')}, {device}, wall {wall_text}")


def claims_table() -> str:
    """Markdown: each claim of :data:`CLAIMS` with the figures and chapters that bear on it."""
    rows = ["| claim | statement | figures | chapters |", "|---|---|---|---|"]
    for number, text in CLAIMS.items():
        figs = [f for f in FIGURES if number in f.claims]
        chapters = dict.fromkeys(chapter_title(f.chapter) for f in figs)
        rows.append(f"| {number} | {_md(text)} | {', '.join(_code(f.id) for f in figs)} | "
                    f"{_md('; '.join(chapters))} |")
    return "\n".join(rows)


def figure_table(sidecars: list[dict[str, Any]] | None = None) -> str:
    """Markdown: every figure with its chapter, command, CPU and GPU runtimes and saved provenance."""
    from easyhard import results

    metas = results.sidecars() if sidecars is None else sidecars
    rows = ["| figure | chapter | what it shows | data | command | CPU, ci | GPU | saved result (newest) |",
            "|---|---|---|---|---|---|---|---|"]
    for fig in FIGURES:
        saved = saved_results(fig, metas) if fig.job else []
        shown = _md(provenance(saved[0])) + (f" (+{len(saved) - 1} more)" if len(saved) > 1 else "") \
            if saved else ("none: computed live" if not fig.job else "none saved")
        cpu = _seconds(measurement(fig)) if "ci" in fig.scales else "no ci scale (one fixed size; see its wall time)"
        if fig.job is None and cpu != "not measured":
            cpu += " (chapter)"
        rows.append(f"| {_code(fig.id)} | {_md(chapter_title(fig.chapter))} | {_md(fig.what)} | {_md(fig.shows)} | "
                    f"{_code(fig.command())} | {cpu} | {_seconds(measurement(fig, device='cuda'))} | {shown} |")
    return "\n".join(rows)


def checks_table(chapter: str) -> str:
    """Markdown: the checks a chapter asserts (:func:`asserted_claims`), with their tolerances."""
    found = asserted_claims(chapter)
    if not found:
        return f"{_md(chapter_title(chapter))}: its notebook is not in this copy of the book."
    rows = ["| what the chapter asserts | condition (with its tolerance) |", "|---|---|"]
    rows += [f"| {_md(message) or '(no message)'} | {_code(condition)} |" for condition, message in found]
    return "\n".join(rows)

"""Configuration of a U-Net training run on CIFAR-10 or its Gaussian surrogate (book: chapters/cifar_simplicity_bias.ipynb)."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from easyhard._validation import (
    MAX_ELEMENTS,
    SEED_MAX,
    ArgumentTypeError,
    check_bool,
    check_choice,
    check_int,
    check_scalar,
    check_seed,
)
from easyhard.config import SCALES, preset
from easyhard.data.cifar import SOURCES
from easyhard.denoisers.unet import PRESETS
from easyhard.diffusion import T_MAX
from easyhard.grids import log_steps

DATA_KINDS: tuple[str, ...] = ("real", "surrogate")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")
#: entries of one CIFAR-10 image (3 x 32 x 32)
IMAGE_SIZE = 3 * 32 * 32


@dataclass(frozen=True)
class TrainConfig:
    """One run: eps-prediction DDPM training (T = 1000, linear betas, Adam) with evaluation at log-spaced steps.

    ``data="real"`` trains on CIFAR-10 train images, ``"surrogate"`` on fresh
    samples of their Gaussian surrogate (the control). ``precision="bf16"``
    uses bf16 autocast (CPU and CUDA); ``compile`` uses ``torch.compile``.
    The EMA of the weights uses the decay ``min(ema_decay, (1 + n) / (10 + n))``
    after ``n`` steps when ``ema_warmup`` (so that it follows the weights in a
    short run), else ``ema_decay`` throughout.
    The test loss is evaluated at ``n_evals`` log-spaced steps (plus step 0)
    at each ``eval_t`` on ``n_eval`` test images and ``n_eval`` surrogate
    samples with shared eps draws, with the raw weights and, when
    ``eval_ema``, also with the EMA weights.

    Every field is checked on construction, so that a bad value fails before
    any data, surrogate or model is built: integers are ``int`` or numpy
    integers (stored as ``int``), numbers are real (not bools or strings),
    flags are bools, names are one of the allowed ones. A ``ValueError`` (or a
    ``TypeError``, which is also a ``ValueError``) names the field, its value and
    the allowed range.
    """

    data: str = "real"
    unet: str = "tiny"
    ch: int | None = None
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    ema_decay: float = 0.9999
    ema_warmup: bool = True
    eval_ema: bool = True
    grad_clip: float = 1.0
    T: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    eval_t: tuple[int, ...] = (50, 100, 250, 500, 750)
    n_eval: int = 512
    n_evals: int = 24
    show_t: int = 250
    n_show: int = 6
    ridge: float = 1e-5
    precision: str = "fp32"
    compile: bool = False
    checkpoint_every: int = 250
    seed: int = 0
    eval_seed: int = 12345
    source: str = "auto"
    scale: str = "ci"

    def __post_init__(self) -> None:
        """Check every field (see the class docstring) and store plain Python values."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        checked = _checked(values)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def eval_steps(self) -> np.ndarray:
        """Step 0 and ``n_evals`` log-spaced steps in [1, steps] (:func:`easyhard.grids.log_steps`)."""
        return log_steps(self.steps, self.n_evals)


def _checked(v: dict[str, object]) -> dict[str, object]:
    """The fields ``v`` of a :class:`TrainConfig`, checked and as plain Python values."""
    out: dict[str, object] = {}
    for name, choices in (("data", DATA_KINDS), ("unet", tuple(PRESETS)), ("precision", PRECISIONS),
                          ("source", SOURCES), ("scale", PRESET_NAMES)):
        out[name] = check_choice(v[name], name, choices)
    for name in ("ema_warmup", "eval_ema", "compile"):
        out[name] = check_bool(v[name], name)
    out["T"] = check_int(v["T"], "T (number of diffusion steps)", lo=1, hi=T_MAX)
    out["steps"] = check_int(v["steps"], "steps", lo=1, hi=MAX_ELEMENTS)
    out["batch_size"] = check_int(v["batch_size"], "batch_size", lo=1, hi=MAX_ELEMENTS // IMAGE_SIZE)
    out["n_evals"] = check_int(v["n_evals"], "n_evals", lo=1, hi=MAX_ELEMENTS)
    out["checkpoint_every"] = check_int(v["checkpoint_every"], "checkpoint_every", lo=1)
    if isinstance(v["eval_t"], (str, bytes)) or not hasattr(v["eval_t"], "__iter__"):
        raise ArgumentTypeError(f"eval_t must be a tuple of integers in [1, T={out['T']}], got {v['eval_t']!r}")
    eval_t = tuple(check_int(t, f"eval_t entry (diffusion step in [1, T={out['T']}])", lo=1, hi=out["T"])
                   for t in v["eval_t"])
    if not eval_t or len(set(eval_t)) != len(eval_t):
        raise ValueError(f"eval_t must be a non-empty tuple of distinct steps, got {v['eval_t']!r}")
    out["eval_t"] = eval_t
    out["show_t"] = check_int(v["show_t"], f"show_t (diffusion step in [1, T={out['T']}])", lo=1, hi=out["T"])
    # the evaluation set holds the real and surrogate images and one eps draw per eval_t
    out["n_eval"] = check_int(v["n_eval"], "n_eval", lo=1, hi=MAX_ELEMENTS // (IMAGE_SIZE * (2 + len(eval_t))))
    out["n_show"] = check_int(v["n_show"], f"n_show (at most n_eval={out['n_eval']})", lo=0, hi=out["n_eval"])
    out["lr"] = check_scalar(v["lr"], "lr", lo=0.0, hi=1.0, closed="neither")
    out["ema_decay"] = check_scalar(v["ema_decay"], "ema_decay", lo=0.0, hi=1.0, closed="left")
    out["grad_clip"] = check_scalar(v["grad_clip"], "grad_clip", lo=0.0, closed="neither")
    out["ridge"] = check_scalar(v["ridge"], "ridge", lo=0.0)
    out["beta_start"] = check_scalar(v["beta_start"], "beta_start", lo=0.0, hi=1.0, closed="neither")
    out["beta_end"] = check_scalar(v["beta_end"], "beta_end", lo=0.0, hi=1.0, closed="neither")
    if not out["beta_start"] <= out["beta_end"]:
        raise ValueError(f"betas must satisfy 0 < beta_start <= beta_end < 1, got beta_start = "
                         f"{v['beta_start']!r}, beta_end = {v['beta_end']!r}")
    if v["ch"] is None:
        out["ch"] = None
    else:
        groups = PRESETS[out["unet"]].groups
        ch = check_int(v["ch"], f"ch (channel width, a multiple of {groups})", lo=groups)
        if ch % groups:
            raise ValueError(f"ch must be a positive multiple of {groups} (the group-norm groups of "
                             f"unet={out['unet']!r}), got {v['ch']!r}")
        out["ch"] = ch
    # seed + 1 and eval_seed + 1 seed generators too (batches, shown examples)
    for name in ("seed", "eval_seed"):
        out[name] = check_seed(v[name], name)
        if out[name] > SEED_MAX - 1:
            raise ValueError(f"{name} must be a non-negative integer <= 2**64 - 2, got {v[name]!r}")
    return out


PRESET_TABLE: dict[str, dict[str, object]] = {
    "ci": dict(unet="tiny", ch=16, steps=300, batch_size=32, lr=1e-3, n_eval=128, n_evals=10,
               eval_t=(100, 250, 500), precision="bf16", checkpoint_every=100, eval_ema=False,
               scale="ci"),
    "laptop": dict(unet="tiny", steps=1600, batch_size=64, lr=2e-4, n_eval=1024, n_evals=24,
                   precision="bf16", scale="laptop"),
    "paper": dict(unet="ddpm", steps=100_000, batch_size=128, lr=2e-4, n_eval=1024, n_evals=40,
                  precision="bf16", compile=True, checkpoint_every=5000, scale="paper"),
}
# Not a scale: sized for a free Colab GPU (a T4: no fast bf16, so fp32).
COLAB: dict[str, object] = dict(unet="small", steps=4000, batch_size=128, lr=2e-4, n_eval=1024,
                                n_evals=28, precision="fp32", checkpoint_every=500, scale="colab")
PRESET_NAMES: tuple[str, ...] = (*SCALES, "colab")


def train_config(scale_name: str | None = None, **overrides: object) -> TrainConfig:
    """The preset for a scale (``ci``, ``laptop``, ``paper``) or ``"colab"``, with field overrides.

    * ``ci``: width 16 (0.41M parameters), 300 steps of batch 32, lr 1e-3, raw weights
      only: the train call measured 127 s of CPU time on one thread of the development
      machine. At step 300 the real-image loss at t = 100 is below the surrogate loss
      by 4.3 paired SE (0.133 vs 0.145) but not yet below the Wiener floor (0.117);
    * ``laptop``: the pilot's U-Net (1.62M parameters), lr 2e-4, batch 64, bf16
      autocast on one CPU thread per run, 1024 evaluation images, raw and EMA weights.
      Measured CPU time on one thread: 1.08 s per step on real batches, 1.16 s on
      surrogate batches, 65 s per evaluation of one set of weights, so about 80 minutes
      per run (1600 steps, 24 evaluations of raw and EMA weights);
    * ``paper``: the DDPM CIFAR-10 configuration (35.7M, batch 128, 1e5 steps), a GPU;
    * ``colab``: the 6.5M-parameter ``small`` U-Net, batch 128, 4000 steps, fp32,
      for a free Colab GPU (a T4). Estimated, not measured: 30-40 minutes per run.
      Its results carry ``scale="colab"``.
    """
    if scale_name == "colab":
        chosen = COLAB
    else:
        chosen = preset(PRESET_TABLE, scale_name)
    return replace(TrainConfig(), **{**chosen, **overrides})

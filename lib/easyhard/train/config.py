"""Configuration of a U-Net training run on CIFAR-10 or its Gaussian surrogate (book: chapters/cifar_simplicity_bias.ipynb)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from easyhard.config import SCALES, check_seed, preset
from easyhard.denoisers.unet import PRESETS

DATA_KINDS: tuple[str, ...] = ("real", "surrogate")
PRECISIONS: tuple[str, ...] = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """One run: eps-prediction DDPM training (T = 1000, linear betas, Adam) with
    evaluation at log-spaced steps.

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
        if self.data not in DATA_KINDS:
            raise ValueError(f"data must be one of {DATA_KINDS}, got {self.data!r}")
        if self.unet not in PRESETS:
            raise ValueError(f"unet must be one of {tuple(PRESETS)}, got {self.unet!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        for name in ("steps", "batch_size", "n_eval", "n_evals", "checkpoint_every", "T"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if not (0.0 < self.lr < 1.0 and np.isfinite(self.lr)):
            raise ValueError(f"lr must lie in (0, 1), got {self.lr!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must lie in [0, 1), got {self.ema_decay!r}")
        if not self.grad_clip > 0:
            raise ValueError(f"grad_clip must be > 0, got {self.grad_clip!r}")
        if not self.eval_t or any(not 1 <= t <= self.T for t in (*self.eval_t, self.show_t)):
            raise ValueError(f"eval_t and show_t must lie in [1, T={self.T}], got {self.eval_t}, {self.show_t}")
        if not 0 <= self.n_show <= self.n_eval:
            raise ValueError(f"n_show must lie in [0, n_eval={self.n_eval}], got {self.n_show}")
        if self.ch is not None and (self.ch < 1 or self.ch % PRESETS[self.unet].groups):
            raise ValueError(f"ch must be a positive multiple of {PRESETS[self.unet].groups}, got {self.ch}")
        check_seed(self.seed)
        check_seed(self.eval_seed)

    def eval_steps(self) -> np.ndarray:
        """Step 0 and ``n_evals`` log-spaced steps in [1, steps] (rounded, unique)."""
        grid = np.logspace(0, np.log10(self.steps), self.n_evals)
        return np.unique(np.concatenate([[0], np.round(grid).astype(np.int64), [self.steps]]))


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

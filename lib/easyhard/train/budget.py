"""A real-data run and its control, sized to a wall-clock budget (``scripts/paper_run.sh``).

``python -m easyhard.train.budget --budget 5m [--archive PATH] [--preset paper]``:

1. loads CIFAR-10 (torchvision's original copy when it is on disk, else the
   image archive given by ``--archive``; never the network) and its surrogate;
2. measures, on this device, the seconds per training step (after warm-up,
   which includes ``torch.compile``) for real and for surrogate batches, and the
   seconds per evaluation (raw and EMA weights);
3. picks the largest number of steps ``n`` such that both runs, with their
   log-spaced evaluations, fit in the budget:

       2 [warm-up + n / rate + n_evals(n) * eval_s] <= safety * budget;

4. trains the real run and the control (same config but ``data``) and saves both
   through :mod:`easyhard.results` (``data/results/`` unless
   ``$EASYHARD_RESULTS_DIR``), with the device name, the measured and the achieved
   steps per second, and the budget among the arrays (``torch.compile`` is off
   unless ``--set compile=true``: compiling takes minutes of a short budget);
5. prints the control-referenced parting table (:mod:`easyhard.train.parting`).
"""

from __future__ import annotations

import argparse
import copy
import re
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from easyhard import results
from easyhard.config import device as best_device
from easyhard.config import set_threads, torch_generator
from easyhard.data.cifar import Cifar10, load_cifar10
from easyhard.data.cifar_surrogate import cifar_surrogate
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.train import RESULT_NAME, distributed
from easyhard.train.config import PRESET_NAMES, TrainConfig, train_config
from easyhard.train.evaluation import denoise_examples, evaluate, make_eval_set, to_device
from easyhard.train.loop import build_model, draw_batch, sgd_step, train
from easyhard.train.parting import parting

SAFETY = 0.85


def parse_budget(text: str) -> float:
    """Seconds from ``"20s"``, ``"5m"``, ``"1.5h"`` or a bare number of minutes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([smh]?)\s*", str(text))
    if not match:
        raise ValueError(f"budget must look like 20s, 5m, 1.5h or a number of minutes, got {text!r}")
    value, unit = float(match.group(1)), match.group(2) or "m"
    seconds = value * {"s": 1.0, "m": 60.0, "h": 3600.0}[unit]
    if seconds <= 0:
        raise ValueError(f"budget must be > 0, got {text!r}")
    return seconds


def parse_overrides(items: list[str]) -> dict[str, object]:
    """``["n_eval=32", "eval_t=100,500"]`` to typed :class:`TrainConfig` field values."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or key not in types:
            raise ValueError(f"override must be FIELD=VALUE with FIELD one of {sorted(types)}, got {item!r}")
        kind = str(types[key])
        if "bool" in kind:
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(f"override {key} must be true or false, got {raw!r}")
            out[key] = raw.lower() in ("true", "1")
            continue
        parse, what = ((lambda r: tuple(int(v) for v in r.split(",") if v), "comma-separated integers")
                       if "tuple" in kind else (int, "an integer") if "int" in kind
                       else (float, "a number") if "float" in kind else (str, "a string"))
        try:
            out[key] = parse(raw)
        except ValueError:
            raise ValueError(f"override {key} must be {what}, got {raw!r}") from None
    return out


@dataclass(frozen=True)
class Timing:
    """Speeds measured on this device.

    Seconds per step for real and surrogate batches, warm-up seconds (first
    steps, ``torch.compile`` included) and seconds per evaluation.
    """

    step_s_real: float
    step_s_surrogate: float
    warmup_s: float
    eval_s: float

    @property
    def step_s(self) -> float:
        """Seconds per step of the slower of the two runs (what the plan budgets)."""
        return max(self.step_s_real, self.step_s_surrogate)


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def measure(cfg: TrainConfig, train_data: Cifar10, test_data: Cifar10, sur: GaussianSurrogate,
            device: torch.device, warmup: int = 3, timed: int = 10) -> Timing:
    """Time the loop's own step (:func:`~easyhard.train.loop.sgd_step`) and one evaluation."""
    ctx = distributed.Dist(device=device)
    abar = ddpm_alpha_bar(cfg.T, cfg.beta_start, cfg.beta_end).to(device, torch.float32)
    pixels = train_data.pixels.to(device)
    per_step, warm = {}, 0.0
    model = build_model(cfg).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    for kind in ("real", "surrogate"):
        net = copy.deepcopy(model)
        params = list(net.parameters())
        ema = [p.detach().clone() for p in params]
        opt = torch.optim.Adam(params, lr=cfg.lr)
        step_fn = torch.compile(net) if cfg.compile else net
        gen = torch_generator(cfg.seed + 1, device=device)
        src = pixels if kind == "real" else None
        tic = time.perf_counter()
        for i in range(warmup + timed):
            if i == warmup:
                _sync(device)
                warm = max(warm, time.perf_counter() - tic)
                tic = time.perf_counter()
            sgd_step(cfg, step_fn, opt, params, ema, i + 1,
                     draw_batch(cfg, gen, ctx.shard(cfg.batch_size), abar, src, sur))
        _sync(device)
        per_step[kind] = (time.perf_counter() - tic) / timed
    ev = to_device(make_eval_set(cfg, test_data, sur), device)
    tic = time.perf_counter()
    for _ in range(2 if cfg.eval_ema else 1):
        evaluate(model, ev, cfg, device)
    denoise_examples(model, ev, cfg, device)
    return Timing(per_step["real"], per_step["surrogate"], warm, time.perf_counter() - tic)


def plan_steps(cfg: TrainConfig, timing: Timing, budget_s: float, safety: float = SAFETY,
               min_steps: int = 10) -> int:
    """The most steps ``n`` with ``2 [warm-up + n step_s + n_evals(n) eval_s] <= safety budget``."""
    per_run = safety * budget_s / 2 - timing.warmup_s
    n = int(per_run / timing.step_s)
    while n >= min_steps:
        evals = len(replace(cfg, steps=n).eval_steps())
        if n * timing.step_s + evals * timing.eval_s <= per_run:
            return n
        n = int(n * 0.95)
    raise ValueError(
        f"budget {budget_s:.0f} s is too small for {min_steps} steps per run on this device "
        f"({timing.step_s:.3f} s per step, {timing.eval_s:.1f} s per evaluation, "
        f"{timing.warmup_s:.1f} s warm-up); give a larger budget or fewer evaluations")


def device_name(dev: torch.device) -> str:
    """E.g. ``"NVIDIA H100 80GB HBM3"`` or ``"cpu (2 threads)"``."""
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    return f"{dev.type} ({torch.get_num_threads()} threads)"


def budget_run(cfg: TrainConfig, budget_s: float, *, train_data: Cifar10, test_data: Cifar10,
               sur: GaussianSurrogate, run_root: Path, device: torch.device | None = None,
               progress: bool = True) -> tuple[results.Result, results.Result]:
    """Measure, plan, train the real run and its control, save both; return them."""
    dev = device if device is not None else best_device()
    results.check_writable()  # before measuring and training: no work lost to a failing save
    timing = measure(cfg, train_data, test_data, sur, dev)
    steps = plan_steps(cfg, timing, budget_s)
    planned = replace(cfg, steps=steps, checkpoint_every=max(1, min(cfg.checkpoint_every, steps)))
    print(f"{device_name(dev)}: {1 / timing.step_s:.2f} steps/s (real {1 / timing.step_s_real:.2f}, "
          f"surrogate {1 / timing.step_s_surrogate:.2f}), warm-up {timing.warmup_s:.1f} s, "
          f"{timing.eval_s:.1f} s per evaluation -> {steps} steps per run, "
          f"{len(planned.eval_steps())} evaluations", flush=True)
    saved = []
    for data in ("real", "surrogate"):
        run_cfg = replace(planned, data=data)
        tic = time.perf_counter()
        arrays = train(run_cfg, train_data=train_data, test_data=test_data, surrogate=sur,
                       run_dir=run_root / f"{run_cfg.scale}-{data}-seed{run_cfg.seed}-{steps}",
                       device=dev, progress=progress, snapshots=False)
        wall = time.perf_counter() - tic
        arrays |= {"device_name": np.array(device_name(dev)), "budget_s": np.array(budget_s),
                   "planned_steps_per_s": np.array(1 / timing.step_s),
                   "torch_version": np.array(torch.__version__)}
        results.save(RESULT_NAME, run_cfg, arrays, wall_time=wall)
        saved.append(results.load(RESULT_NAME, run_cfg))
        print(f"saved {data}: {steps} steps in {wall:.0f} s "
              f"({float(arrays['steps_per_s']):.2f} training steps/s)", flush=True)
    return saved[0], saved[1]


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, load the data and run :func:`budget_run`."""
    p = argparse.ArgumentParser(prog="python -m easyhard.train.budget", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", default="5m", help="wall clock for both runs: 20s, 5m, 1.5h (default 5m)")
    p.add_argument("--preset", choices=PRESET_NAMES, default="paper", type=str.lower)
    p.add_argument("--archive", type=Path, default=None,
                   help="CIFAR-10 image archive, used when torchvision's copy is not on disk")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a TrainConfig field, e.g. --set n_eval=512 (repeatable)")
    p.add_argument("--run-root", type=Path, default=Path("runs"), help="checkpoint folders")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    budget_s = parse_budget(args.budget)
    # torch.compile costs minutes of a short budget: off unless asked for (--set compile=true).
    cfg = train_config(args.preset, **{"compile": False, **parse_overrides(args.overrides)})
    if args.threads:
        set_threads(args.threads)
    train_data = load_cifar10("train", "auto", archive=args.archive, download=False)
    test_data = load_cifar10("test", "auto", archive=args.archive, download=False)
    print(f"{train_data.label}: {len(train_data)} train, {len(test_data)} test images from "
          f"{train_data.source}", flush=True)
    sur = cifar_surrogate(train_data, cfg.ridge)
    real, ctrl = budget_run(cfg, budget_s, train_data=train_data, test_data=test_data, sur=sur,
                            run_root=args.run_root, progress=not args.no_progress)
    print(parting(real.arrays, ctrl.arrays).table())


if __name__ == "__main__":
    main()

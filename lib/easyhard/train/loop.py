"""eps-prediction DDPM training with evaluation on real vs surrogate inputs (book: chapters/cifar_simplicity_bias.ipynb, ``sec-cifar-experiment``).

Each step draws a global batch x0 (CIFAR-10 train images, or fresh surrogate
samples for the control run), integer steps t ~ U{1..T}, eps ~ N(0, I), forms
``x_t = a_t x0 + s_t eps`` with ``a_t = sqrt(abar_t)`` and takes an Adam step on

    L = |eps - f_theta(x_t, t)|^2 / (B d)     (eps-MSE per dimension),

with gradient-norm clipping and an EMA of the weights. At log-spaced steps it
evaluates the test loss (:mod:`easyhard.train.evaluation`) with the raw and
the EMA weights.

On an accelerator nothing in a step waits for the device: the data live on
it, the batch is drawn there, and the loss is written into a device buffer
that is read only at evaluation and checkpoint steps. On CUDA the network runs
in channels_last memory format. Under ``torchrun`` the step is data-parallel
(:mod:`easyhard.train.distributed`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from easyhard._validation import check_bool, check_int
from easyhard.config import device as best_device
from easyhard.config import seed_everything, torch_generator
from easyhard.data.cifar import Cifar10, load_cifar10
from easyhard.data.cifar_surrogate import cifar_surrogate
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.denoisers.unet import UNet, count_parameters, unet
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.train import distributed
from easyhard.train.checkpoint import (
    TrainState,
    check_run_dir,
    load_resume,
    save_resume,
    save_weights,
)
from easyhard.train.config import TrainConfig
from easyhard.train.evaluation import (
    EvalSet,
    autocast,
    denoise_examples,
    evaluate,
    make_eval_set,
    to_device,
    to_uint8,
    wiener_reference,
)

SUMMARY_KEYS = ("real", "surrogate", "se_real", "se_surrogate", "se_diff")
PER_IMAGE_KEYS = ("real_per_image", "surrogate_per_image")


def build_model(cfg: TrainConfig) -> UNet:
    """The U-Net of ``cfg``, initialised from ``cfg.seed``."""
    seed_everything(cfg.seed)
    return unet(cfg.unet, **({"ch": cfg.ch} if cfg.ch is not None else {}))


def ema_decay_at(cfg: TrainConfig, step: int) -> float:
    """The EMA decay used at ``step``: ``min(ema_decay, (1 + step) / (10 + step))`` with warm-up."""
    return min(cfg.ema_decay, (1 + step) / (10 + step)) if cfg.ema_warmup else cfg.ema_decay


def draw_batch(
    cfg: TrainConfig, gen: torch.Generator, shard: slice, abar: torch.Tensor,
    pixels: torch.Tensor | None, sur: GaussianSurrogate,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Draw ``(x_t, t, eps)`` for the rows ``shard`` of the global batch.

    The whole global batch is drawn from ``gen`` (so the stream does not depend
    on the number of ranks) and ``shard`` of it is kept.

    ``pixels`` are the uint8 training images on the generator's device, or None to
    draw surrogate samples.
    """
    dev, b = gen.device, cfg.batch_size
    if pixels is not None:
        idx = torch.randint(pixels.shape[0], (b,), generator=gen, device=dev)
        x0 = pixels[idx[shard]].to(torch.float32).div_(127.5).sub_(1.0)
    else:
        x0 = sur.sample(b, generator=gen).reshape(-1, 3, 32, 32)[shard]
    t = torch.randint(1, cfg.T + 1, (b,), generator=gen, device=dev)[shard]
    eps = torch.randn((b, 3, 32, 32), generator=gen, device=dev)[shard]
    a = abar[t - 1].sqrt()[:, None, None, None]
    x_t = a * x0 + (1 - a * a).sqrt() * eps
    if dev.type == "cuda":
        x_t = x_t.contiguous(memory_format=torch.channels_last)
    return x_t, t, eps


def sgd_step(
    cfg: TrainConfig, step_fn: torch.nn.Module, opt: torch.optim.Optimizer,
    params: list[torch.Tensor], ema: list[torch.Tensor], step: int,
    batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Take one Adam step on ``batch = (x_t, t, eps)`` with gradient clipping, then the EMA update.

    Returns the (detached, on-device) loss without waiting for it.
    """
    x_t, t, eps = batch
    with autocast(cfg, x_t.device):
        loss = (step_fn(x_t, t).float() - eps).pow(2).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip, foreach=True)
    opt.step()
    with torch.no_grad():
        torch._foreach_lerp_(ema, params, 1.0 - ema_decay_at(cfg, step))
    return loss.detach()


def _history_keys(cfg: TrainConfig) -> tuple[str, ...]:
    ema = tuple(f"ema_{k}" for k in SUMMARY_KEYS) if cfg.eval_ema else ()
    return (*SUMMARY_KEYS, *ema, *PER_IMAGE_KEYS, "examples", "train_loss")


def _rank_seed(cfg: TrainConfig, rank: int, step: int) -> int:
    """Seed of the global generator (dropout) of ``rank`` > 0 from ``step`` on."""
    return (cfg.seed * 1_000_003 + rank * 7919 + step) % 2**63


def check_resumable(state: TrainState, cfg: TrainConfig, dev: torch.device, run_dir: Path) -> None:
    """Raise ``ValueError`` unless ``state`` (from ``run_dir``) continues ``cfg`` on ``dev``."""
    if state.config != asdict(cfg):
        raise ValueError(f"run_dir {run_dir} holds a different config; use a fresh folder")
    if state.device_type != dev.type:
        raise ValueError(f"run_dir {run_dir} was written on {state.device_type}; resume it on "
                         f"{state.device_type}, not {dev.type}")


def train(
    cfg: TrainConfig,
    *,
    train_data: Cifar10 | None = None,
    test_data: Cifar10 | None = None,
    surrogate: GaussianSurrogate | None = None,
    run_dir: str | Path | None = None,
    device: torch.device | None = None,
    progress: bool = True,
    stop_at: int | None = None,
    snapshots: bool = True,
    provenance: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray] | None:
    """Run (or resume from ``run_dir``) the training of ``cfg``; return its arrays.

    Parameters
    ----------
    cfg : the run
    train_data, test_data, surrogate : default: CIFAR-10 from ``cfg.source`` and its surrogate
    run_dir : folder of the resume checkpoint (and weight snapshots); None: no checkpoints
    device : default: the best available (CUDA, MPS, CPU); under ``torchrun`` on CUDA,
        ``cuda:LOCAL_RANK``
    progress : show a progress bar (rank 0)
    stop_at : end the call after that many steps, leaving a resume checkpoint, and
        return None; calling again continues the run
    snapshots : save the raw and EMA weights at each evaluation step into ``run_dir``
    provenance : plain data kept in every resume checkpoint, replacing what an earlier
        process kept there (:func:`easyhard.train.run` keeps the commit of each process
        that ran the run, read back with ``easyhard.train.checkpoint.load_resume``)

    Returns
    -------
    On rank 0 the arrays of the run: ``steps`` (evaluation steps), ``eval_t``, ``a``,
    the losses ``real``, ``surrogate`` and SEs ``se_*`` of shape (n_evals, n_t + 1)
    (last column: the average over t), the same with prefix ``ema_`` for the EMA
    weights (when ``cfg.eval_ema``), per-image losses ``real_per_image``,
    ``surrogate_per_image`` (n_evals, n_t, n_eval; raw weights), the Wiener
    reference (:func:`~easyhard.train.evaluation.wiener_reference`), denoised
    ``examples``, per-step ``train_loss``, ``n_params``, ``data_label``, ``wall_s``,
    ``eval_s`` and ``steps_per_s`` (training steps per second, evaluation excluded).
    None on the other ranks and when ``stop_at`` is given.
    """
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"cfg must be a TrainConfig, got {type(cfg).__name__}")
    if stop_at is not None:
        stop_at = check_int(stop_at, f"stop_at (a step in [1, steps={cfg.steps}))", lo=1, hi=cfg.steps - 1)
        if run_dir is None:
            raise ValueError("stop_at needs run_dir (the folder of the resume checkpoint)")
    progress = check_bool(progress, "progress")
    snapshots = check_bool(snapshots, "snapshots")
    ctx = distributed.setup(device if device is not None else best_device())
    dev = ctx.device
    run_dir = Path(run_dir) if run_dir is not None else None
    # Before any heavy work: a checkpoint that cannot be resumed here, or a folder that
    # cannot be written, fails now, not after the data, surrogate and model are built.
    state = load_resume(run_dir)
    if state is not None:
        check_resumable(state, cfg, dev, run_dir)
    if run_dir is not None and ctx.main:
        check_run_dir(run_dir)
    shard = ctx.shard(cfg.batch_size)
    train_data = train_data if train_data is not None else load_cifar10("train", cfg.source)
    test_data = test_data if test_data is not None else load_cifar10("test", cfg.source)
    sur = surrogate if surrogate is not None else cifar_surrogate(train_data, cfg.ridge)

    model = build_model(cfg).to(dev)
    if dev.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    ema_model = copy.deepcopy(model).requires_grad_(False)
    params, ema = list(model.parameters()), list(ema_model.parameters())
    opt = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch_generator(cfg.seed + 1, device=dev)  # batches, steps and noise, drawn on dev
    abar = ddpm_alpha_bar(cfg.T, cfg.beta_start, cfg.beta_end).to(dev, torch.float32)
    ev_cpu = make_eval_set(cfg, test_data, sur)
    ev: EvalSet = to_device(ev_cpu, dev)
    pixels = train_data.pixels.to(dev) if cfg.data == "real" else None
    eval_steps = cfg.eval_steps()
    at_eval = set(eval_steps.tolist())
    hist: dict[str, list] = {k: [] for k in _history_keys(cfg)}
    start, wall, eval_s = 0, 0.0, 0.0

    if state is not None:
        model.load_state_dict(state.model)
        opt.load_state_dict(state.opt)
        for e, v in zip(ema, state.ema, strict=True):
            e.copy_(v)
        gen.set_state(state.gen)
        torch.set_rng_state(state.torch_rng)
        if dev.type == "cuda" and state.cuda_rng is not None:
            torch.cuda.set_rng_state(state.cuda_rng, dev)
        hist, start, wall = state.history, state.step, state.wall_time
        eval_s = state.extra.get("eval_s", 0.0)
    if ctx.rank > 0:  # dropout masks differ between ranks
        torch.manual_seed(_rank_seed(cfg, ctx.rank, start))
    net = (DistributedDataParallel(model, device_ids=[dev] if dev.type == "cuda" else None)
           if ctx.active else model)
    step_fn = torch.compile(net) if cfg.compile else net
    losses = torch.zeros(cfg.steps, device=dev)  # per-step train loss, read at log steps only
    read = start

    def record(step: int) -> None:
        nonlocal eval_s
        tic_eval = time.perf_counter()
        raw = evaluate(model, ev, cfg, dev)
        for k in (*SUMMARY_KEYS, *PER_IMAGE_KEYS):
            hist[k].append(raw[k])
        if cfg.eval_ema:
            smooth = evaluate(ema_model, ev, cfg, dev)
            for k in SUMMARY_KEYS:
                hist[f"ema_{k}"].append(smooth[k])
        hist["examples"].append(denoise_examples(model, ev, cfg, dev))
        if run_dir is not None and snapshots:
            save_weights(run_dir, step, model, [e.detach() for e in ema])
        eval_s += time.perf_counter() - tic_eval
        if progress:
            i = ev.t.index(100) if 100 in ev.t else 0
            bar.write(f"step {step}: t={ev.t[i]} real {raw['real'][i]:.4f} "
                      f"surrogate {raw['surrogate'][i]:.4f}")

    def checkpoint(step: int) -> None:
        save_resume(run_dir, TrainState(
            config=asdict(cfg), step=step, model=model.state_dict(), opt=opt.state_dict(),
            ema=[e.detach().clone() for e in ema], gen=gen.get_state(), torch_rng=torch.get_rng_state(),
            history=hist, wall_time=wall, device_type=dev.type,
            cuda_rng=torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None,
            extra={"eval_s": eval_s, "provenance": dict(provenance or {})}))

    # At most one redraw a second: a notebook front end (and nbval) must not be flooded.
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and ctx.main),
               desc=f"train ({cfg.data})", mininterval=1.0)
    tic = time.perf_counter()
    if start == 0 and ctx.main:
        record(0)
    model.train()
    for step in range(start + 1, cfg.steps + 1):
        losses[step - 1] = sgd_step(cfg, step_fn, opt, params, ema, step,
                                    draw_batch(cfg, gen, shard, abar, pixels, sur))
        bar.update(1)
        save = step % cfg.checkpoint_every == 0 or step == stop_at
        log = save or step in at_eval
        if log:  # the only host synchronisation of the loop
            chunk = ctx.mean(losses[read:step]).cpu()
            hist["train_loss"].extend(chunk.tolist())
            read = step
            bar.set_postfix(loss=f"{chunk.mean().item():.4f}", refresh=False)
        if step in at_eval and ctx.main:
            record(step)
        if log:
            wall += time.perf_counter() - tic
            tic = time.perf_counter()
            if save and run_dir is not None and ctx.main:
                checkpoint(step)
        if step == stop_at:
            bar.close()
            ctx.barrier()
            return None
    bar.close()
    ctx.barrier()
    if not ctx.main:
        return None
    ref = wiener_reference(ev_cpu, sur)
    return {
        "steps": eval_steps,
        "eval_t": np.array(ev.t),
        "a": ev.a,
        **{k: np.stack(hist[k]) for k in hist if k not in ("examples", "train_loss")},
        **ref,
        "examples": np.stack(hist["examples"]),
        "clean": to_uint8(ev_cpu.real[: cfg.n_show]),
        "train_loss": np.array(hist["train_loss"], dtype=np.float32),
        "n_params": np.array(count_parameters(model)),
        "data_label": np.array(train_data.label),
        "wall_s": np.array(wall),
        "eval_s": np.array(eval_s),
        "steps_per_s": np.array(cfg.steps / max(wall - eval_s, 1e-9)),
    }

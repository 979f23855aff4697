"""eps-prediction DDPM training with evaluation on real vs surrogate inputs (book: chapters/cifar_simplicity_bias.ipynb, ``sec-cifar-experiment``).

Each step draws a batch x0 (CIFAR-10 train images, or fresh surrogate samples
for the control run), integer steps t ~ U{1..T}, eps ~ N(0, I), forms
``x_t = a_t x0 + s_t eps`` with ``a_t = sqrt(abar_t)`` and takes an Adam step on

    L = |eps - f_theta(x_t, t)|^2 / (B d)     (eps-MSE per dimension),

with gradient-norm clipping and an EMA of the weights. At log-spaced steps it
evaluates the test loss (:mod:`easyhard.train.evaluation`).
"""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from easyhard.config import device as best_device
from easyhard.config import seed_everything, torch_generator
from easyhard.data.cifar import Cifar10, load_cifar10
from easyhard.data.cifar_surrogate import cifar_surrogate
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.denoisers.unet import UNet, count_parameters, unet
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.train.checkpoint import load_resume, save_resume, save_weights
from easyhard.train.config import TrainConfig
from easyhard.train.evaluation import (
    autocast,
    denoise_examples,
    evaluate,
    make_eval_set,
    to_uint8,
    wiener_reference,
)

SUMMARY_KEYS = ("real", "surrogate", "se_real", "se_surrogate", "se_diff")


def build_model(cfg: TrainConfig) -> UNet:
    """The U-Net of ``cfg``, initialised from ``cfg.seed``."""
    seed_everything(cfg.seed)
    return unet(cfg.unet, **({"ch": cfg.ch} if cfg.ch is not None else {}))


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
) -> dict[str, np.ndarray] | None:
    """Run (or resume from ``run_dir``) the training of ``cfg``; return its arrays.

    ``stop_at`` ends the call after that many steps, leaving a resume
    checkpoint (None is returned); calling again continues the run.
    """
    dev = device if device is not None else best_device()
    if stop_at is not None and (run_dir is None or not 1 <= stop_at < cfg.steps):
        raise ValueError(f"stop_at must lie in [1, steps={cfg.steps}) and needs run_dir, got {stop_at}")
    train_data = train_data if train_data is not None else load_cifar10("train", cfg.source)
    test_data = test_data if test_data is not None else load_cifar10("test", cfg.source)
    sur = surrogate if surrogate is not None else cifar_surrogate(train_data, cfg.ridge)
    run_dir = Path(run_dir) if run_dir is not None else None

    model = build_model(cfg).to(dev)
    ema = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step_fn = torch.compile(model) if cfg.compile else model
    gen = torch_generator(cfg.seed + 1, device=dev)  # batches, steps and noise, drawn on dev
    abar = ddpm_alpha_bar(cfg.T, cfg.beta_start, cfg.beta_end).to(dev, torch.float32)
    ev = make_eval_set(cfg, test_data, sur)
    eval_steps = cfg.eval_steps()
    hist: dict[str, list] = {k: [] for k in (*SUMMARY_KEYS, "examples", "train_loss")}
    start, wall = 0, 0.0

    state = load_resume(run_dir)
    if state is not None:
        if state["config"] != asdict(cfg):
            raise ValueError(f"run_dir {run_dir} holds a different config; use a fresh folder")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        for e, v in zip(ema, state["ema"], strict=True):
            e.copy_(v)
        gen.set_state(state["gen"])
        torch.set_rng_state(state["torch_rng"])
        if dev.type == "cuda":
            torch.cuda.set_rng_state(state["cuda_rng"], dev)
        hist, start, wall = state["history"], state["step"], state["wall_time"]

    def checkpoint(step: int) -> None:
        if run_dir is not None:
            save_resume(run_dir, {
                "config": asdict(cfg), "step": step, "model": model.state_dict(),
                "opt": opt.state_dict(), "ema": ema, "gen": gen.get_state(),
                "torch_rng": torch.get_rng_state(), "history": hist, "wall_time": wall,
                **({"cuda_rng": torch.cuda.get_rng_state(dev)} if dev.type == "cuda" else {}),
            })

    def record(step: int) -> None:
        summary = evaluate(model, ev, cfg, dev)
        for k in SUMMARY_KEYS:
            hist[k].append(summary[k])
        hist["examples"].append(denoise_examples(model, ev, cfg, dev))
        if run_dir is not None:
            save_weights(run_dir, step, model, ema)
        if progress:
            i = ev.t.index(100) if 100 in ev.t else 0
            bar.write(f"step {step}: t={ev.t[i]} real {summary['real'][i]:.4f} "
                      f"surrogate {summary['surrogate'][i]:.4f}")

    # At most one redraw a second: a notebook front end (and nbval) must not be flooded.
    bar = tqdm(total=cfg.steps, initial=start, disable=not progress, desc=f"train ({cfg.data})",
               mininterval=1.0)
    if start == 0:
        record(0)
    tic = time.perf_counter()
    model.train()
    for step in range(start + 1, cfg.steps + 1):
        if cfg.data == "real":
            idx = torch.randint(len(train_data), (cfg.batch_size,), generator=gen, device=dev)
            x0 = train_data.images(idx.cpu(), device=dev)
        else:
            x0 = sur.sample(cfg.batch_size, generator=gen).reshape(-1, 3, 32, 32)
        t = torch.randint(1, cfg.T + 1, (cfg.batch_size,), generator=gen, device=dev)
        eps = torch.randn(x0.shape, generator=gen, device=dev)
        a = abar[t - 1].sqrt()[:, None, None, None]
        x_t = a * x0 + (1 - a * a).sqrt() * eps
        with autocast(cfg, dev):
            loss = (step_fn(x_t, t).float() - eps).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        with torch.no_grad():
            for e, p in zip(ema, model.parameters(), strict=True):
                e.lerp_(p, 1.0 - cfg.ema_decay)
        hist["train_loss"].append(loss.item())
        bar.update(1)
        bar.set_postfix(loss=f"{hist['train_loss'][-1]:.4f}", refresh=False)
        if step in eval_steps:
            record(step)
        if step % cfg.checkpoint_every == 0 or step in eval_steps or step == stop_at:
            wall += time.perf_counter() - tic
            tic = time.perf_counter()
            checkpoint(step)
        if step == stop_at:
            bar.close()
            return None
    bar.close()
    wall += time.perf_counter() - tic
    ref = wiener_reference(ev, sur)
    return {
        "steps": eval_steps,
        "eval_t": np.array(ev.t),
        "a": ev.a,
        **{k: np.stack(hist[k]) for k in SUMMARY_KEYS},
        **ref,
        "examples": np.stack(hist["examples"]),
        "clean": to_uint8(ev.real[: cfg.n_show]),
        "train_loss": np.array(hist["train_loss"], dtype=np.float32),
        "n_params": np.array(count_parameters(model)),
        "data_label": np.array(train_data.label),
        "wall_s": np.array(wall),
    }

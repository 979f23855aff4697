"""Training throughput (images/s) of easyhard's U-Net presets against diffusers' UNet2DModel.

For each preset the reference is ``diffusers.UNet2DModel`` of the same
configuration (widths, blocks per level, attention at 16x16, groups,
dropout, single-head attention); both take the same eps-prediction Adam step
on the same batch, on the current device, timed alternately in one process
(median over repeats). diffusers is needed only for the reference column:
``pip install diffusers``; without it the table shows easyhard's images per
second alone. On CUDA both nets run in channels_last memory format (as the
training loop does); ``--compile`` wraps both in ``torch.compile``.

    python benchmarks/unet_training.py [--presets tiny small ddpm] [--batch 64] [--steps 5]
    python benchmarks/unet_training.py --precision bf16 --batch 128 --compile   # on a GPU

Measured on the development machine (2 shared CPU cores, one torch thread,
diffusers 0.42.1; images/s ours vs reference, ratio): fp32 batch 64: tiny
34.0 vs 33.3 (1.02), small 16.2 vs 15.7 (1.03); bf16 autocast batch 64: tiny
68.3 vs 70.6 (0.97), small 25.2 vs 25.5 (0.99); fp32 batch 16: ddpm 5.0 vs 4.7
(1.06). Equal within the noise of a shared machine. Two threads on a busy
two-core machine were up to 20x slower than one: pass --threads 1 there.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from easyhard.config import device as best_device
from easyhard.config import set_threads
from easyhard.denoisers.unet import PRESETS, UNetConfig, count_parameters, unet


def reference(cfg: UNetConfig) -> torch.nn.Module:
    """diffusers' UNet2DModel with the configuration of ``cfg``."""
    from diffusers import UNet2DModel

    resolutions = [cfg.resolution // 2**i for i in range(len(cfg.ch_mult))]
    down = ["AttnDownBlock2D" if r in cfg.attn_resolutions else "DownBlock2D" for r in resolutions]
    up = [b.replace("Down", "Up") for b in reversed(down)]
    return UNet2DModel(
        sample_size=cfg.resolution, in_channels=cfg.in_channels, out_channels=cfg.in_channels,
        block_out_channels=tuple(cfg.ch * m for m in cfg.ch_mult), layers_per_block=cfg.num_res_blocks,
        down_block_types=tuple(down), up_block_types=tuple(up), dropout=cfg.dropout,
        norm_num_groups=cfg.groups, attention_head_dim=None, flip_sin_to_cos=False,
    )


def step_fn(model: torch.nn.Module, batch: int, dev: torch.device, bf16: bool,
            diffusers_api: bool, compile_: bool = False) -> Callable[[], None]:
    """One Adam step of eps-prediction on a fixed random batch."""
    opt = torch.optim.Adam(model.parameters(), lr=2e-4)
    x = torch.randn(batch, 3, 32, 32, device=dev)
    t = torch.randint(1, 1001, (batch,), device=dev)
    if dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compile_ else model

    def step() -> None:
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            out = fwd(x, t).sample if diffusers_api else fwd(x, t)
            loss = (out.float() - x).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5, help="timed steps per repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--compile", action="store_true", help="torch.compile both nets")
    args = p.parse_args()
    if args.threads:
        set_threads(args.threads)
    dev = best_device()
    bf16 = args.precision == "bf16"
    try:
        import diffusers  # noqa: F401
        have_ref = True
    except ImportError:
        have_ref = False
    name_dev = torch.cuda.get_device_name(dev) if dev.type == "cuda" else str(dev)
    print(f"device {name_dev}, threads {torch.get_num_threads()}, batch {args.batch}, {args.precision}"
          f"{', compiled' if args.compile else ''}"
          f"{'' if have_ref else '; diffusers not installed: no reference column'}")
    print(f"{'preset':8s} {'params ours':>12s} {'params ref':>12s} {'ours img/s':>11s} "
          f"{'ref img/s':>10s} {'ratio':>6s}")
    for name in args.presets:
        cfg = PRESETS[name]
        torch.manual_seed(0)
        ours = unet(name).to(dev)
        steps = {"ours": step_fn(ours, args.batch, dev, bf16, False, args.compile)}
        if have_ref:
            ref = reference(cfg).to(dev)
            steps["ref"] = step_fn(ref, args.batch, dev, bf16, True, args.compile)
        for s in steps.values():
            for _ in range(3 if args.compile else 1):
                s()  # warm-up (and compilation)
        rates: dict[str, list[float]] = {k: [] for k in steps}
        for _ in range(args.repeats):
            for key, s in steps.items():
                tic = time.perf_counter()
                for _ in range(args.steps):
                    s()
                rates[key].append(args.batch * args.steps / (time.perf_counter() - tic))
        r_ours = statistics.median(rates["ours"])
        if have_ref:
            r_ref = statistics.median(rates["ref"])
            print(f"{name:8s} {count_parameters(ours):12,d} {count_parameters(ref):12,d} "
                  f"{r_ours:11.1f} {r_ref:10.1f} {r_ours / r_ref:6.2f}", flush=True)
        else:
            print(f"{name:8s} {count_parameters(ours):12,d} {'-':>12s} {r_ours:11.1f} {'-':>10s} "
                  f"{'-':>6s}", flush=True)


if __name__ == "__main__":
    main()

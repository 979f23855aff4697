"""Data-parallel training: 2 gloo ranks under torchrun against one process.

The test launches this file itself under ``torchrun --nproc_per_node=2`` (the
``__main__`` block is the worker): one full 2-rank run, and one interrupted
after step 2 and resumed. Both write their arrays (rank 0) to ``npz`` files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from easyhard.data.cifar import Cifar10
from easyhard.data.surrogate import GaussianSurrogate
from easyhard.train import TrainConfig, train

CFG = TrainConfig(unet="tiny", ch=16, steps=4, batch_size=4, lr=1e-3, n_eval=8, n_evals=3,
                  eval_t=(100, 500), show_t=100, n_show=2, checkpoint_every=2, precision="fp32")
TIMING_KEYS = ("wall_s", "eval_s", "steps_per_s")


def fake_data() -> dict:
    """Random train/test splits and a diagonal surrogate, identical in every process."""
    g = torch.Generator().manual_seed(0)
    splits = {}
    for split, n in (("train", 32), ("test", 16)):
        pixels = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
        splits[split] = Cifar10(pixels, torch.zeros(n, dtype=torch.int64), split, "archive", "synthetic", False)
    mean = splits["train"].images().reshape(32, -1).double().mean(0)
    sur = GaussianSurrogate.from_eigh(mean, torch.full((3072,), 0.2, dtype=torch.float64),
                                      torch.eye(3072, dtype=torch.float64))
    return dict(train_data=splits["train"], test_data=splits["test"], surrogate=sur)


def worker(out: Path, kind: str) -> None:
    """Under torchrun: a full run, and a run interrupted at step 2 then resumed."""
    torch.set_num_threads(1)
    cfg, data = replace(CFG, data=kind), fake_data()
    dev = torch.device("cpu")
    full = train(cfg, run_dir=out / "two-full", progress=False, device=dev, **data)
    assert train(cfg, run_dir=out / "two-cut", progress=False, device=dev, stop_at=2, **data) is None
    if int(os.environ["RANK"]) == 0:  # keep the interrupted state for a 1-rank resume
        shutil.copytree(out / "two-cut", out / "two-cut-copy")
    resumed = train(cfg, run_dir=out / "two-cut", progress=False, device=dev, **data)
    if int(os.environ["RANK"]) == 0:
        np.savez(out / "full.npz", **full)
        np.savez(out / "resumed.npz", **resumed)
    else:
        assert full is None and resumed is None


def launch(out: Path, kind: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           __file__, str(out), kind]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def load(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        return {k: f[k] for k in f.files}


def test_two_ranks_equal_one_process_and_resume(tmp_path):
    torch.set_num_threads(1)
    launch(tmp_path, "real")
    data = fake_data()
    one = train(CFG, run_dir=tmp_path / "one", progress=False, device=torch.device("cpu"), **data)
    # One step of the 2-rank run equals a 1-process step on the same global batch.
    w1 = torch.load(tmp_path / "one" / "weights-0000001.pt")
    w2 = torch.load(tmp_path / "two-full" / "weights-0000001.pt")
    for name, p in w1["model"].items():
        assert torch.allclose(p, w2["model"][name], rtol=1e-5, atol=1e-6), name
    assert not torch.equal(w1["model"]["conv_out.weight"], build_init(CFG)["conv_out.weight"])
    two, resumed = load(tmp_path / "full.npz"), load(tmp_path / "resumed.npz")
    for key in ("real", "surrogate", "ema_real", "train_loss"):
        assert np.allclose(one[key], two[key], rtol=1e-4, atol=1e-6), key
    # An interrupted 2-rank run resumed on 2 ranks continues the same run exactly ...
    for key in two:
        if key not in TIMING_KEYS:
            assert np.array_equal(two[key], resumed[key]), key
    # ... and so does the same checkpoint resumed in one process.
    single = train(CFG, run_dir=tmp_path / "two-cut-copy", progress=False, device=torch.device("cpu"),
                   **data)
    for key in ("real", "surrogate", "train_loss"):
        assert np.allclose(single[key], two[key], rtol=1e-4, atol=1e-6), key


def build_init(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    from easyhard.train.loop import build_model

    return build_model(cfg).state_dict()


if __name__ == "__main__":
    worker(Path(sys.argv[1]), sys.argv[2])

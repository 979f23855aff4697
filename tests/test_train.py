"""Training loop: one step against an independent computation, checkpoint-resume equality, config checks."""

from __future__ import annotations

import copy
import functools
from dataclasses import replace

import numpy as np
import pytest
import torch

import easyhard.train as train_api
from easyhard import results
from easyhard.data.cifar import Cifar10
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.train import TrainConfig, train, train_config
from easyhard.train.checkpoint import RESUME_FILE, load_resume
from easyhard.train.evaluation import parting_step
from easyhard.train.loop import build_model, draw_batch, ema_decay_at, sgd_step
from easyhard.train.loop import train as loop_train

TIMING_KEYS = ("wall_s", "eval_s", "steps_per_s")

SMALL = TrainConfig(unet="tiny", ch=16, steps=6, batch_size=4, lr=1e-3, n_eval=8, n_evals=3,
                    eval_t=(100, 500), show_t=100, n_show=2, checkpoint_every=2, precision="fp32")


def fake_split(n: int, seed: int, split: str) -> Cifar10:
    g = torch.Generator().manual_seed(seed)
    pixels = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return Cifar10(pixels, torch.zeros(n, dtype=torch.int64), split, "archive", "synthetic", False)


def test_sgd_step_is_one_clipped_adam_step_on_the_eps_mse(data):
    """sgd_step against an independent computation: the eps-MSE, its gradient clipped to
    grad_clip, Adam's first step (-lr g / (|g| + eps) per entry) and the EMA lerp.

    (It replaces a test that one step lowers the loss on a fixed batch, which holds for
    almost any differentiable model and update.)
    """
    torch.set_num_threads(1)
    cfg = replace(SMALL, grad_clip=1e-3)  # small enough that clipping acts
    model = build_model(cfg).eval()  # eval: no dropout, so both forward passes agree
    reference = copy.deepcopy(model)
    params = list(model.parameters())
    ema0 = [p.detach().clone() for p in params]
    ema = [e.clone() for e in ema0]
    before = [p.detach().clone() for p in params]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    abar = ddpm_alpha_bar().float()
    x_t, t, eps = draw_batch(cfg, torch.Generator().manual_seed(3), slice(0, 4), abar,
                             data["train_data"].pixels, data["surrogate"])

    ref_loss = (reference(x_t, t) - eps).pow(2).mean()
    ref_loss.backward()
    grads = [p.grad for p in reference.parameters()]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    assert norm > cfg.grad_clip
    clip = cfg.grad_clip / (float(norm) + 1e-6)

    loss = sgd_step(cfg, model, opt, params, ema, 1, (x_t, t, eps))
    assert torch.allclose(loss, ref_loss.detach(), rtol=1e-6)
    moved = 0
    for p, p0, g, e0, e in zip(params, before, grads, ema0, ema, strict=True):
        torch.testing.assert_close(p.grad, clip * g, rtol=1e-4, atol=1e-12)
        g_hat = clip * g
        torch.testing.assert_close(p.detach() - p0, -cfg.lr * g_hat / (g_hat.abs() + 1e-8),
                                   rtol=1e-4, atol=1e-9)
        torch.testing.assert_close(e, e0 + (1 - ema_decay_at(cfg, 1)) * (p.detach() - e0))
        moved += int((p.detach() != p0).sum())
    assert moved > 0


@pytest.mark.parametrize("kind", ["real", "surrogate"])
def test_resume_equals_uninterrupted(tmp_path, data, kind):
    cfg = replace(SMALL, data=kind)
    cpu = torch.device("cpu")  # all three on one device (a GPU draws other random streams)
    full = train(cfg, run_dir=tmp_path / "a", progress=False, device=cpu, **data)
    assert train(cfg, run_dir=tmp_path / "b", progress=False, stop_at=3, device=cpu, **data) is None
    resumed = train(cfg, run_dir=tmp_path / "b", progress=False, device=cpu, **data)
    assert full.keys() == resumed.keys()
    for key in full:
        if key not in TIMING_KEYS:
            assert np.array_equal(full[key], resumed[key]), key
    assert list(full["steps"]) == [0, 1, 2, 6]
    assert full["real"].shape == full["ema_real"].shape == (4, 3)  # 4 evaluations x (2 t + average)
    assert full["real_per_image"].shape == (4, 2, 8)
    per_image_mean = full["real_per_image"].astype(np.float64).mean(2)
    assert np.allclose(per_image_mean, full["real"][:, :2], rtol=1e-5)
    # Step 0: the EMA is the initial net; with warm-up it then follows the raw weights.
    assert np.array_equal(full["ema_real"][0], full["real"][0])
    assert not np.array_equal(full["ema_real"][-1], full["real"][-1])
    assert full["train_loss"].shape == (6,) and np.all(np.isfinite(full["train_loss"]))
    assert np.allclose(full["real"][0], full["surrogate"][0])  # zero-initialised output: eps_hat = 0
    snapshot = torch.load(tmp_path / "a" / "weights-0000006.pt")
    assert set(snapshot) == {"model", "ema"} and len(snapshot["ema"]) == len(snapshot["model"])
    # The Wiener denoiser's measured loss on surrogate samples matches the eigenvalue formula.
    assert np.all(np.abs(full["wiener_surrogate"] - full["floor"]) < 4 * full["wiener_se_surrogate"])


def test_resume_rejects_other_config_and_corrupt_file(tmp_path, data):
    train(SMALL, run_dir=tmp_path, progress=False, stop_at=2, **data)
    with pytest.raises(ValueError, match="different config"):
        train(replace(SMALL, lr=2e-3), run_dir=tmp_path, progress=False, **data)
    (tmp_path / RESUME_FILE).write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="unreadable"):
        load_resume(tmp_path)


def test_ema_warmup_and_batch_shards(data):
    assert ema_decay_at(SMALL, 0) == pytest.approx(0.1) and ema_decay_at(SMALL, 10**6) == SMALL.ema_decay
    assert ema_decay_at(replace(SMALL, ema_warmup=False), 0) == SMALL.ema_decay
    abar = ddpm_alpha_bar().float()
    for pixels in (data["train_data"].pixels, None):
        whole = draw_batch(SMALL, torch.Generator().manual_seed(3), slice(0, 4), abar, pixels,
                           data["surrogate"])
        halves = [draw_batch(SMALL, torch.Generator().manual_seed(3), sl, abar, pixels, data["surrogate"])
                  for sl in (slice(0, 2), slice(2, 4))]
        for k in range(3):  # x_t, t, eps: the two shards are the halves of the global batch
            assert torch.equal(torch.cat([h[k] for h in halves]), whole[k])


def test_presets_and_eval_steps():
    ci, laptop, paper, colab = (train_config(s) for s in ("ci", "laptop", "paper", "colab"))
    assert ci.lr == 1e-3 and laptop.lr == paper.lr == colab.lr == 2e-4 and paper.batch_size == 128
    assert laptop.n_eval >= 1024 and paper.n_eval >= 1024 and colab.n_eval >= 1024
    assert laptop.eval_ema and paper.eval_ema and colab.scale == "colab"
    for cfg in (laptop, paper):
        steps = cfg.eval_steps()
        assert steps[0] == 0 and steps[1] == 1 and steps[-1] == cfg.steps
        assert np.all(np.diff(steps) > 0) and np.sum(steps <= 1000) >= 18


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(data="noise"), "data"), (dict(unet="huge"), "unet"), (dict(steps=0), "steps"),
     (dict(lr=0.0), "lr"), (dict(eval_t=(0,)), "eval_t"), (dict(precision="fp8"), "precision"),
     (dict(ema_decay=1.0), "ema_decay"), (dict(seed=-1), "seed"), (dict(ch=20), "ch")],
)
def test_bad_config(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainConfig(**kwargs)


def test_parting_step():
    steps = np.array([0, 1, 2, 4, 8])
    gap = np.array([0.0, 0.3, 0.0, 0.5, 0.6])
    assert parting_step(steps, gap, np.full(5, 0.1)) == 4  # the blip at step 1 does not count
    assert parting_step(steps, gap, np.full(5, 1.0)) is None


def test_a_resumed_run_records_every_process_and_the_summed_time(tmp_path, data, monkeypatch):
    """A run resumed by a later process recorded only that process's commit and seconds."""
    run_dir, root = tmp_path / "run", tmp_path / "results"
    monkeypatch.setattr(results, "_git_commit", lambda: "commit-of-the-start")
    monkeypatch.setattr(train_api, "train", functools.partial(loop_train, stop_at=3, **data))
    assert train_api.run(SMALL, run_dir=run_dir, progress=False, root=root) is None
    first_part = load_resume(run_dir).wall_time
    monkeypatch.setattr(results, "_git_commit", lambda: "commit-of-the-resume")
    monkeypatch.setattr(train_api, "train", functools.partial(loop_train, **data))
    res = train_api.run(SMALL, run_dir=run_dir, progress=False, root=root)
    assert res.meta["git_commit"] == "commit-of-the-start"
    assert [p["git_commit"] for p in res.meta["processes"]] == ["commit-of-the-start", "commit-of-the-resume"]
    assert res.meta["wall_time_s"] == pytest.approx(float(res.arrays["wall_s"]))
    assert res.meta["wall_time_s"] > first_part > 0


def test_a_run_resumed_from_an_unrecorded_checkpoint_says_so(tmp_path, data, monkeypatch):
    loop_train(SMALL, run_dir=tmp_path / "run", progress=False, stop_at=3, **data)  # no provenance kept
    monkeypatch.setattr(train_api, "train", functools.partial(loop_train, **data))
    res = train_api.run(SMALL, run_dir=tmp_path / "run", progress=False, root=tmp_path / "results")
    assert res.meta["git_commit"].startswith("unknown (not recorded")
    assert len(res.meta["processes"]) == 2


def test_a_run_in_one_process_records_its_commit_only(tmp_path, data, monkeypatch):
    monkeypatch.setattr(train_api, "train", functools.partial(loop_train, **data))
    res = train_api.run(SMALL, run_dir=tmp_path / "run", progress=False, root=tmp_path / "results")
    assert "processes" not in res.meta and res.meta["wall_time_s"] == pytest.approx(float(res.arrays["wall_s"]))

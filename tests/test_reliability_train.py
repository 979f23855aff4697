"""Reliability of the U-Net training entry points: bad configs fail first, checkpoints load safely."""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch
from test_train import SMALL

import easyhard.train as train_pkg
from easyhard import results
from easyhard._validation import SEED_MAX
from easyhard.train import TrainConfig, train, train_config
from easyhard.train.checkpoint import RESUME_FILE, SAFE_GLOBALS, load_resume


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(eval_t=(100.5,)), TypeError, r"eval_t entry .*integer in \[1, 1000\], got 100.5"),
        (dict(show_t=100.5), TypeError, r"show_t .*integer in \[1, 1000\], got 100.5"),
        (dict(eval_t=(True,)), TypeError, "eval_t entry .*got True"),
        (dict(eval_t=100), TypeError, "eval_t must be a tuple"),
        (dict(eval_t=(100, 100)), ValueError, "distinct"),
        (dict(ch=8.0), TypeError, r"ch \(channel width.*got 8.0"),
        (dict(seed=2**64), ValueError, "seed must be a non-negative integer"),
        (dict(seed=SEED_MAX), ValueError, r"seed must be .*<= 2\*\*64 - 2"),  # seed + 1 seeds the batches
        (dict(eval_seed=SEED_MAX), ValueError, r"eval_seed must be .*<= 2\*\*64 - 2"),
        (dict(beta_start=float("nan")), ValueError, r"beta_start must lie in \(0, 1\)"),
        (dict(beta_start=0.5, beta_end=0.1), ValueError, "beta_start <= beta_end"),
        (dict(scale="gpu"), ValueError, "scale must be one of"),
        (dict(source="web"), ValueError, "source must be one of"),
        (dict(ridge=-1), ValueError, "ridge must be a finite number >= 0"),
        (dict(compile="no"), TypeError, "compile must be True or False, got 'no'"),
        (dict(ema_warmup=1), TypeError, "ema_warmup must be True or False"),
        (dict(lr="1e-3"), TypeError, r"lr must lie in \(0, 1\) .*got '1e-3'"),
        (dict(grad_clip=True), TypeError, "grad_clip .*got True"),
        (dict(n_show=True), TypeError, "n_show .*got True"),
        (dict(batch_size=10**7), ValueError, r"batch_size must be an integer in \[1, 699050\]"),
        (dict(n_eval=10**6), ValueError, r"n_eval must be an integer in \[1, "),
    ],
)
def test_train_config_refuses_at_construction(kwargs, error, match):
    """Defect 13: these were accepted and failed only inside train() (or never: compile="no")."""
    with pytest.raises(error, match=match):
        TrainConfig(**kwargs)
    with pytest.raises(ValueError, match=match):  # every refusal is also a ValueError
        TrainConfig(**kwargs)


def test_train_config_stores_plain_values():
    """Defect 18: np.int64 steps were refused; eval_t=(True,) was saved as a bool array."""
    cfg = TrainConfig(steps=np.int64(10), eval_t=[np.int64(5), 7], lr=np.float32(0.5), ch=np.int64(16))
    assert (cfg.steps, cfg.eval_t, cfg.ch) == (10, (5, 7), 16)
    assert type(cfg.steps) is int and all(type(t) is int for t in cfg.eval_t) and type(cfg.lr) is float
    assert results.config_hash(cfg) == results.config_hash(replace(cfg))  # hashable as JSON
    for name in ("ci", "laptop", "paper", "colab"):  # presets unchanged by the normalisation
        preset = train_config(name)
        assert TrainConfig(**asdict(preset)) == preset
    assert train_config("CI") == train_config("ci")  # as EASYHARD_SCALE=CI


@pytest.mark.parametrize(("stop_at", "error"), [(2.5, TypeError), (True, TypeError), (0, ValueError),
                                                (6, ValueError), ("3", TypeError)])
def test_stop_at_is_an_integer_step_before_the_end(tmp_path, data, stop_at, error):
    """Defect 13: stop_at=2.5 was ignored (the run finished), stop_at=True counted as 1."""
    with pytest.raises(error, match=r"stop_at \(a step in \[1, steps=6\)\)"):
        train(SMALL, run_dir=tmp_path, progress=False, stop_at=stop_at, **data)
    assert not (tmp_path / RESUME_FILE).exists()
    with pytest.raises(ValueError, match="stop_at needs run_dir"):
        train(SMALL, progress=False, stop_at=3, **data)


def test_bad_arguments_fail_before_the_data_is_loaded(tmp_path, monkeypatch):
    """Defect 13: errors came after the data, surrogate and model were built."""
    def no_loading(*args, **kwargs):
        raise AssertionError("loaded data before checking the arguments")

    monkeypatch.setattr("easyhard.train.loop.load_cifar10", no_loading)
    with pytest.raises(TypeError, match="cfg must be a TrainConfig"):
        train(asdict(SMALL), progress=False)
    with pytest.raises(TypeError, match="progress must be True or False"):
        train(SMALL, progress="no")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match=f"cannot write checkpoints to run_dir {blocker / 'run'}"):
        train(SMALL, run_dir=blocker / "run", progress=False)


def test_other_config_in_run_dir_fails_before_the_data_is_loaded(tmp_path, data, monkeypatch):
    train(SMALL, run_dir=tmp_path, progress=False, stop_at=2, **data)
    monkeypatch.setattr("easyhard.train.loop.load_cifar10", lambda *a, **k: pytest.fail("loaded data"))
    with pytest.raises(ValueError, match=f"run_dir {tmp_path} holds a different config"):
        train(replace(SMALL, lr=2e-3), run_dir=tmp_path, progress=False)


def test_run_checks_the_results_folder_before_training(tmp_path, monkeypatch):
    """Defect 9: train.run computed first; with an unwritable results folder the work was lost."""
    calls = []
    monkeypatch.setattr(train_pkg, "train", lambda *a, **k: calls.append(1) or {"x": np.ones(1), "wall_s": np.array(1.0)})
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot write results"):
        train_pkg.run(SMALL, root=blocker / "results", progress=False)
    assert calls == []
    saved = train_pkg.run(SMALL, root=tmp_path / "results", progress=False)
    assert calls == [1] and saved.arrays["x"].tolist() == [1.0]


class _Payload:
    """Unpickling this creates a file: what a hostile checkpoint could do instead."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_checkpoint_loading_runs_no_pickled_code(tmp_path):
    """Defect 21: load_resume used torch.load(weights_only=False): a pickled object ran code."""
    target = tmp_path / "created-by-the-checkpoint"
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    torch.save({"config": {}, "step": 1, "evil": _Payload(str(target))}, run_dir / RESUME_FILE)
    with pytest.raises(ValueError, match=f"resume checkpoint {run_dir / RESUME_FILE} holds objects other "
                                         "than tensors.*could run code"):
        load_resume(run_dir)
    assert not target.exists()
    # object arrays need more than the allowed numpy globals: refused as well
    torch.save({"history": np.array([{}, 1], dtype=object)}, run_dir / RESUME_FILE)
    with pytest.raises(ValueError, match="holds objects other than tensors"):
        load_resume(run_dir)
    assert all(not isinstance(g, tuple) or g[1].startswith("numpy.") for g in SAFE_GLOBALS)


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory, data) -> bytes:
    run_dir = tmp_path_factory.mktemp("run")
    train(SMALL, run_dir=run_dir, progress=False, stop_at=2, **data)
    return (run_dir / RESUME_FILE).read_bytes()


@pytest.mark.parametrize("damage", ["empty", "random bytes", "half", "last byte", "a list", "no fields"])
def test_damaged_checkpoint_names_the_file(tmp_path, data, checkpoint_bytes, damage):
    """Defect 8: EOFError / UnpicklingError / PytorchStreamReader errors without the file's name."""
    path = tmp_path / RESUME_FILE
    raw = checkpoint_bytes
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif damage == "half":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "last byte":
        path.write_bytes(raw[:-1])
    elif damage == "a list":
        torch.save([1, 2], path)
    else:
        torch.save({"step": 2}, path)
    tic = time.perf_counter()
    with pytest.raises(ValueError, match=f"resume checkpoint {path} (is unreadable|is not a checkpoint "
                                         "dict|lacks).*(delete|fresh)"):
        load_resume(tmp_path)
    with pytest.raises(ValueError, match=str(path)):  # train refuses too, and does not start over
        train(SMALL, run_dir=tmp_path, progress=False, **data)
    assert time.perf_counter() - tic < 30


def test_checkpoint_of_the_current_format_resumes_with_weights_only(tmp_path, data):
    """The format written by train() (numpy arrays in the history) loads under weights_only=True."""
    train(SMALL, run_dir=tmp_path, progress=False, stop_at=3, **data)
    state = load_resume(tmp_path)
    assert state.step == 3 and state.config == asdict(SMALL)
    assert isinstance(state.history["real"][0], np.ndarray)
    with pytest.raises(Exception, match="Weights only load failed"):  # plain weights_only needs the list
        torch.load(tmp_path / RESUME_FILE, weights_only=True)
    with torch.serialization.safe_globals(SAFE_GLOBALS):
        torch.load(tmp_path / RESUME_FILE, weights_only=True)


@pytest.mark.parametrize(("argv", "match"), [
    (["--steps", "0"], r"steps must be an integer in \[1, "),
    (["--threads", "0"], r"n \(threads\) must be an integer in \[1, "),
    (["--lr", "5"], r"lr must lie in \(0, 1\)"),
    (["--seeds", "0", "-3"], "seed must be a non-negative integer"),
    (["--set", "n_eval=abc"], "override n_eval must be an integer, got 'abc'"),
    (["--set", "eval_t=100,x"], "override eval_t must be comma-separated integers"),
    (["--set", "compile=no"], "override compile must be true or false"),
])
def test_train_cli_reports_bad_values_as_usage_errors(argv, match, capsys, monkeypatch):
    """Defect 20: `python -m easyhard.train --steps 0` ended in a traceback, not an argparse error;
    with --seeds, a bad later seed failed only after the first run."""
    from easyhard.train import __main__ as cli

    monkeypatch.setattr(cli, "run", lambda *a, **k: pytest.fail("started a run"))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--preset", "ci", "--no-progress", *argv])
    assert exit_info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


def test_debris_of_killed_checkpoint_writes_is_removed(tmp_path):
    """Defect 22: `.weights-0000000.pt.<pid>.tmp` stayed behind for good after a kill."""
    import subprocess
    import sys

    from easyhard.train.checkpoint import save_atomic

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a pid that no longer runs
    debris = tmp_path / f".{RESUME_FILE}.{dead.pid}.tmp"
    debris.write_bytes(b"torn")
    live = tmp_path / f".{RESUME_FILE}.{os.getppid()}.tmp"  # a running writer: kept
    live.write_bytes(b"in progress")
    save_atomic({"x": torch.ones(1)}, tmp_path / RESUME_FILE)
    assert not debris.exists() and live.exists()
    assert torch.load(tmp_path / RESUME_FILE)["x"].item() == 1.0


def test_train_cli_preset_is_case_insensitive_like_the_environment_variable(monkeypatch):
    """Defect 20: EASYHARD_SCALE=LAPTOP worked but --preset LAPTOP was refused."""
    from easyhard.train import __main__ as cli

    seen = []
    monkeypatch.setattr(cli, "run", lambda cfg, *a, **k: seen.append(cfg) or pytest.skip("stop"))
    with pytest.raises(pytest.skip.Exception):
        cli.main(["--preset", "CI", "--no-progress", "--data", "real"])
    assert seen[0].steps == train_config("ci").steps


def test_train_cli_skips_a_run_already_saved_unless_forced(tmp_path, monkeypatch, capsys):
    """`--seeds 0 1 2 --data both` trained again, for hours, every run already saved."""
    from easyhard import results
    from easyhard.train import RESULT_NAME
    from easyhard.train import __main__ as cli

    monkeypatch.setenv(results.RESULTS_ENV, str(tmp_path))
    real = replace(train_config("ci"), data="real")
    results.save(RESULT_NAME, real, {"x": np.ones(1)}, wall_time=1.0)
    seen = []
    monkeypatch.setattr(cli, "run", lambda cfg, *a, **k: seen.append(cfg.data))
    cli.main(["--preset", "ci", "--no-progress", "--data", "both"])
    assert seen == ["surrogate"] and "already saved" in capsys.readouterr().out
    cli.main(["--preset", "ci", "--no-progress", "--data", "both", "--force"])
    assert seen == ["surrogate", "real", "surrogate"]

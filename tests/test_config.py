import numpy as np
import pytest
import torch

from easyhard import config


def test_scale_defaults_to_ci(monkeypatch):
    monkeypatch.delenv("EASYHARD_SCALE", raising=False)
    assert config.scale() == "ci"


@pytest.mark.parametrize("value", ["laptop", "paper", " Paper "])
def test_scale_reads_environment(monkeypatch, value):
    monkeypatch.setenv("EASYHARD_SCALE", value)
    assert config.scale() == value.strip().lower()


def test_unknown_scale_is_an_error(monkeypatch):
    monkeypatch.setenv("EASYHARD_SCALE", "huge")
    with pytest.raises(ValueError, match="EASYHARD_SCALE.*ci.*laptop.*paper"):
        config.scale()


def test_preset_picks_current_scale(monkeypatch):
    monkeypatch.setenv("EASYHARD_SCALE", "laptop")
    assert config.preset({"ci": 1, "laptop": 2, "paper": 3}) == 2
    assert config.preset({"ci": 1, "laptop": 2, "paper": 3}, "paper") == 3
    with pytest.raises(ValueError, match="lacks scales"):
        config.preset({"ci": 1})
    with pytest.raises(ValueError, match="scale must be one of"):
        config.preset({"ci": 1, "laptop": 2, "paper": 3}, "big")


@pytest.mark.parametrize(
    ("cuda", "mps", "expected"),
    [(True, True, "cuda"), (True, False, "cuda"), (False, True, "mps"), (False, False, "cpu")],
)
def test_device_order_is_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    """The order, whatever accelerator this machine has (the old test asserted nothing on CUDA)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert config.device().type == expected


def test_scale_arguments_are_read_like_the_environment(monkeypatch):
    """Defect 20: EASYHARD_SCALE was case-insensitive, scale= arguments were not; "" failed."""
    assert config.check_scale(" Laptop ") == "laptop" and config.preset({"ci": 1, "laptop": 2, "paper": 3}, "CI") == 1
    with pytest.raises(TypeError, match="scale must be one of"):
        config.check_scale(None)
    monkeypatch.setenv("EASYHARD_SCALE", "")
    assert config.scale() == "ci"


def test_seeding_is_reproducible():
    config.seed_everything(3)
    a = (np.random.rand(), torch.rand(1).item())
    config.seed_everything(3)
    assert (np.random.rand(), torch.rand(1).item()) == a
    assert torch.equal(
        torch.randn(4, generator=config.torch_generator(5)),
        torch.randn(4, generator=config.torch_generator(5)),
    )
    assert config.numpy_rng(1).normal() == config.numpy_rng(1).normal()


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, 2**64])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        config.torch_generator(seed)


def test_bad_threads():
    for bad in (0, True, 1.0, "2", 10**6):
        with pytest.raises(ValueError, match=r"n \(threads\) must be an integer in \[1, "):
            config.set_threads(bad)
    before = torch.get_num_threads()
    config.set_threads(np.int64(1))  # numpy integers are integers
    assert torch.get_num_threads() == 1
    torch.set_num_threads(before)


def test_seed_range_is_what_torch_accepts():
    """Defect 17: check_seed accepted 2**64, which torch then refused with an overflow."""
    config.torch_generator(2**64 - 1)
    config.seed_everything(np.uint64(2**64 - 1))

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


def test_device_is_cpu_without_accelerator():
    if not torch.cuda.is_available():
        assert config.device().type in ("cpu", "mps")


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


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        config.torch_generator(seed)


def test_bad_threads():
    with pytest.raises(ValueError, match="threads"):
        config.set_threads(0)

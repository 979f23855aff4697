"""Fixtures shared by several test files: the training data and an isolated CIFAR-10 setup."""

import pytest
import torch
from test_train import fake_split

from easyhard.data.surrogate import GaussianSurrogate


@pytest.fixture(scope="module")
def data():
    """Random train/test splits and a diagonal surrogate (no 3072 x 3072 eigendecomposition)."""
    train_data, test_data = fake_split(32, 0, "train"), fake_split(16, 1, "test")
    mean = train_data.images().reshape(32, -1).double().mean(0)
    sur = GaussianSurrogate.from_eigh(mean, torch.full((3072,), 0.2, dtype=torch.float64),
                                      torch.eye(3072, dtype=torch.float64))
    return dict(train_data=train_data, test_data=test_data, surrogate=sur)


@pytest.fixture
def isolated_cifar(tmp_path, monkeypatch):
    """Point every default CIFAR-10 location (cache, torchvision root, archive) at empty paths."""
    import easyhard.data.cifar as cifar
    import easyhard.data.cifar_surrogate as cifar_surrogate_module

    monkeypatch.setattr(cifar, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(cifar_surrogate_module, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(cifar, "DEFAULT_ARCHIVE", tmp_path / "missing.tar.gz")
    monkeypatch.delenv(cifar.ARCHIVE_ENV, raising=False)
    monkeypatch.delenv(cifar.ROOT_ENV, raising=False)

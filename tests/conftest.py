"""Fixtures shared by the training tests."""

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

"""The one validation toolbox: one idea of a number, messages that name parameter, value, range."""

import math

import numpy as np
import pytest

from easyhard._validation import (
    SEED_MAX,
    ArgumentTypeError,
    check_choice,
    check_int,
    check_scalar,
    check_seed,
)


@pytest.mark.parametrize("x", [0.5, 1, np.float64(0.25), np.float32(0.75), np.int64(1)])
def test_scalar_accepts_real_numbers(x):
    value = check_scalar(x, "lr", lo=0.0, hi=1.0, closed="right")
    assert type(value) is float and value == float(x)


@pytest.mark.parametrize("x", ["0.5", True, np.bool_(True), None, 1j, [0.5], b"1"])
def test_scalar_refuses_non_numbers(x):
    with pytest.raises(TypeError, match=r"lr must be a finite number > 0 .*got") as err:
        check_scalar(x, "lr", lo=0.0, closed="neither")
    assert isinstance(err.value, ArgumentTypeError) and isinstance(err.value, ValueError)
    assert type(x).__name__ in str(err.value)


@pytest.mark.parametrize(
    ("x", "kwargs", "match"),
    [
        (math.nan, {}, r"c must be a finite number, got nan"),
        (math.inf, {"lo": 0.0}, r"c must be a finite number >= 0, got inf"),
        (0.0, {"lo": 0.0, "hi": 1.0, "closed": "neither"}, r"c must lie in \(0, 1\), got 0.0"),
        (1.0, {"lo": 0.0, "hi": 1.0, "closed": "left"}, r"c must lie in \[0, 1\), got 1.0"),
        (-0.1, {"lo": 0.0, "hi": 1.0}, r"c must lie in \[0, 1\], got -0.1"),
        (2.0, {"hi": 1.0, "closed": "neither"}, r"c must be a finite number < 1, got 2.0"),
        (math.nan, {"finite": False}, r"c must be a number, got nan"),
    ],
)
def test_scalar_range_messages(x, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_scalar(x, "c", **kwargs)


def test_scalar_infinite_allowed_when_asked():
    assert check_scalar(math.inf, "tau_max", lo=0.0, finite=False) == math.inf
    assert check_scalar(0.0, "x", lo=0.0, hi=1.0) == 0.0  # closed both: endpoints in


@pytest.mark.parametrize("x", [3, np.int64(3), np.uint8(3), np.int32(3)])
def test_int_accepts_python_and_numpy_integers(x):
    value = check_int(x, "n (number of samples)", lo=1)
    assert type(value) is int and value == 3


@pytest.mark.parametrize("x", [3.0, 2.5, "3", True, np.bool_(False), None, np.float64(3.0)])
def test_int_refuses_floats_bools_strings(x):
    with pytest.raises(ArgumentTypeError, match=r"n \(number of samples\) must be an integer >= 1, got"):
        check_int(x, "n (number of samples)", lo=1)


def test_int_range_messages():
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 8\], got 9"):
        check_int(9, "k", lo=1, hi=8)
    with pytest.raises(ValueError, match=r"kmax must be an integer <= 100, got 101"):
        check_int(101, "kmax", hi=100)
    assert check_int(-5, "offset") == -5


def test_choice():
    assert check_choice("tanh", "activation", ("tanh", "relu")) == "tanh"
    for bad in ("TANH", "", None, 5, ["tanh"], np.array(["tanh"])):
        with pytest.raises(ValueError, match=r"activation must be one of \('tanh', 'relu'\), got"):
            check_choice(bad, "activation", ("tanh", "relu"))
    assert check_choice(2, "order", (1, 2)) == 2
    with pytest.raises(ValueError, match="order must be one of"):
        check_choice(True, "order", (1, 2))  # True == 1, but a bool is not an order


@pytest.mark.parametrize("seed", [0, 7, np.int64(7), np.uint64(SEED_MAX), SEED_MAX])
def test_seed_accepts_the_range_every_generator_takes(seed):
    import torch

    value = check_seed(seed)
    assert type(value) is int
    torch.Generator().manual_seed(value)  # the tightest consumer accepts it
    np.random.default_rng(value)


@pytest.mark.parametrize("seed", [-1, SEED_MAX + 1, 2**64, 1.5, "0", True, None])
def test_seed_refuses_what_torch_would_refuse(seed):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer <= 2\*\*64 - 1, got"):
        check_seed(seed)


def test_one_log_step_grid_for_the_engines_and_the_training_loop():
    """Review 2.4: record_steps (geomspace) and TrainConfig.eval_steps (logspace) were two copies."""
    from easyhard.grids import log_steps
    from easyhard.sgd import record_steps
    from easyhard.train import TrainConfig

    for steps, n in [(1, 2), (7, 3), (300, 10), (1600, 24), (100_000, 40), (20, 64)]:
        grid = log_steps(steps, n)
        assert grid[0] == 0 and grid[-1] == steps and np.all(np.diff(grid) > 0)
        assert len(grid) <= n + 1  # 0 and at most n log-spaced steps (steps among them)
        assert np.array_equal(record_steps(steps, n), grid)
        assert np.array_equal(TrainConfig(steps=steps, n_evals=n).eval_steps(), grid)
    assert log_steps(1000, 4).tolist() == [0, 1, 10, 100, 1000]
    assert log_steps(50, 1).tolist() == [0, 1, 50]
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        log_steps(2.5, 3)

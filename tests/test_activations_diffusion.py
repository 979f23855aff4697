import math

import numpy as np
import pytest
import scipy.stats
import torch

from easyhard.activations import ACTIVATIONS, get_activation
from easyhard.diffusion import ddpm_alpha_bar, noise, vp_coefficients


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_torch_and_numpy_forms_agree(name):
    act = get_activation(name)
    h = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(act.torch(torch.as_tensor(h)).numpy(), act.numpy(h), atol=1e-12)
    if act.odd:
        np.testing.assert_allclose(act.numpy(-h), -act.numpy(h), atol=1e-12)


def test_erf_is_the_scaled_gaussian_cdf():
    h = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(get_activation("erf").numpy(h), 2 * scipy.stats.norm.cdf(h) - 1, atol=1e-12)


def test_callable_and_errors():
    act = get_activation(lambda h: h**3)
    assert act.odd is None and act.numpy(np.array(2.0)) == 8.0
    with pytest.raises(ValueError, match="activation must be one of"):
        get_activation("sigmoid")
    with pytest.raises(TypeError, match="activation must be a name"):
        get_activation(3)


def test_vp_coefficients_and_errors():
    a, s = vp_coefficients(0.6)
    assert a**2 + s**2 == pytest.approx(1.0) and s == pytest.approx(0.8)
    for bad in (0.0, 1.0, -0.2, float("nan")):
        with pytest.raises(ValueError, match=r"a \(signal coefficient\) must lie in \(0, 1\)"):
            vp_coefficients(bad)
    for bad in ("half", "0.5", True, None):  # strings and bools are not numbers
        with pytest.raises(TypeError, match=r"a \(signal coefficient\) must lie in \(0, 1\).*got"):
            vp_coefficients(bad)
    assert vp_coefficients(np.float32(0.6))[0] == pytest.approx(0.6)


def test_ddpm_schedule():
    abar = ddpm_alpha_bar()
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    assert abar.shape == (1000,)
    assert abar[0].item() == pytest.approx(1 - 1e-4)
    assert abar[-1].item() == pytest.approx(float(torch.prod(1 - betas)))
    assert torch.all(abar[1:] < abar[:-1])
    with pytest.raises(ValueError, match=r"T \(number of diffusion steps\) must be an integer in \[1, "):
        ddpm_alpha_bar(0)
    with pytest.raises(ValueError, match="betas"):
        ddpm_alpha_bar(10, 0.1, 0.01)
    assert torch.equal(ddpm_alpha_bar(np.int64(10)), ddpm_alpha_bar(10))  # numpy ints are ints
    for kwargs, name in [({"T": True}, "T"), ({"T": 10.0}, "T"), ({"beta_start": "x"}, "beta_start"),
                         ({"beta_end": float("nan")}, "beta_end"), ({"T": 10**9}, "T")]:
        with pytest.raises(ValueError, match=name):  # type errors are ValueErrors too
            ddpm_alpha_bar(**kwargs)


def test_noise_has_the_right_variance():
    gen = torch.Generator().manual_seed(0)
    x0 = 2.0 * torch.ones(100_000, 2, dtype=torch.float64)
    xt, xi = noise(x0, 0.6, generator=gen)
    torch.testing.assert_close(xt, 0.6 * x0 + 0.8 * xi)
    assert abs(float(xt[:, 0].mean()) - 1.2) < 5 * 0.8 / math.sqrt(1e5)
    assert abs(float(xt[:, 0].var()) - 0.64) < 5 * 0.64 * math.sqrt(2 / 1e5)

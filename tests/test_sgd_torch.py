"""The torch backend of the direct engine: its step against autograd, devices, frozen walkers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from easyhard.activations import ACTIVATIONS, get_activation
from easyhard.data.mcm import MixedCumulantModel
from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.sgd import run
from easyhard.sgd.direct_torch import torch_step

DEVICES = [pytest.param("cpu", id="cpu"),
           pytest.param("cuda", id="cuda", marks=pytest.mark.cuda)]


def tolerance(device: str) -> float:
    """Absolute tolerance of a unit-scale quantity: float64 on CPU, float32 on CUDA."""
    return 1e-10 if device == "cpu" else 1e-4


def _skip_without(device: str) -> None:
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA device")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_torch_step_is_the_projected_autograd_step(activation: str, device: str) -> None:
    """p = 3 neurons: the closed-form step equals autograd of NeuronDenoiser.loss, projected
    on the sphere's tangent space and renormalised."""
    _skip_without(device)
    dtype = torch.float64 if device == "cpu" else torch.float32
    gen = torch.Generator().manual_seed(0)
    d, p, a, c, amp, lr = 12, 3, 0.6, 0.5, 1.3, 0.05
    s = (1 - a * a) ** 0.5
    act = get_activation(activation)
    W = torch.randn(p, d, generator=gen, dtype=torch.float64)
    W = (W / W.norm(dim=1, keepdim=True)).to(device, dtype)
    x0 = torch.randn(d, generator=gen, dtype=torch.float64).to(device, dtype)
    xi = torch.randn(d, generator=gen, dtype=torch.float64).to(device, dtype)
    x_t = a * x0 + s * xi

    net = NeuronDenoiser(d, c=c, A=amp, neurons=p, activation=act, device=device, dtype=dtype)
    with torch.no_grad():
        net.W.copy_(W)
    loss = net.loss(x0[None], x_t[None])
    (grad,) = torch.autograd.grad(loss, net.W)
    tangent = grad - (grad * W).sum(1, keepdim=True) * W
    expected = W - lr * tangent
    expected = expected / expected.norm(dim=1, keepdim=True)

    new, g_loss = torch_step(W[None], x0[None], xi[None], act, a, s, c, amp, lr)
    tol = tolerance(device)
    np.testing.assert_allclose(new[0].cpu().double().numpy(), expected.detach().cpu().double().numpy(),
                               atol=tol)
    # G_loss is the loss minus its w-independent part ||x0 - c x_t||^2
    ref = loss.item() - float(((x0 - c * x_t) ** 2).sum())
    assert abs(g_loss.item() - ref) < tol * 100


@pytest.mark.parametrize("device", DEVICES)
def test_torch_backend_weights_stay_unit_and_overlaps_match(device: str) -> None:
    _skip_without(device)
    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, p_corr=0.5, seed=3)
    r = run(m, 300, 0.05, walkers=4, neurons=3, backend="torch", records=4, device=device)
    assert r.config["backend"] == "torch"
    tol = tolerance(device)
    np.testing.assert_allclose(np.linalg.norm(r.weights, axis=2), 1.0, atol=tol)
    np.testing.assert_allclose(r.weights @ m.u.double().numpy(), r.alpha_u[:, :, -1], atol=tol * 10)


def test_torch_backend_freezes_stopped_walkers() -> None:
    """After its stop a walker records NaN and keeps the weights of its stopping step."""
    m = MixedCumulantModel(12, beta_u=5.0, beta_v=0.0, seed=1)
    steps = 400
    r = run(m, steps, 0.05, walkers=8, backend="torch", device="cpu", thresholds={"u": 0.5},
            stop_at_passage=True, records=np.arange(steps + 1))
    stopped = np.isfinite(r.passage["u"])
    assert stopped.any()
    for i in np.flatnonzero(stopped):
        n = int(r.passage["u"][i])
        assert np.all(np.isnan(r.alpha_u[i, 0, n + 1:])) and abs(r.alpha_u[i, 0, n]) >= 0.5
        assert n == 1 or abs(r.alpha_u[i, 0, n - 1]) < 0.5  # the first step >= 1 past it
        np.testing.assert_allclose(r.weights[i, 0] @ m.u.double().numpy(), r.alpha_u[i, 0, n],
                                   atol=1e-12)

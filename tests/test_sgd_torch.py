"""The torch backend of the direct engine: its step against autograd, devices, frozen walkers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from easyhard.activations import ACTIVATIONS, get_activation
from easyhard.data.mcm import MixedCumulantModel
from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.neuron import NeuronSpec
from easyhard.sgd import run
from easyhard.sgd.direct_torch import torch_step
from easyhard.theory.landscape import excess_loss

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


@pytest.mark.parametrize("backend", ["numba", pytest.param("torch", id="torch-cpu"),
                                     pytest.param("cuda", id="torch-cuda", marks=pytest.mark.cuda)])
def test_recorded_loss_is_the_population_landscape(backend: str) -> None:
    """At a step too small to move the weights, the recorded mean loss at a fixed start is
    E[G_loss(w)]: its differences between starts equal the exact landscape's
    (theory.landscape.excess_loss), within 5 standard errors. The landscape of a model with
    another covariance strength is rejected (the test's power). This replaces a check of
    the recorded overlaps against ``W @ u``, which the torch backend computes from the same W."""
    device = "cuda" if backend == "cuda" else "cpu"
    _skip_without(device)
    m = MixedCumulantModel(16, beta_u=5.0, beta_v=5.0, p_corr=0.5, seed=3)
    weaker = MixedCumulantModel(16, beta_u=4.0, beta_v=5.0, p_corr=0.5, seed=3)
    starts = [(0.0, 0.0), (0.8, 0.0), (0.5, 0.5)]
    means, errors = [], []
    for init in starts:
        r = run(m, 2000, 1e-9, walkers=64, backend="numba" if backend == "numba" else "torch",
                records=np.array([0, 2000]), init=init, seed=5, device=device)
        means.append(r.loss[:, -1].mean())
        errors.append(r.loss[:, -1].std() / np.sqrt(64))
    for k in (1, 2):
        measured = means[k] - means[0]
        se = np.hypot(errors[k], errors[0]) + tolerance(device)
        exact, other = (float(excess_loss(model, NeuronSpec("tanh", 0.6), *starts[k])
                              - excess_loss(model, NeuronSpec("tanh", 0.6), *starts[0])) for model in (m, weaker))
        assert abs(measured - exact) < 5 * se, (starts[k], measured, exact, se)
        assert abs(measured - other) > 5 * se, (starts[k], measured, other, se)


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

"""The tied neuron denoiser D_W(x_t) = c x_t + A sum_j w_j sigma(w_j . x_t)."""

import math

import numpy as np
import pytest
import torch

from easyhard.denoisers.neuron import NeuronDenoiser

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("act", ["tanh", "erf", "relu", "linear", lambda h: h**3])
def test_forward_matches_the_formula(device, act):
    gen = torch.Generator().manual_seed(0)
    den = NeuronDenoiser(7, c=0.6, A=1.3, neurons=3, activation=act, generator=gen, device=device)
    x = torch.randn(5, 7, generator=gen).to(device)
    sig = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda h: h,
           "erf": lambda h: torch.erf(h / math.sqrt(2))}.get(act, act)
    expected = 0.6 * x + 1.3 * sum(den.W[j] * sig(x @ den.W[j])[:, None] for j in range(3))
    torch.testing.assert_close(den(x), expected)
    assert den(x[0]).shape == (7,)
    torch.testing.assert_close(den.W.norm(dim=1), torch.ones(3, device=device))


def test_trainable_scalars_and_projection():
    den = NeuronDenoiser(4, c=0.5, trainable_A=True, generator=torch.Generator().manual_seed(1))
    assert {n for n, _ in den.named_parameters()} == {"W", "A"}
    x0 = torch.randn(64, 4)
    loss = den.loss(x0, 0.6 * x0 + 0.8 * torch.randn(64, 4))
    loss.backward()
    assert den.A.grad is not None and den.W.grad.shape == (1, 4)
    with torch.no_grad():
        den.W.add_(0.3 * den.W.grad)
    den.project_()
    torch.testing.assert_close(den.w.norm(), torch.tensor(1.0))
    both = NeuronDenoiser(4, c=0.5, trainable_c=True, trainable_A=True)
    assert {n for n, _ in both.named_parameters()} == {"W", "c", "A"}


def test_loss_units():
    den = NeuronDenoiser(3, c=0.0, A=0.0)
    x0 = torch.ones(2, 3)
    assert den.loss(x0, x0).item() == pytest.approx(3.0)  # summed over dims, mean over batch


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="d "):
        NeuronDenoiser(0, c=0.5)
    with pytest.raises(ValueError, match="neurons"):
        NeuronDenoiser(3, c=0.5, neurons=0)
    with pytest.raises(ValueError, match="c "):
        NeuronDenoiser(3, c=float("nan"))
    with pytest.raises(ValueError, match="activation"):
        NeuronDenoiser(3, c=0.5, activation="gelu")
    for kwargs, name in [({"d": True}, "d "), ({"d": 3.0}, "d "), ({"c": "0.5"}, "c "),
                         ({"A": True}, "A "), ({"neurons": 2**40}, "neurons"),
                         ({"generator": 0}, "generator")]:
        with pytest.raises(ValueError if name != "generator" else TypeError, match=name):
            NeuronDenoiser(**{"d": 3, "c": 0.5, **kwargs})
    assert NeuronDenoiser(np.int64(3), c=np.float64(0.5)).W.shape == (1, 3)


@pytest.mark.parametrize("act", ["tanh", "erf", "relu"])
def test_loss_gradient_matches_the_closed_form(act):
    """d/dw ||x0 - c x_t - A w sigma(w.x_t)||^2 = -2 A (sigma(h) r + (r.w) sigma'(h) x_t),
    r the residual: the per-sample gradient the SGD engines implement, against autograd."""
    gen = torch.Generator().manual_seed(4)
    d, c, A = 6, 0.6, 1.3
    den = NeuronDenoiser(d, c=c, A=A, activation=act, generator=gen, dtype=torch.float64)
    x0 = torch.randn(d, generator=gen, dtype=torch.float64)
    x_t = 0.6 * x0 + 0.8 * torch.randn(d, generator=gen, dtype=torch.float64)
    den.loss(x0[None], x_t[None]).backward()
    w = den.w.detach()
    h = w @ x_t
    sig, slope = {
        "tanh": (torch.tanh(h), 1 - torch.tanh(h) ** 2),
        "erf": (torch.erf(h / math.sqrt(2)), math.sqrt(2 / math.pi) * torch.exp(-h * h / 2)),
        "relu": (torch.relu(h), (h > 0).double()),
    }[act]
    r = x0 - c * x_t - A * w * sig
    expected = -2 * A * (sig * r + (r @ w) * slope * x_t)
    torch.testing.assert_close(den.W.grad[0], expected)

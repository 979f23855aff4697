"""The tied single-neuron denoiser (book: chapters/information_exponent.ipynb) and its p-neuron version.

    D_W(x_t) = c x_t + A sum_{j=1}^p w_j sigma(w_j . x_t),   ||w_j|| = 1,

with skip coefficient c (c = a, the optimal skip for whitened data, is the
usual choice) and amplitude A, each fixed or trainable. sigma is any
activation of :func:`easyhard.activations.get_activation`; ``"erf"`` means
erf(h / sqrt 2). The rows of W start uniform on the sphere; after an optimiser
step, :meth:`NeuronDenoiser.project_` puts them back on it (projected SGD).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from easyhard._validation import check_int, check_scalar
from easyhard.activations import Activation, get_activation

#: the most weight entries (neurons x d) a denoiser may hold (a size guard: 1 GB of float32)
MAX_WEIGHTS = 2**28


class NeuronDenoiser(nn.Module):
    """D_W(x_t) = c x_t + A sum_j w_j sigma(w_j . x_t) for inputs of shape (..., d).

    Parameters
    ----------
    d : int
        Input dimension (>= 1).
    c : float
        Skip coefficient (``c = a``, the best skip for whitened data, is the usual choice).
    A : float
        Amplitude of the neurons' output.
    neurons : int
        Number p of tied neurons, the rows of ``W`` (each of unit length).
    activation : str, callable or Activation
        sigma: a name of :data:`~easyhard.activations.ACTIVATIONS` or any activation that
        :func:`~easyhard.activations.get_activation` accepts.
    trainable_c, trainable_A : bool
        Whether c and A are parameters (trained) or fixed buffers.
    generator : torch.Generator or None
        Draws the initial rows of ``W``, uniform on the sphere.
    device, dtype
        Where and in which floating-point type the weights live.

    Attributes
    ----------
    W : torch.nn.Parameter
        The weights, shape (neurons, d), unit rows.
    c, A : torch.Tensor
        The skip coefficient and the amplitude (parameters or buffers).
    """

    def __init__(
        self,
        d: int,
        c: float,
        A: float = 1.0,
        neurons: int = 1,
        activation: str | Callable | Activation = "tanh",
        trainable_c: bool = False,
        trainable_A: bool = False,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        d = check_int(d, "d (input dimension)", lo=1)
        neurons = check_int(neurons, "neurons", lo=1, hi=max(1, MAX_WEIGHTS // d))
        c = check_scalar(c, "c (skip coefficient)")
        A = check_scalar(A, "A (amplitude)")
        if generator is not None and not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
        self.activation = get_activation(activation)
        draw_on = generator.device if generator is not None else "cpu"
        w = torch.randn(neurons, d, generator=generator, dtype=dtype, device=draw_on)
        self.W = nn.Parameter((w / w.norm(dim=1, keepdim=True)).to(device))
        c_t = torch.tensor(float(c), dtype=dtype, device=device)
        A_t = torch.tensor(float(A), dtype=dtype, device=device)
        self.c = nn.Parameter(c_t) if trainable_c else nn.Buffer(c_t)
        self.A = nn.Parameter(A_t) if trainable_A else nn.Buffer(A_t)

    @property
    def w(self) -> torch.Tensor:
        """The first neuron's weight vector, shape (d,)."""
        return self.W[0]

    def forward(self, x_t: torch.Tensor) -> torch.Tensor:
        """The denoised estimate of x0, same shape as ``x_t``."""
        h = x_t @ self.W.T  # (..., p)
        return self.c * x_t + self.A * self.activation.torch(h) @ self.W

    @torch.no_grad()
    def project_(self) -> None:
        """Renormalise every w_j to unit length (in place)."""
        self.W.div_(self.W.norm(dim=1, keepdim=True))

    def loss(self, x0: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
        """The denoising loss of a batch.

        Parameters
        ----------
        x0, x_t : torch.Tensor
            Clean and noisy samples, shape (..., d).

        Returns
        -------
        torch.Tensor
            Mean over the batch of ``||x0 - D(x_t)||^2``: x0 units, summed over the d
            dimensions (a scalar tensor).
        """
        return (x0 - self(x_t)).pow(2).sum(-1).mean()

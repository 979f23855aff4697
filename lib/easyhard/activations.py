"""Activation functions shared by the denoisers, the SGD engines and the theory.

Each activation comes in a torch and a numpy form so that the same function
drives simulations and quadratures, and each carries its slope sigma'
(:meth:`Activation.slope`, numpy or torch by the argument's type), which the
SGD engines and the noise constant of :mod:`easyhard.theory.flow` use. ``erf`` means ``erf(h / sqrt 2)``, i.e.
``2 Phi(h) - 1`` with Phi the standard normal CDF: its slope at 0 is
``sqrt(2/pi)``, the scaling of a standard Gaussian CDF.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.special
import torch

#: The names of the built-in activations.
ACTIVATIONS: tuple[str, ...] = ("tanh", "erf", "relu", "linear")


@dataclass(frozen=True)
class Activation:
    """An activation sigma with a torch and a numpy implementation, and its slope.

    ``odd`` is True for odd functions (their Hermite coefficients of even
    order vanish in sigma and those of odd order vanish in G_t; see the chapter
    "The diffusion information exponent"), False for functions known not to be
    odd, None when unknown (callables). ``torch_slope``, ``numpy_slope``: sigma'
    in closed form (None: by torch autograd of ``torch``, e.g. for callables).
    """

    name: str
    torch: Callable[[torch.Tensor], torch.Tensor]
    numpy: Callable[[np.ndarray], np.ndarray]
    odd: bool | None
    torch_slope: Callable[[torch.Tensor], torch.Tensor] | None = None
    numpy_slope: Callable[[np.ndarray], np.ndarray] | None = None

    def slope(self, h: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """sigma'(h), as a tensor for a tensor ``h``, else as a float64 numpy array.

        For ReLU it is 1 for h > 0, else 0.
        """
        if isinstance(h, torch.Tensor):
            if self.torch_slope is not None:
                return self.torch_slope(h)
            return _autograd_slope(self.torch, h)
        if self.numpy_slope is not None:
            return self.numpy_slope(np.asarray(h, dtype=np.float64))
        return _autograd_slope(self.torch, torch.as_tensor(np.asarray(h, dtype=np.float64))).numpy()


def _autograd_slope(f: Callable[[torch.Tensor], torch.Tensor], h: torch.Tensor) -> torch.Tensor:
    x = h.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(f(x).sum(), x)
    return g


def _erf_torch(h: torch.Tensor) -> torch.Tensor:
    return torch.erf(h / math.sqrt(2.0))


def _erf_numpy(h: np.ndarray) -> np.ndarray:
    return scipy.special.erf(np.asarray(h) / math.sqrt(2.0))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

_BUILTIN: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, np.tanh, odd=True,
                       torch_slope=lambda h: 1.0 - torch.tanh(h) ** 2,
                       numpy_slope=lambda h: 1.0 - np.tanh(h) ** 2),
    "erf": Activation("erf", _erf_torch, _erf_numpy, odd=True,
                      torch_slope=lambda h: _SQRT_2_OVER_PI * torch.exp(-0.5 * h * h),
                      numpy_slope=lambda h: _SQRT_2_OVER_PI * np.exp(-0.5 * h * h)),
    "relu": Activation("relu", torch.relu, lambda h: np.maximum(np.asarray(h), 0.0), odd=False,
                       torch_slope=lambda h: (h > 0).to(h.dtype),
                       numpy_slope=lambda h: (h > 0).astype(np.float64)),
    "linear": Activation("linear", lambda h: h, lambda h: np.asarray(h), odd=True,
                         torch_slope=torch.ones_like,
                         numpy_slope=lambda h: np.ones_like(h, dtype=np.float64)),
}


def is_builtin(activation: Activation) -> bool:
    """True if ``activation`` is one of the built-in objects (not a look-alike by name)."""
    return _BUILTIN.get(activation.name) is activation


def get_activation(activation: str | Callable | Activation) -> Activation:
    """Resolve a name in :data:`ACTIVATIONS`, an :class:`Activation` or a callable.

    A plain callable must accept both numpy arrays and torch tensors (e.g.
    ``lambda h: 0.5 * h**3``); it is used for both forms.
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str):
        try:
            return _BUILTIN[activation]
        except KeyError:
            raise ValueError(
                f"activation must be one of {ACTIVATIONS} or a callable, got {activation!r}"
            ) from None
    if callable(activation):
        name = getattr(activation, "__name__", "custom")
        return Activation(name, activation, activation, odd=None)
    raise TypeError(
        f"activation must be a name in {ACTIVATIONS}, an Activation or a callable, "
        f"got {type(activation).__name__}"
    )

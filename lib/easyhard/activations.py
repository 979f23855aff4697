"""Activation functions shared by the denoisers, the SGD engines and the theory.

Each activation comes in a torch and a numpy form so that the same function
drives simulations and quadratures. ``erf`` means ``erf(h / sqrt 2)``, i.e.
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

ACTIVATIONS: tuple[str, ...] = ("tanh", "erf", "relu", "linear")


@dataclass(frozen=True)
class Activation:
    """An activation sigma with a torch and a numpy implementation.

    ``odd`` is True for odd functions (their Hermite coefficients of even
    order vanish in sigma and those of odd order vanish in G_t, science.md 4.2),
    False for functions known not to be odd, None when unknown (callables).
    """

    name: str
    torch: Callable[[torch.Tensor], torch.Tensor]
    numpy: Callable[[np.ndarray], np.ndarray]
    odd: bool | None


def _erf_torch(h: torch.Tensor) -> torch.Tensor:
    return torch.erf(h / math.sqrt(2.0))


def _erf_numpy(h: np.ndarray) -> np.ndarray:
    return scipy.special.erf(np.asarray(h) / math.sqrt(2.0))


_BUILTIN: dict[str, Activation] = {
    "tanh": Activation("tanh", torch.tanh, np.tanh, odd=True),
    "erf": Activation("erf", _erf_torch, _erf_numpy, odd=True),
    "relu": Activation("relu", torch.relu, lambda h: np.maximum(np.asarray(h), 0.0), odd=False),
    "linear": Activation("linear", lambda h: h, lambda h: np.asarray(h), odd=True),
}


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

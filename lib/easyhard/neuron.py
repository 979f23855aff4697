"""The checked scalars of the tied neuron denoiser, validated once for theory and engines.

The denoiser of the book (chapter "The diffusion information exponent") at
noise level a, acting on x_t = a x0 + s xi with s = sqrt(1 - a^2), is

    f(x_t) = c x_t + A w sigma(w . x_t),   ||w|| = 1,

with activation sigma, skip coefficient c (c = a, the optimal skip for
whitened data, by default) and amplitude A. :class:`NeuronSpec` holds
(sigma, a, c, A), checked in one place, so that the theory
(:mod:`easyhard.theory`) and the SGD engines (:mod:`easyhard.sgd`) take one
argument instead of four and never check them again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from easyhard._validation import check_scalar
from easyhard.activations import Activation, get_activation
from easyhard.diffusion import check_noise_level

__all__ = ["TANH_06", "NeuronSpec", "as_neuron", "check_neuron"]


@dataclass(frozen=True)
class NeuronSpec:
    r"""The neuron f(x_t) = c x_t + A w sigma(w . x_t) at the noise level a, checked once.

    With x_t = a x0 + s xi, s = sqrt(1 - a^2), the denoising loss of a unit
    vector w reduces to one dimension through p = w . x0 and q = w . x_t
    (book section ``sec-ie-one-dimension``):

    .. math::

        L_t(w) = \mathbb E\|x_0 - c x_t\|^2
                 + \mathbb E\big[A^2 \sigma(q)^2 - 2 A \sigma(q) \big((1 - c a) p - c s \zeta\big)\big],

    with zeta = w . xi. The frozen (hence hashable) spec keys the caches of the
    theory and is all the engines need to know about the neuron.

    Parameters
    ----------
    activation : str, callable or Activation
        sigma: a name of :data:`~easyhard.activations.ACTIVATIONS`, an
        :class:`~easyhard.activations.Activation` or a callable; stored resolved by
        :func:`~easyhard.activations.get_activation`.
    a : float
        Signal coefficient of the VP noise level, in (0, 1).
    c : float or None
        Skip coefficient, a finite number (None: ``c = a``); stored resolved.
    A : float
        Amplitude, finite and non-zero.

    Raises
    ------
    ValueError, TypeError
        Naming the parameter, its value and the allowed values: an unknown activation
        name, ``a`` outside (0, 1), a non-finite ``c``, ``A = 0`` or non-finite, bools or
        strings for the numbers.

    Examples
    --------
    >>> NeuronSpec("tanh", 0.6)
    NeuronSpec(activation='tanh', a=0.6, c=0.6, A=1.0)
    """

    activation: Activation | str | Callable
    a: float
    c: float | None = None
    A: float = 1.0

    def __post_init__(self) -> None:
        """Resolve the activation and check the numbers (the one place they are checked)."""
        act = get_activation(self.activation)
        a = check_noise_level(self.a)
        c = a if self.c is None else check_scalar(self.c, "c (skip coefficient)")
        A = check_scalar(self.A, "A (amplitude)")
        if A == 0.0:
            raise ValueError(f"A (amplitude) must be finite and non-zero, got {self.A!r}")
        for name, value in (("activation", act), ("a", a), ("c", c), ("A", A)):
            object.__setattr__(self, name, value)

    @property
    def s(self) -> float:
        """The noise coefficient ``s = sqrt(1 - a^2)``."""
        return math.sqrt(1.0 - self.a * self.a)

    def __repr__(self) -> str:
        """``NeuronSpec(activation='tanh', a=0.6, c=0.6, A=1.0)``."""
        return (f"NeuronSpec(activation={self.activation.name!r}, a={self.a!r}, c={self.c!r}, "
                f"A={self.A!r})")


#: The book's default neuron, tanh at a = 0.6 with c = a and A = 1.
TANH_06 = NeuronSpec("tanh", 0.6)


def as_neuron(
    neuron: NeuronSpec | str | Callable | Activation, a: float | None = None,
    c: float | None = None, A: float = 1.0,
) -> NeuronSpec:
    """``neuron`` itself if it is a :class:`NeuronSpec`, else ``NeuronSpec(neuron, a, c, A)``.

    For the public entry points that also take the activation and its scalars
    spelled out (``hermite_coefficients("tanh", 0.6)``); with a spec, ``a``, ``c``
    and ``A`` must be left out.

    Parameters
    ----------
    neuron : NeuronSpec, str, callable or Activation
        The spec, or the activation sigma.
    a, c, A : float
        The signal coefficient (required with an activation), skip coefficient and
        amplitude, as in :class:`NeuronSpec`.

    Returns
    -------
    NeuronSpec
    """
    if isinstance(neuron, NeuronSpec):
        if a is not None or c is not None or A != 1.0:
            raise TypeError(f"give either a NeuronSpec or the activation with a, c, A, not both: got "
                            f"{neuron!r} with a={a!r}, c={c!r}, A={A!r}")
        return neuron
    if a is None:
        raise TypeError(f"a (signal coefficient) is required with the activation {neuron!r} "
                        "(or pass a NeuronSpec)")
    return NeuronSpec(neuron, a, c, A)


def check_neuron(neuron: object) -> NeuronSpec:
    """Return ``neuron`` if it is a :class:`NeuronSpec`, else raise ``TypeError``.

    The functions that take a spec check only its type: its numbers were checked
    when it was made.
    """
    if not isinstance(neuron, NeuronSpec):
        raise TypeError(f"neuron must be a NeuronSpec, e.g. NeuronSpec('tanh', 0.6), got "
                        f"{neuron!r} of type {type(neuron).__name__}")
    return neuron

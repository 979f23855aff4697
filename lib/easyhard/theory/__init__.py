"""Theory of the single-neuron denoiser on the mixed cumulant model.

The one-dimensional reduction of the loss, its Hermite coefficients g_k(a),
the diffusion information exponent, the exact landscape of the mixed cumulant
model and the population flow of online SGD with its escape times
(:mod:`easyhard.theory.flow`). The neuron enters every function as one checked
:class:`~easyhard.neuron.NeuronSpec` (re-exported here).
"""

from easyhard.neuron import NeuronSpec
from easyhard.theory import flow
from easyhard.theory.exponent import SpikeExponent, information_exponent
from easyhard.theory.hermite import hermite_coefficients, population_loss_1d
from easyhard.theory.landscape import excess_loss, hermite_moments, population_loss

__all__ = [
    "NeuronSpec",
    "SpikeExponent",
    "excess_loss",
    "flow",
    "hermite_coefficients",
    "hermite_moments",
    "information_exponent",
    "population_loss",
    "population_loss_1d",
]

"""Projected online SGD of neuron denoisers on the mixed cumulant model (science.md 5).

* :func:`run`: the direct d-dimensional engine (numba or torch/CUDA) and the
  exact reduced engine behind one interface;
* :func:`sample_complexity`: first-passage steps over a sweep of d and the
  fitted log-log slope, next to the theory's prediction;
* :mod:`easyhard.sgd.ode`: the population overlap flow and escape times.
"""

from easyhard.sgd._common import Trajectories, record_steps
from easyhard.sgd.engines import run
from easyhard.sgd.sweep import SampleComplexity, fit_slope, sample_complexity, step_size

__all__ = [
    "SampleComplexity",
    "Trajectories",
    "fit_slope",
    "record_steps",
    "run",
    "sample_complexity",
    "step_size",
]

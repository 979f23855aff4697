"""Projected online SGD of neuron denoisers on the mixed cumulant model.

See the chapter "Easy and hard".

* :func:`run`: the direct d-dimensional engine (numba or torch/CUDA) and the
  exact reduced engine behind one interface (:mod:`easyhard.sgd.run`);
* :func:`sample_complexity`: first-passage steps over a sweep of d and the
  fitted log-log slope, next to the theory's prediction (:mod:`easyhard.sgd.sweep`);
* the population overlap flow and escape times live in :mod:`easyhard.theory.flow`
  (also reachable here as ``easyhard.sgd.ode``, the name the chapter uses).
"""

from easyhard.sgd.run import Trajectories, record_steps, run
from easyhard.sgd.sweep import SampleComplexity, fit_slope, sample_complexity, step_size
from easyhard.theory import flow as ode

__all__ = [
    "SampleComplexity",
    "Trajectories",
    "fit_slope",
    "ode",
    "record_steps",
    "run",
    "sample_complexity",
    "step_size",
]

"""easyhard: how diffusion models learn data statistics from easy to hard.

The library behind the executable textbook. Data flows one way: data models
(:mod:`easyhard.data`) -> noising (:mod:`easyhard.diffusion`) -> denoisers
(:mod:`easyhard.denoisers`) -> training and SGD engines -> saved results
(:mod:`easyhard.results`) -> plots (:mod:`easyhard.plotting`); theory
(:mod:`easyhard.theory`) sits beside it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    #: the package version, written once in ``pyproject.toml``
    __version__ = version("easyhard")
except PackageNotFoundError:  # the sources on PYTHONPATH without an install
    __version__ = "0+unknown"

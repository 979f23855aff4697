r"""Data models: the mixed cumulant model, its latent laws, Gaussian surrogates and CIFAR-10.

The public names are re-exported here, so ``from easyhard.data import MixedCumulantModel``
works; the submodules hold one job each: :mod:`easyhard.data.mcm` (the mixed cumulant model),
:mod:`easyhard.data.latents` (the laws of its non-Gaussian latent), :mod:`easyhard.data.surrogate`
(the Gaussian surrogate :math:`\mathcal N(\mu, \Sigma)` of any data set),
:mod:`easyhard.data.cifar` (loading CIFAR-10) and :mod:`easyhard.data.cifar_surrogate` (the
surrogate of CIFAR-10 and its cached eigendecomposition).
"""

from easyhard.data.cifar import Cifar10, CorruptArchiveError, load_cifar10
from easyhard.data.latents import LatentLaw, coupled_moment, latent_law, sign_flip_law
from easyhard.data.mcm import MixedCumulantModel
from easyhard.data.surrogate import GaussianSurrogate

__all__ = [
    "Cifar10",
    "CorruptArchiveError",
    "GaussianSurrogate",
    "LatentLaw",
    "MixedCumulantModel",
    "coupled_moment",
    "latent_law",
    "load_cifar10",
    "sign_flip_law",
]

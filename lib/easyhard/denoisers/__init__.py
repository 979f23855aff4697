r"""Denoisers: the DDPM U-Net and its presets, and the tied neuron denoiser.

* :class:`UNet`, built from a preset name by :func:`unet` (``"tiny"``, ``"small"``,
  ``"ddpm"``; the presets are the :class:`UNetConfig` values of :data:`UNET_PRESETS`);
* :class:`NeuronDenoiser`, :math:`D_W(x_t) = c\,x_t + A\sum_j w_j\,\sigma(w_j\cdot x_t)`
  with unit rows :math:`w_j`, the denoiser of Parts II and III.
"""

from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.denoisers.unet import PRESETS as UNET_PRESETS
from easyhard.denoisers.unet import UNet, UNetConfig, count_parameters, unet

__all__ = ["UNET_PRESETS", "NeuronDenoiser", "UNet", "UNetConfig", "count_parameters", "unet"]

r"""Denoisers: the DDPM U-Net and its presets, and the tied neuron denoiser.

* :class:`~easyhard.denoisers.unet.UNet`, the DDPM U-Net, built from a :class:`~easyhard.denoisers.unet.UNetConfig`; the presets
  ``"tiny"``, ``"small"`` and ``"ddpm"`` are the configs of :data:`~easyhard.denoisers.UNET_PRESETS`, so
  ``UNet(UNET_PRESETS["tiny"])`` builds the smallest (``easyhard.denoisers.unet.unet`` takes a
  preset name and field overrides);
* :class:`~easyhard.denoisers.neuron.NeuronDenoiser`, :math:`D_W(x_t) = c\,x_t + A\sum_j w_j\,\sigma(w_j\cdot x_t)`
  with unit rows :math:`w_j`, the denoiser of Parts II and III;
* :class:`~easyhard.neuron.NeuronSpec`, the checked activation and scalars (a, c, A) of one
  such neuron, which the theory and the SGD engines take.
"""

# The function ``unet`` is not re-exported: it would hide the submodule ``easyhard.denoisers.unet``.
from easyhard.denoisers.neuron import NeuronDenoiser
from easyhard.denoisers.unet import PRESETS, UNet, UNetConfig, count_parameters
from easyhard.neuron import NeuronSpec

#: The U-Net presets by name, as :class:`~easyhard.denoisers.unet.UNetConfig`: ``"tiny"`` (1.62M parameters),
#: ``"small"`` (6.47M) and ``"ddpm"`` (35.7M, the DDPM configuration for CIFAR-10).
UNET_PRESETS: dict[str, UNetConfig] = PRESETS

__all__ = ["UNET_PRESETS", "NeuronDenoiser", "NeuronSpec", "UNet", "UNetConfig", "count_parameters"]

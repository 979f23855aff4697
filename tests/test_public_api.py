"""The public names are importable from their packages, and each is the object it names."""

import importlib

import pytest

# (package, name, the module that defines it)
PUBLIC = [
    ("easyhard.data", "MixedCumulantModel", "easyhard.data.mcm"),
    ("easyhard.data", "GaussianSurrogate", "easyhard.data.surrogate"),
    ("easyhard.data", "load_cifar10", "easyhard.data.cifar"),
    ("easyhard.data", "Cifar10", "easyhard.data.cifar"),
    ("easyhard.data", "LatentLaw", "easyhard.data.latents"),
    ("easyhard.data", "latent_law", "easyhard.data.latents"),
    ("easyhard.denoisers", "NeuronDenoiser", "easyhard.denoisers.neuron"),
    ("easyhard.denoisers", "UNet", "easyhard.denoisers.unet"),
    ("easyhard.denoisers", "UNetConfig", "easyhard.denoisers.unet"),
    ("easyhard.denoisers", "NeuronSpec", "easyhard.neuron"),
    ("easyhard.theory", "NeuronSpec", "easyhard.neuron"),
    ("easyhard.theory", "hermite_coefficients", "easyhard.theory.hermite"),
    ("easyhard.theory", "information_exponent", "easyhard.theory.exponent"),
    ("easyhard.sgd", "run", "easyhard.sgd.run"),
    ("easyhard.sgd", "sample_complexity", "easyhard.sgd.sweep"),
]


@pytest.mark.parametrize(("package", "name", "home"), PUBLIC)
def test_public_name(package, name, home):
    pkg = importlib.import_module(package)
    assert name in pkg.__all__, f"{package}.__all__ lacks {name}"
    assert getattr(pkg, name) is getattr(importlib.import_module(home), name)


@pytest.mark.parametrize("package", ["easyhard.data", "easyhard.denoisers", "easyhard.theory",
                                     "easyhard.sgd", "easyhard.train"])
def test_all_resolves(package):
    """Every name in ``__all__`` exists (a stale entry would break ``import *``)."""
    pkg = importlib.import_module(package)
    missing = [n for n in pkg.__all__ if not hasattr(pkg, n)]
    assert not missing, f"{package}.__all__ names missing objects: {missing}"


def test_unet_presets():
    """The U-Net presets are importable and build the networks their names promise."""
    from easyhard.denoisers import UNET_PRESETS, UNet, UNetConfig, count_parameters
    from easyhard.denoisers.unet import PRESETS

    assert UNET_PRESETS is PRESETS
    assert set(UNET_PRESETS) == {"tiny", "small", "ddpm"}
    assert all(isinstance(cfg, UNetConfig) for cfg in UNET_PRESETS.values())
    assert 1.61e6 < count_parameters(UNet(UNET_PRESETS["tiny"])) < 1.63e6  # the docstring: 1.62M


def test_submodules_not_shadowed():
    """Re-exports must not hide a submodule of the same name (``import a.b as m`` reads a.b)."""
    import easyhard.data
    import easyhard.data.cifar_surrogate as surrogate_module
    import easyhard.denoisers
    import easyhard.denoisers.unet as unet_module

    assert easyhard.data.cifar_surrogate is surrogate_module
    assert easyhard.denoisers.unet is unet_module

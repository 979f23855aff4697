"""The DDPM U-Net: shapes, parameter counts, validation (science.md 6.2)."""

from __future__ import annotations

import pytest
import torch

from easyhard.denoisers.unet import PRESETS, UNetConfig, count_parameters, timestep_embedding, unet


@pytest.mark.parametrize(
    ("preset", "expected"),
    [("tiny", 1_624_323), ("small", 6_472_195), ("ddpm", 35_746_307)],
)
def test_parameter_counts(preset, expected):
    assert count_parameters(unet(preset)) == expected


def test_ddpm_preset_is_the_paper_configuration():
    cfg = PRESETS["ddpm"]
    assert (cfg.ch, cfg.ch_mult, cfg.num_res_blocks, cfg.attn_resolutions, cfg.dropout) == (
        128, (1, 2, 2, 2), 2, (16,), 0.1)


@pytest.mark.parametrize("preset", ["tiny", "small"])
def test_output_shape(preset):
    model = unet(preset)
    x = torch.randn(2, 3, 32, 32)
    assert model(x, torch.tensor([1, 1000])).shape == x.shape


def test_output_depends_on_time_after_training_signal():
    torch.manual_seed(0)
    model = unet("tiny", ch=16)
    for p in model.parameters():  # undo the zero initialisation of the output convs
        torch.nn.init.normal_(p, std=0.05)
    x = torch.randn(1, 3, 32, 32)
    assert not torch.allclose(model(x, torch.tensor([10])), model(x, torch.tensor([900])))


def test_timestep_embedding():
    emb = timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8)
    assert torch.allclose(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = unet("tiny", ch=16)
    torch.manual_seed(3)
    b = unet("tiny", ch=16)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(ch=12), "ch"), (dict(ch_mult=()), "ch_mult"), (dict(num_res_blocks=0), "num_res_blocks"),
     (dict(dropout=1.0), "dropout"), (dict(resolution=20), "resolution")],
)
def test_bad_config(kwargs, name):
    with pytest.raises(ValueError, match=name):
        UNetConfig(**kwargs)


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset"):
        unet("huge")

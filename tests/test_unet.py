"""The DDPM U-Net: shapes, parameter counts, validation."""

from __future__ import annotations

import math

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
    """At t = 0 any frequencies give sin = 0, cos = 1; t = 5 and t = 999 test the formula."""
    dim, t = 8, torch.tensor([0, 5, 999])
    emb = timestep_embedding(t, dim)
    assert emb.shape == (3, dim)
    half = dim // 2
    for row, step in zip(emb, t.tolist(), strict=True):
        freqs = [10000.0 ** (-j / (half - 1)) for j in range(half)]  # 1, 10000^-1/3, ..., 1e-4
        expected = [math.sin(step * w) for w in freqs] + [math.cos(step * w) for w in freqs]
        torch.testing.assert_close(row, torch.tensor(expected), atol=2e-4, rtol=0)
    assert emb[1, 0] == pytest.approx(math.sin(5.0), abs=1e-6)  # w_0 = 1
    assert emb[1, half - 1] == pytest.approx(math.sin(5e-4), abs=1e-7)  # w_{half-1} = 1e-4
    for bad in (3, 7, True, 8.0):
        with pytest.raises(ValueError, match="dim"):
            timestep_embedding(t, bad)


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = unet("tiny", ch=16)
    torch.manual_seed(3)
    b = unet("tiny", ch=16)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [(dict(ch=12), "ch"), (dict(ch_mult=()), "ch_mult"), (dict(num_res_blocks=0), "num_res_blocks"),
     (dict(dropout=1.0), "dropout"), (dict(resolution=20), "resolution"),
     (dict(ch=64.0), "ch"), (dict(num_res_blocks=True), "num_res_blocks"), (dict(dropout="0.1"), "dropout"),
     (dict(ch_mult=(1, 2.5)), "ch_mult"), (dict(ch_mult=3), "ch_mult")],
)
def test_bad_config(kwargs, name):
    with pytest.raises(ValueError, match=name):
        UNetConfig(**kwargs)


def test_unknown_preset():
    with pytest.raises(ValueError, match="preset"):
        unet("huge")


def test_list_fields_become_tuples():
    assert UNetConfig(ch_mult=[1, 2], attn_resolutions=[16]).ch_mult == (1, 2)

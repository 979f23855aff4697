"""The computations of the chapter "The diffusion information exponent" (easyhard.experiments.information_exponent)."""

import dataclasses

import numpy as np
import pytest

from easyhard.config import SCALES
from easyhard.experiments import information_exponent as ie


def test_presets_cover_every_scale_and_reject_bad_input():
    grids = [ie.ExponentConfig.preset(s).grid for s in SCALES]
    assert grids == sorted(grids) and grids[0] >= 3
    assert ie.ExponentConfig.preset("ci", a=0.4).a == 0.4
    with pytest.raises(ValueError, match="grid"):
        ie.ExponentConfig(grid=1)
    with pytest.raises(ValueError, match="beta_v"):
        ie.ExponentConfig(beta_v=-1.0)
    with pytest.raises(ValueError, match="activation"):
        ie.ExponentConfig(activation="softplus")
    with pytest.raises(ValueError, match="scale"):
        ie.ExponentConfig.preset("huge")


def test_the_exponent_table_states_the_proposition():
    table = ie.exponent_table(ie.ExponentConfig())
    assert table.mismatches() == []
    assert {case for case, _ in table.entries} == set(ie.CASES)
    assert table.markdown().count("\n") == len(table.entries) - len(ie.CASES) + 2  # one covariance row
    # power: a table whose Rademacher cumulant spike had exponent 3 contradicts the proposition
    key = (ie.RADEMACHER, "cumulant")
    wrong = dict(table.entries)
    wrong[key] = {**wrong[key], "tanh": dataclasses.replace(wrong[key]["tanh"], exponent=3)}
    bad = dataclasses.replace(table, entries=wrong).mismatches()
    assert [(computed, stated) for _, computed, stated in bad] == [(3, 4)]


def test_describe():
    table = ie.exponent_table(ie.ExponentConfig())
    assert ie.describe(table.entry(ie.RADEMACHER, "cumulant", "tanh")) == "4 (learnable)"
    assert ie.describe(table.entry(ie.RADEMACHER, "cumulant", "relu")) == "invisible"
    at_low_noise = ie.noise_level_table(ie.ExponentConfig(), [0.95])[0]
    assert ie.describe(at_low_noise.cumulant) == "4 (not learnable)"


def test_conditional_direction_is_the_top_principal_component():
    cd = ie.conditional_direction(ie.ExponentConfig())
    assert cd.sin_theta == pytest.approx(cd.pc_v, abs=1e-8)
    assert 0.2 < cd.sin_theta < 0.4  # tilted from u towards v, not along either
    np.testing.assert_allclose(cd.ratio, 1.0, rtol=1e-3)


def test_noise_levels_keep_the_exponents_and_flip_learnability_with_g4():
    rows = ie.noise_level_table(ie.ExponentConfig(), [0.3, 0.6, 0.95])
    assert all((r.covariance.exponent, r.cumulant.exponent) == (2, 4) for r in rows)
    assert [r.cumulant.learnable for r in rows] == [True, True, False]
    assert [r.g4 > 0 for r in rows] == [True, True, False]


def test_sign_changes_lie_at_low_noise():
    flips = ie.sign_changes(("tanh",), (2, 4))
    assert all(0.8 < a < 0.95 for a in flips.values())
    assert "| tanh | 2 |" in ie.sign_change_markdown(flips)


def test_landscapes_and_leading_powers():
    cfg = ie.ExponentConfig(grid=5)
    alphas, panels = ie.landscapes(cfg)
    assert alphas.shape == (5,) and set(panels) == {0.0, 1.0}
    assert panels[0.0].shape == (5, 5) and panels[0.0][2, 2] == pytest.approx(0.0, abs=1e-12)
    powers = ie.leading_powers(cfg, levels=(0.6,))
    assert [(p.spike, p.exponent) for p in powers] == [("covariance", 2), ("cumulant", 4)]
    assert all(abs(p.slope - p.exponent) < 0.02 for p in powers)


def test_scale_preset_needs_every_scale():
    from typing import ClassVar

    from easyhard.experiments._presets import ScalePreset

    @dataclasses.dataclass(frozen=True)
    class Partial(ScalePreset):
        n: int = 1
        PRESETS: ClassVar[dict] = {"ci": {"n": 2}, "laptop": {"n": 3}}

    with pytest.raises(ValueError, match="paper"):
        Partial.preset("ci")
    Partial.PRESETS["paper"] = {"n": 4}
    assert Partial.preset("laptop").n == 3 and Partial.preset("paper", n=7).n == 7

"""The t <-> a conversion, the sign changes of g_k, the ``check`` helper and the g_k figure."""

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest

from easyhard.checks import check
from easyhard.diffusion import ddpm_alpha_bar
from easyhard.plotting.theory import coefficient_table, hermite_panels
from easyhard.theory import hermite_coefficients
from easyhard.theory.noise_levels import ddpm_a, ddpm_step, last_step_above, sign_change


def test_ddpm_a_matches_the_schedule():
    abar = ddpm_alpha_bar().numpy()
    assert ddpm_a(100) == pytest.approx(np.sqrt(abar[99]))
    np.testing.assert_allclose(ddpm_a(np.array([1, 500, 1000])), np.sqrt(abar[[0, 499, 999]]))
    assert ddpm_a(100) == pytest.approx(0.9471, abs=1e-4)


def test_ddpm_step_inverts_ddpm_a():
    for t in (10, 100, 315, 700):
        assert ddpm_step(float(ddpm_a(t))) == t


def test_last_step_above_brackets_the_level():
    for a_star in (0.3, 0.6, 0.889, 0.99):
        t = last_step_above(a_star)
        assert ddpm_a(t) > a_star >= ddpm_a(t + 1)


def test_sign_change_is_a_root():
    a_star = sign_change("tanh", 4)
    g = hermite_coefficients("tanh", a_star)
    assert abs(g[4]) < 1e-9
    assert hermite_coefficients("tanh", a_star - 0.01)[4] > 0 > hermite_coefficients("tanh", a_star + 0.01)[4]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: ddpm_a(0), ValueError),
        (lambda: ddpm_a(1001), ValueError),
        (lambda: ddpm_a(1.5), TypeError),
        (lambda: ddpm_step(1.2), ValueError),
        (lambda: last_step_above(0.0), ValueError),
        (lambda: sign_change("tanh", -1), ValueError),
        (lambda: sign_change("tanh", 2, lo=0.9, hi=0.5), ValueError),
        (lambda: sign_change("tanh", 2, lo=0.1, hi=0.5), ValueError),  # no root there
        (lambda: sign_change("nope", 2), ValueError),
    ],
)
def test_bad_input(call, error):
    with pytest.raises(error):
        call()


def test_check_passes_and_fails_with_the_claim():
    check(np.bool_(True), "a true claim")
    with pytest.raises(AssertionError, match="claim not reproduced: slope is 3. try more walkers"):
        check(False, "slope is 3", "try more walkers")
    with pytest.raises(TypeError):
        check(True, "")


def test_hermite_panels_draws_both_rows():
    a_grid = np.linspace(0.1, 0.95, 12)
    g = coefficient_table(("tanh", "relu"), a_grid, kmax=4)
    assert g["tanh"].shape == (12, 5)
    np.testing.assert_allclose(g["tanh"][:, 1::2], 0.0, atol=1e-12)
    fig = hermite_panels(g, a_grid, kmax=4)
    assert len(fig.axes) >= 4

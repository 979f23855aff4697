"""Hermite coefficients g_k(a) and the one-dimensional loss G_t(p)."""

import math

import numpy as np
import pytest
import scipy.integrate

from easyhard.neuron import NeuronSpec
from easyhard.theory import hermite_coefficients, population_loss_1d
from easyhard.theory.crosschecks import hermite_by_definition

# reference values (tanh / erf, c = a, A = 1)
REFERENCE = [
    ("tanh", 0.6, 2, -0.3997),
    ("tanh", 0.6, 4, 0.01306),
    ("tanh", 0.2, 2, -0.2253),
    ("tanh", 0.2, 4, 0.00089),
    ("tanh", 0.95, 2, 0.0519),
    ("tanh", 0.95, 4, -0.01312),
    ("erf", 0.6, 2, -0.3671),
    ("erf", 0.6, 4, 0.00969),
]


@pytest.mark.parametrize(("act", "a", "k", "ref"), REFERENCE)
def test_reference_values(act, a, k, ref):
    """Three significant digits, or the digits quoted when fewer (0.00089)."""
    g = hermite_coefficients(act, a)
    assert g[k] == pytest.approx(ref, rel=1e-3, abs=0.5e-5 if k == 4 and a == 0.2 else 0.0)


@pytest.mark.parametrize("a", [0.3, 0.6, 0.9])
def test_relu_closed_forms(a):
    s2 = 1 - a * a
    g = hermite_coefficients("relu", a)
    assert g[1] == pytest.approx(a * math.sqrt(2 / math.pi) - 2 * s2 / math.sqrt(2 * math.pi), abs=1e-13)
    assert g[2] == pytest.approx(a * a / 2 - s2 * a, abs=1e-13)
    assert abs(g[4]) < 1e-14 and abs(g[6]) < 1e-14


def test_linear_closed_form():
    a, c, A = 0.7, 0.3, 0.8
    g = hermite_coefficients("linear", a, c=c, A=A, kmax=5)
    s2 = 1 - a * a
    g2 = A * A * a * a - 2 * A * a * (1 - c * a)
    assert g[2] == pytest.approx(g2, abs=1e-13)
    assert g[0] == pytest.approx(g2 + A * A * s2 + 2 * A * c * s2, abs=1e-13)
    np.testing.assert_allclose(g[[1, 3, 4, 5]], 0.0, atol=1e-13)


@pytest.mark.parametrize(
    ("act", "a", "c", "A"),
    [("tanh", 0.6, None, 1.0), ("erf", 0.3, 0.5, 0.7), ("relu", 0.8, 0.2, 1.3), (lambda h: 0.5 * h**3, 0.5, None, 1.0)],
)
def test_mehler_formula_matches_the_definition(act, a, c, A):
    """g_k = E[G_t(Z) He_k(Z)] / k! by Gauss-Hermite quadrature over p (G_t is smooth)."""
    direct = hermite_by_definition(NeuronSpec(act, a, c=c, A=A), kmax=6)
    np.testing.assert_allclose(hermite_coefficients(act, a, c, A, kmax=6), direct, atol=1e-12)
    # power: the coefficients of another skip coefficient c lie far outside the tolerance
    assert not np.allclose(hermite_coefficients(act, a, -1.0 if c is None else -c, A, kmax=6), direct, atol=1e-6)


@pytest.mark.parametrize("act", ["tanh", "erf", "linear", lambda h: 0.5 * np.tanh(3 * h)])
def test_odd_activations_kill_odd_orders(act):
    for a in (0.2, 0.6, 0.9):
        g = hermite_coefficients(act, a, c=0.4, A=1.5, kmax=7)
        np.testing.assert_allclose(g[1::2], 0.0, atol=1e-14)
    assert abs(hermite_coefficients("relu", 0.6)[3]) > 1e-2


@pytest.mark.parametrize(("p", "c", "A"), [(-1.3, None, 1.0), (0.4, 0.2, 0.5), (2.0, 0.9, 2.0)])
def test_G_against_adaptive_quadrature(p, c, A):
    a = 0.6
    s = math.sqrt(1 - a * a)
    cc = a if c is None else c

    def integrand(z):
        q = a * p + s * z
        sig = max(q, 0.0)
        phi = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        return (A * A * sig * sig - 2 * A * sig * ((1 - cc * a) * p - cc * s * z)) * phi

    expected = sum(scipy.integrate.quad(integrand, lo, hi, epsabs=1e-13)[0]
                   for lo, hi in ((-np.inf, -a * p / s), (-a * p / s, np.inf)))
    assert population_loss_1d("relu", a, c, A)(np.array([p]))[0] == pytest.approx(expected, abs=1e-11)


def test_tanh_signs_flip_at_low_noise():
    g_lo, g_hi = hermite_coefficients("tanh", 0.8), hermite_coefficients("tanh", 0.95)
    assert g_lo[2] < 0 < g_hi[2]
    assert g_lo[4] > 0 > g_hi[4]


def test_cache_returns_copies():
    g = hermite_coefficients("tanh", 0.6)
    g[2] = 123.0
    assert hermite_coefficients("tanh", 0.6)[2] == pytest.approx(-0.3997, abs=1e-4)


@pytest.mark.parametrize("a", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_rejects_noise_level_outside_unit_interval(a):
    with pytest.raises(ValueError, match="a "):
        hermite_coefficients("tanh", a)
    with pytest.raises(ValueError, match="a "):
        population_loss_1d("tanh", a)


def test_rejects_bad_activation_kmax_and_scalars():
    with pytest.raises(ValueError, match="activation"):
        hermite_coefficients("sigmoid", 0.5)
    for kmax in (0, -1, 2.5):
        with pytest.raises(ValueError, match="kmax"):
            hermite_coefficients("tanh", 0.5, kmax=kmax)
    with pytest.raises(ValueError, match="A"):
        hermite_coefficients("tanh", 0.5, A=float("inf"))

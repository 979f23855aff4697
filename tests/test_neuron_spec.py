"""NeuronSpec: the neuron's activation and scalars, checked once for the theory and the engines."""

import dataclasses
import math

import numpy as np
import pytest

from easyhard.activations import get_activation
from easyhard.data.mcm import MixedCumulantModel
from easyhard.neuron import TANH_06, NeuronSpec, as_neuron, check_neuron
from easyhard.sgd import run
from easyhard.sgd.run import make_problem
from easyhard.theory import excess_loss, hermite_coefficients, information_exponent
from easyhard.theory.flow import noise_constant


def test_resolved_fields_and_s():
    spec = NeuronSpec("tanh", 0.6)
    assert spec.activation is get_activation("tanh")
    assert (spec.a, spec.c, spec.A) == (0.6, 0.6, 1.0)
    assert spec.s == pytest.approx(0.8, abs=1e-15)
    assert NeuronSpec("relu", 0.3, c=-0.2, A=2).c == -0.2
    assert isinstance(NeuronSpec("erf", np.float32(0.5), A=np.int64(3)).A, float)
    assert repr(spec) == "NeuronSpec(activation='tanh', a=0.6, c=0.6, A=1.0)"
    assert TANH_06 == spec


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"activation": "sigmoid"}, ValueError, ["activation", "'sigmoid'", "tanh"]),
    ({"activation": 3}, TypeError, ["activation", "int"]),
    ({"a": 0.0}, ValueError, ["a (signal coefficient)", "(0, 1)", "0.0"]),
    ({"a": 1.0}, ValueError, ["a (signal coefficient)", "(0, 1)", "1.0"]),
    ({"a": -0.5}, ValueError, ["a (signal coefficient)", "-0.5"]),
    ({"a": float("nan")}, ValueError, ["a (signal coefficient)", "nan"]),
    ({"a": True}, TypeError, ["a (signal coefficient)", "bool"]),
    ({"a": "0.5"}, TypeError, ["a (signal coefficient)", "str"]),
    ({"c": float("nan")}, ValueError, ["c (skip coefficient)", "finite", "nan"]),
    ({"c": float("inf")}, ValueError, ["c (skip coefficient)", "inf"]),
    ({"c": False}, TypeError, ["c (skip coefficient)", "bool"]),
    ({"A": 0.0}, ValueError, ["A (amplitude)", "non-zero", "0.0"]),
    ({"A": 0}, ValueError, ["A (amplitude)", "non-zero"]),
    ({"A": float("-inf")}, ValueError, ["A (amplitude)", "-inf"]),
    ({"A": "1"}, TypeError, ["A (amplitude)", "str"]),
    ({"A": np.bool_(True)}, TypeError, ["A (amplitude)", "bool"]),
])
def test_bad_values_are_refused_naming_the_parameter(kwargs, error, words):
    args = {"activation": "tanh", "a": 0.6, **kwargs}
    with pytest.raises(error) as info:
        NeuronSpec(**args)
    for word in words:
        assert word in str(info.value)


def test_frozen_and_hashable():
    spec = NeuronSpec("tanh", 0.6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.a = 0.5
    same = NeuronSpec(get_activation("tanh"), 0.6, c=0.6, A=1.0)
    assert spec == same and hash(spec) == hash(same)
    assert spec != NeuronSpec("tanh", 0.6, A=0.5) and spec != NeuronSpec("erf", 0.6)
    assert len({spec, same, NeuronSpec("tanh", 0.5)}) == 2
    custom = NeuronSpec(lambda h: h**3, 0.6)  # a callable is accepted (and hashable) too
    assert custom.activation.odd is None and hash(custom) == hash(custom)


def test_as_neuron_and_check_neuron():
    spec = NeuronSpec("tanh", 0.6)
    assert as_neuron(spec) is spec and check_neuron(spec) is spec
    assert as_neuron("tanh", 0.6) == spec
    with pytest.raises(TypeError, match="not both"):
        as_neuron(spec, 0.6)
    with pytest.raises(TypeError, match="not both"):
        as_neuron(spec, A=2.0)
    with pytest.raises(TypeError, match="a \\(signal coefficient\\) is required"):
        as_neuron("tanh")
    with pytest.raises(TypeError, match="must be a NeuronSpec"):
        check_neuron("tanh")


def test_spec_and_keywords_give_the_same_numbers():
    """The public entry points that take both spellings go through the one spec."""
    spec = NeuronSpec("relu", 0.7, c=0.3, A=0.8)
    g = hermite_coefficients(spec, kmax=8)
    assert np.array_equal(g, hermite_coefficients("relu", 0.7, 0.3, 0.8, kmax=8))
    model = MixedCumulantModel(16, beta_u=2.0, beta_v=5.0, seed=0)
    assert information_exponent(model, spec) == information_exponent(model, "relu", 0.7, 0.3, 0.8)
    # the skip and the amplitude reach the landscape: a different spec, a different loss
    assert excess_loss(model, spec, 0.3, 0.2) != excess_loss(model, NeuronSpec("relu", 0.7), 0.3, 0.2)
    assert math.isfinite(noise_constant(spec))


def test_theory_functions_refuse_the_old_quadruple():
    model = MixedCumulantModel(8, beta_u=2.0, seed=0)
    with pytest.raises(TypeError, match="must be a NeuronSpec"):
        excess_loss(model, "tanh", 0.6, 0.1)
    with pytest.raises(TypeError, match="must be a NeuronSpec"):
        noise_constant("tanh")


def test_sgd_takes_a_spec_with_the_same_numbers():
    model = MixedCumulantModel(16, beta_u=5.0, seed=0)
    spec = NeuronSpec("tanh", 0.6, A=0.9)
    problem = make_problem(model, 0.01, spec)
    assert problem.neuron is spec
    assert problem.neuron == NeuronSpec("tanh", 0.6, A=0.9) and problem.neuron.s == spec.s
    assert make_problem(model, 0.01, "tanh", 0.6, None, 0.9) == problem
    one = run(model, 50, 0.01, spec, walkers=2, engine="reduced", seed=3)
    other = run(model, 50, 0.01, "tanh", 0.6, walkers=2, engine="reduced", seed=3, A=0.9)
    assert np.array_equal(one.alpha_u, other.alpha_u) and np.array_equal(one.alpha_v, other.alpha_v)
    assert one.config["A"] == 0.9 and one.config["a"] == 0.6
    with pytest.raises(TypeError, match="not both"):
        run(model, 50, 0.01, spec, 0.5)
    with pytest.raises(ValueError, match="custom Activation"):
        make_problem(model, 0.01, NeuronSpec(lambda h: h, 0.6))
    with pytest.raises(ValueError, match="A \\(amplitude\\)"):
        run(model, 50, 0.01, "tanh", 0.6, A=0.0)

"""Bad input to zoo.layers: clear ValueErrors, raised early, that name what was
received and what was expected."""

import re

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

NAMES = ["SimpleRNN", "GRU", "LSTM"]


def layer_of(name, *args, **kwargs):
    return getattr(zoo.layers, name)(*args, **kwargs)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("units", [0, -1, 1.5, None])
def test_units_must_be_positive_integer(name, units):
    with pytest.raises(ValueError, match=rf"positive integer\. Received: units={units!r}"):
        layer_of(name, units)


@pytest.mark.parametrize("name", NAMES)
def test_unknown_activation_name(name):
    with pytest.raises(ValueError, match=r"Received: activation='sigmoidd'"):
        layer_of(name, 4, activation="sigmoidd")
    if name != "SimpleRNN":
        with pytest.raises(ValueError, match=r"Received: recurrent_activation='nope'"):
            layer_of(name, 4, recurrent_activation="nope")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("arg", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("value", [-0.5, 1.0, 2])
def test_dropout_outside_unit_interval(name, arg, value):
    with pytest.raises(ValueError, match=rf"\[0, 1\)\. Received: {arg}={value!r}"):
        layer_of(name, 4, **{arg: value})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(2, 4), (2, 3, 4, 1), (4,)])
def test_wrong_input_rank(name, shape):
    layer = layer_of(name, 4)
    expected = f"rank 3 (batch, timesteps, features). Received: inputs with shape {shape}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        layer(np.zeros(shape, "float32"))


@pytest.mark.parametrize("name", NAMES)
def test_wrong_rank_caught_when_building_a_functional_model(name):
    with pytest.raises(ValueError, match=r"Received: inputs with shape \(None, 4\)"):
        layer_of(name, 4)(keras.Input((4,)))


@pytest.mark.parametrize("name", NAMES)
def test_boolean_inputs(name):
    with pytest.raises(ValueError, match=r"floating-point or integer inputs.*Received: inputs "
                                         r"with dtype bool"):
        layer_of(name, 4)(np.zeros((2, 3, 4), "bool"))


def test_boolean_inputs_caught_when_building_a_functional_model():
    with pytest.raises(ValueError, match=r"Received: inputs with dtype bool"):
        zoo.layers.LSTM(4)(keras.Input((None, 3), dtype="bool"))


@pytest.mark.parametrize("name", NAMES)
def test_feature_size_changed_after_build(name):
    layer = layer_of(name, 4)
    layer(np.zeros((2, 3, 5), "float32"))
    with pytest.raises(ValueError, match=r"built for inputs with 5 features.*Received: inputs "
                                         r"with shape \(2, 3, 6\)"):
        layer(np.zeros((2, 3, 6), "float32"))


@pytest.mark.parametrize("name", NAMES)
def test_stateful_needs_fixed_batch_size(name):
    with pytest.raises(ValueError, match=r"fixed batch size.*Received: inputs with shape "
                                         r"\(None, 5, 3\)"):
        layer_of(name, 4, stateful=True)(keras.Input((5, 3)))


@pytest.mark.parametrize("name, count", [("SimpleRNN", 1), ("GRU", 1), ("LSTM", 2)])
def test_initial_state_wrong_count(name, count):
    layer = layer_of(name, 4)
    x = np.zeros((2, 3, 5), "float32")
    wrong = [np.zeros((2, 4), "float32")] * (count + 1)
    with pytest.raises(ValueError, match=rf"expects {count} initial state tensor\(s\) of sizes "
                                         rf"\[{', '.join(['4'] * count)}\]\. Received: "
                                         rf"{count + 1} tensor\(s\)"):
        layer(x, initial_state=wrong)


@pytest.mark.parametrize("bad_shape", [(2, 5), (3, 4), (2, 4, 1)])
def test_initial_state_wrong_shape(bad_shape):
    layer = zoo.layers.LSTM(4)
    x = np.zeros((2, 3, 5), "float32")
    states = [np.zeros((2, 4), "float32"), np.zeros(bad_shape, "float32")]
    expected = str(bad_shape).replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(ValueError, match=rf"shapes \[\(2, 4\), \(2, 4\)\]\. Received: initial "
                                         rf"state with shape {expected}"):
        layer(x, initial_state=states)


def test_unroll_needs_fixed_timesteps():
    with pytest.raises(ValueError, match=r"fixed number of timesteps.*\(None, None, 3\)"):
        zoo.layers.GRU(4, unroll=True)(keras.Input((None, 3)))


def test_rnn_rejects_objects_that_are_not_cells():
    with pytest.raises(ValueError, match=r"`state_size`.*Received: cell="):
        zoo.layers.RNN(keras.layers.Dense(3))
    with pytest.raises(ValueError, match=r"non-empty list of cells\. Received: \[\]"):
        zoo.layers.RNN([])


def test_use_cudnn_value_checked():
    with pytest.raises(ValueError, match=r"Received: use_cudnn='yes'"):
        zoo.layers.LSTM(4, use_cudnn="yes")

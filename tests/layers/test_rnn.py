"""zoo.layers.rnn: the `input_projection` and `gradient` constructor arguments
of `RNN` and of the layers built on it (validated at construction, returned by
`get_config`, restored from a config)."""

import keras
import numpy as np
import pytest

import zoo
from zoo.layers.rnn import GRADIENTS, INPUT_PROJECTIONS

pytestmark = pytest.mark.jax

LAYERS = {
    "RNN": lambda **kw: zoo.layers.RNN(zoo.cells.GRUCell(3), **kw),
    "SimpleRNN": lambda **kw: zoo.layers.SimpleRNN(3, **kw),
    "GRU": lambda **kw: zoo.layers.GRU(3, **kw),
    "LSTM": lambda **kw: zoo.layers.LSTM(3, **kw),
}


def test_documented_values():
    assert INPUT_PROJECTIONS == ("auto", "hoisted", "per_step")
    assert GRADIENTS == ("auto", "fused", "autodiff")


@pytest.mark.parametrize("name", list(LAYERS))
def test_defaults_are_auto_and_in_config(name):
    layer = LAYERS[name]()
    assert layer.input_projection == "auto" and layer.gradient == "auto"
    config = layer.get_config()
    assert config["input_projection"] == "auto" and config["gradient"] == "auto"


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("input_projection", INPUT_PROJECTIONS)
@pytest.mark.parametrize("gradient", GRADIENTS)
def test_config_round_trip(name, input_projection, gradient):
    layer = LAYERS[name](input_projection=input_projection, gradient=gradient)
    assert (layer.input_projection, layer.gradient) == (input_projection, gradient)
    config = layer.get_config()
    assert (config["input_projection"], config["gradient"]) == (input_projection, gradient)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer)
    assert (restored.input_projection, restored.gradient) == (input_projection, gradient)
    assert restored.get_config() == config


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("arg, value, expected", [
    ("input_projection", "hoist", "['auto', 'hoisted', 'per_step']"),
    ("input_projection", None, "['auto', 'hoisted', 'per_step']"),
    ("gradient", "symbolic", "['auto', 'fused', 'autodiff']"),
    ("gradient", True, "['auto', 'fused', 'autodiff']"),
])
def test_bad_values_rejected_at_construction(name, arg, value, expected):
    message = f"`{arg}` must be one of {expected}. Received: {arg}={value!r}"
    with pytest.raises(ValueError) as error:
        LAYERS[name](**{arg: value})
    assert str(error.value) == message


def test_assignment_after_construction_is_validated_and_used():
    layer = zoo.layers.GRU(3)
    layer.input_projection = "hoisted"
    layer.gradient = "autodiff"
    assert layer.get_config()["input_projection"] == "hoisted"
    assert layer.get_config()["gradient"] == "autodiff"
    with pytest.raises(ValueError, match=r"Received: input_projection='sideways'"):
        layer.input_projection = "sideways"
    assert layer.input_projection == "hoisted"


def test_config_without_the_arguments_gets_the_defaults():
    """Configs saved before these arguments existed still load."""
    for name in ("SimpleRNN", "GRU", "LSTM"):
        config = LAYERS[name](gradient="fused").get_config()
        del config["input_projection"], config["gradient"]
        restored = getattr(zoo.layers, name).from_config(config)
        assert (restored.input_projection, restored.gradient) == ("auto", "auto")


@pytest.mark.parametrize("input_projection", INPUT_PROJECTIONS)
def test_every_input_projection_gives_the_same_outputs(input_projection):
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    reference = zoo.layers.LSTM(3, return_sequences=True)
    expected = np.asarray(reference(x))
    layer = zoo.layers.LSTM(3, return_sequences=True, input_projection=input_projection)
    layer.build(x.shape)
    layer.set_weights(reference.get_weights())
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-6, atol=1e-6)

"""zoo.layers.base_layer: Keras's `use_cudnn` and `implementation` arguments of
GRU and LSTM (accepted values, errors, config), as in Keras 3.15."""

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

NAMES = ["GRU", "LSTM"]


@pytest.mark.parametrize("name", NAMES)
def test_use_cudnn_true_raises_because_there_is_no_cudnn_path(name):
    with pytest.raises(ValueError) as error:
        getattr(zoo.layers, name)(4, use_cudnn=True)
    assert str(error.value) == (
        "`use_cudnn=True` was given, but the zoo layers have no cuDNN implementation "
        "(they always run their own loop). Pass use_cudnn='auto' or False, or use "
        "keras.layers.GRU/LSTM for cuDNN. Received: use_cudnn=True")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", ["yes", 1, 0, None, "True"])
def test_use_cudnn_other_values_rejected(name, value):
    with pytest.raises(ValueError) as error:
        getattr(zoo.layers, name)(4, use_cudnn=value)
    assert str(error.value) == (
        f"`use_cudnn` must be one of ['auto', True, False]. Received: use_cudnn={value!r}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", ["auto", False])
def test_use_cudnn_accepted_values_stored_and_in_config(name, value):
    layer = getattr(zoo.layers, name)(4, use_cudnn=value)
    assert layer.use_cudnn is value or layer.use_cudnn == value
    config = layer.get_config()
    assert config["use_cudnn"] == value
    assert getattr(zoo.layers, name).from_config(config).use_cudnn == value
    # Keras accepts the same values.
    assert getattr(keras.layers, name)(4, use_cudnn=value).use_cudnn == value


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [0, 1, 2])
def test_implementation_values_stored_and_in_config(name, value):
    layer = getattr(zoo.layers, name)(4, implementation=value)
    assert layer.implementation == value and layer.cell.implementation == value
    config = layer.get_config()
    assert config["implementation"] == value
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert restored.implementation == value and restored.get_config() == config
    cell = getattr(zoo.cells, f"{name}Cell")(4, implementation=value)
    assert cell.implementation == value and cell.get_config()["implementation"] == value
    assert getattr(zoo.cells, f"{name}Cell").from_config(cell.get_config()).implementation == value


@pytest.mark.parametrize("name", NAMES)
def test_implementation_defaults_to_two_as_in_keras(name):
    assert getattr(zoo.layers, name)(4).implementation == 2
    assert getattr(zoo.cells, f"{name}Cell")(4).implementation == 2


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [-1, 3, "2", True, None])
def test_implementation_other_values_rejected(name, value):
    message = f"`implementation` must be one of [0, 1, 2]. Received: implementation={value!r}"
    for make in (getattr(zoo.layers, name), getattr(zoo.cells, f"{name}Cell")):
        with pytest.raises(ValueError) as error:
            make(4, implementation=value)
        assert str(error.value) == message


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("legacy", [0, 1])
def test_implementation_does_not_change_the_results(name, legacy):
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
    one = getattr(zoo.layers, name)(4, implementation=legacy, return_sequences=True)
    two = getattr(zoo.layers, name)(4, implementation=2, return_sequences=True)
    expected = np.asarray(one(x))
    two.build(x.shape)
    two.set_weights(one.get_weights())
    np.testing.assert_array_equal(np.asarray(two(x)), expected)


@pytest.mark.parametrize("name", NAMES)
def test_a_keras_2_config_with_legacy_implementation_zero_loads(name):
    config = getattr(keras.layers, name)(3).get_config()
    config["implementation"] = 0
    assert getattr(keras.layers, name).from_config(config).cell.implementation == 0
    assert getattr(zoo.layers, name).from_config(config).implementation == 0


def test_simple_rnn_has_no_use_cudnn_or_implementation_as_in_keras():
    for arg in ("use_cudnn", "implementation"):
        with pytest.raises((TypeError, ValueError)):
            keras.layers.SimpleRNN(4, **{arg: "auto" if arg == "use_cudnn" else 2})
        with pytest.raises((TypeError, ValueError)):
            zoo.layers.SimpleRNN(4, **{arg: "auto" if arg == "use_cudnn" else 2})

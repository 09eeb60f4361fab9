"""zoo.layers serialization: get_config/from_config (every constructor argument
kept), Keras configs, and `.keras` round trips with safe_mode=True."""

import inspect
import os

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

NAMES = ["SimpleRNN", "GRU", "LSTM"]


def constructor_args(cls):
    return [name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("name", NAMES)
def test_same_arguments_as_keras_and_all_in_config(name):
    ours, theirs = getattr(zoo.layers, name), getattr(keras.layers, name)
    assert set(constructor_args(ours)) == set(constructor_args(theirs))
    layer = ours(7, activation="relu", dropout=0.2, recurrent_dropout=0.1, seed=3,
                 return_sequences=True, go_backwards=True, kernel_regularizer="l2",
                 activity_regularizer="l1", bias_constraint="non_neg", unroll=True)
    config = layer.get_config()
    for arg in constructor_args(ours):
        assert hasattr(layer, arg), arg
        assert arg in config, arg
    assert config["zero_output_for_mask"] is False
    clone = ours.from_config(config)
    assert clone.get_config() == config
    assert clone.units == 7 and clone.go_backwards and clone.dropout == 0.2


@pytest.mark.parametrize("name", NAMES)
def test_loads_a_keras_layer_config(name):
    """A config written by keras.layers.X builds the same zoo.layers.X."""
    theirs = getattr(keras.layers, name)(5, return_sequences=True, activation="relu")
    ours = getattr(zoo.layers, name).from_config(theirs.get_config())
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    expected = np.asarray(theirs(x))
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected, atol=1e-6)


def test_rnn_with_cell_and_stack_config_round_trip():
    for cell in (zoo.cells.GRUCell(4, reset_after=False),
                 [zoo.cells.SimpleRNNCell(3), zoo.cells.LSTMCell(2, unit_forget_bias=False)]):
        layer = zoo.layers.RNN(cell, return_state=True, zero_output_for_mask=True)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(layer))
        assert type(restored) is zoo.layers.RNN
        assert restored.get_config() == layer.get_config()


def model_with_every_layer():
    inp = keras.Input((None, 4))
    masked = keras.layers.Masking(0.0)(inp)
    seq = keras.layers.Bidirectional(zoo.layers.LSTM(5, return_sequences=True))(masked)
    seq = zoo.layers.GRU(4, reset_after=False, return_sequences=True, go_backwards=True)(seq)
    out1 = zoo.layers.SimpleRNN(3, activation="relu")(seq)
    out2 = zoo.layers.RNN([zoo.cells.GRUCell(3), zoo.cells.LSTMCell(2)])(masked)
    return keras.Model(inp, [out1, out2])


def test_keras_file_round_trip_safe_mode(tmp_path):
    model = model_with_every_layer()
    x = np.random.default_rng(1).normal(size=(3, 6, 4)).astype("float32")
    x[1, 4:] = 0.0  # padding, masked
    expected = [np.asarray(o) for o in model(x)]
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer).__name__ for layer in restored.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert isinstance(restored.layers[2].forward_layer, zoo.layers.LSTM)
    for ours, theirs in zip(restored(x), expected):
        np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-6)

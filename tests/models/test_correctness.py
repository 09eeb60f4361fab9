"""Correctness of the factories against an independent NumPy reference:
known weights, masking (padding changes nothing), and the backward half of a
bidirectional layer."""

import keras
import numpy as np
import pytest

import zoo
from tests import numpy_reference

pytestmark = pytest.mark.jax
CELLS = ("simple", "gru", "lstm")


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape) for w in model.get_weights()])


def _padded_features(lengths, steps, features=3, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.2, 1.0, size=(len(lengths), steps, features)).astype("float32")
    for row, length in enumerate(lengths):
        x[row, length:] = 0.0
    return x


@pytest.mark.parametrize("cell", CELLS)
def test_many_to_one_matches_numpy_forward_pass(cell):
    model = zoo.create_model(
        "many_to_one", cell=cell, units=5, input_dim=3, mask_value=0.0, output_dim=2
    )
    _randomize(model)
    lengths = [6, 4, 1]
    x = _padded_features(lengths, steps=6)
    got = keras.ops.convert_to_numpy(model({"features": x}))

    rnn_weights = model.get_layer("rnn_0").get_weights()
    head_kernel, head_bias = model.get_layer("output_values").get_weights()
    for row, length in enumerate(lengths):
        last = numpy_reference.run_sequence(cell, rnn_weights, x[row, :length])[-1]
        np.testing.assert_allclose(got[row], last @ head_kernel + head_bias, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.slow
def test_token_padding_changes_nothing(cell):
    model = zoo.create_model("many_to_one", cell=cell, units=6, vocab_size=30, num_classes=4,
                             num_layers=2, bidirectional=True)
    _randomize(model)
    short = np.array([[5, 9, 2, 7]], dtype="int32")
    padded = np.array([[5, 9, 2, 7, 0, 0, 0]], dtype="int32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model({"tokens": padded})),
        keras.ops.convert_to_numpy(model({"tokens": short})),
        atol=1e-5,
    )


@pytest.mark.slow
def test_many_to_many_padding_changes_nothing_at_valid_steps():
    model = zoo.create_model("many_to_many", cell="gru", units=6, input_dim=3, mask_value=0.0,
                             num_classes=3, num_layers=2, residual=True)
    _randomize(model)
    x = _padded_features([5], steps=5)
    padded = np.concatenate([x, np.zeros((1, 3, 3), "float32")], axis=1)
    full = keras.ops.convert_to_numpy(model({"features": padded}))
    np.testing.assert_allclose(
        full[:, :5], keras.ops.convert_to_numpy(model({"features": x})), atol=1e-5
    )


@pytest.mark.parametrize("attention", [None, "bahdanau", "luong"])
@pytest.mark.slow
def test_source_padding_changes_nothing_in_encoder_decoder(attention):
    model = zoo.create_model("encoder_decoder", cell="lstm", units=6, source_vocab_size=20,
                             target_vocab_size=10, attention=attention, bidirectional=True)
    _randomize(model)
    target_in = np.array([[1, 4, 5]], dtype="int32")
    short = {"source": np.array([[3, 8, 6]], "int32"), "target_in": target_in}
    padded = {"source": np.array([[3, 8, 6, 0, 0]], "int32"), "target_in": target_in}
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(padded)),
        keras.ops.convert_to_numpy(model(short)),
        atol=1e-5,
    )


@pytest.mark.parametrize("cell", CELLS)
def test_bidirectional_backward_half_is_a_forward_rnn_on_the_reversed_sequence(cell):
    units = 4
    model = zoo.create_model("many_to_many", cell=cell, units=units, input_dim=3,
                             mask_value=0.0, output_dim=1, bidirectional=True)
    _randomize(model)
    lengths = [5, 3]
    x = _padded_features(lengths, steps=5)
    bidi = model.get_layer("rnn_0")
    halves = keras.Model(model.inputs, bidi.output)({"features": x})
    halves = keras.ops.convert_to_numpy(halves)
    forward_w = bidi.forward_layer.get_weights()
    backward_w = bidi.backward_layer.get_weights()
    for row, length in enumerate(lengths):
        valid = x[row, :length]
        np.testing.assert_allclose(
            halves[row, :length, :units], numpy_reference.run_sequence(cell, forward_w, valid),
            atol=1e-5,
        )
        reversed_run = numpy_reference.run_sequence(cell, backward_w, valid[::-1])
        np.testing.assert_allclose(
            halves[row, :length, units:], reversed_run[::-1], atol=1e-5
        )


def test_deep_transition_matches_numpy():
    model = zoo.create_model("many_to_one", cell="simple", units=3, input_dim=2,
                             transition_block=(4,), output_dim=1)
    _randomize(model, seed=3)
    x = np.random.default_rng(4).normal(size=(2, 5, 2)).astype("float32")
    got = keras.ops.convert_to_numpy(model({"features": x}))

    wrapper = model.get_layer("rnn_0").cell
    val = keras.ops.convert_to_numpy
    kernel, recurrent, bias = (val(w) for w in (wrapper.cell.kernel,
                                                wrapper.cell.recurrent_kernel, wrapper.cell.bias))
    dense = [(val(d.kernel), val(d.bias)) for d in wrapper.transition]
    head_kernel, head_bias = model.get_layer("output_values").get_weights()
    for row in range(2):
        a = np.zeros(3)
        for x_t in x[row].astype("float64"):
            a = np.tanh(x_t @ kernel + a @ recurrent + bias)
            for w, b in dense:
                a = np.tanh(a @ w + b)
        np.testing.assert_allclose(got[row], a @ head_kernel + head_bias, atol=1e-5)

"""zoo._masking: the Keras mask of a prediction read through public Keras,
and the check that says when the workaround can go."""

import keras
import numpy as np
import pytest

from zoo import _masking

pytestmark = pytest.mark.jax


def test_keras_still_exports_no_mask_getter():
    # When this fails, Keras exports `keras.backend.get_keras_mask`: call it in
    # zoo.losses and delete zoo/_masking.py (and this test).
    assert not hasattr(keras.backend, "get_keras_mask")
    assert _masking.PUBLIC_GETTER is None


def _masked_output():
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 4, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(3)(x))
    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0]], dtype="int32")
    return model(tokens), tokens


def test_the_mask_of_a_functional_output_becomes_weights():
    y_pred, tokens = _masked_output()
    weights = keras.ops.convert_to_numpy(_masking.mask_weights(y_pred))
    np.testing.assert_array_equal(weights, (tokens != 0).astype("float32"))


def test_no_mask_gives_ones():
    weights = _masking.mask_weights(np.zeros((2, 5, 3), "float32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(weights), np.ones((2, 5)))


def test_it_agrees_with_the_mask_keras_metrics_apply():
    y_pred, tokens = _masked_output()
    y_true = np.zeros(tokens.shape, "int32")
    keras_accuracy = keras.metrics.SparseCategoricalAccuracy()
    keras_accuracy.update_state(y_true, y_pred)
    weights = keras.ops.convert_to_numpy(_masking.mask_weights(y_pred))
    correct = keras.ops.convert_to_numpy(keras.ops.argmax(y_pred, -1)) == y_true
    expected = (correct * weights).sum() / weights.sum()
    assert float(keras_accuracy.result()) == pytest.approx(expected)

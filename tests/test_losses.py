"""Masked per-step loss (sum over valid steps, mean over the batch) and the
mask-aware metrics, against NumPy."""

import keras
import numpy as np
import pytest

from zoo import losses


def _log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def _reference(y_true, logits, weights):
    nll = -np.take_along_axis(_log_softmax(logits), y_true[..., None], -1)[..., 0]
    return (nll * weights).sum(1)


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    y_true = np.array([[3, 1, 4, 0, 0], [2, 2, 2, 2, 1]], dtype="int32")
    logits = rng.normal(size=(2, 5, 6)).astype("float32")
    return y_true, logits


@pytest.mark.jax
def test_sum_over_valid_steps_mean_over_batch(batch):
    y_true, logits = batch
    valid = (y_true != 0).astype("float64")
    loss = losses.SequenceLoss(ignore_class=0)
    expected = _reference(y_true, logits.astype("float64"), valid)
    np.testing.assert_allclose(float(loss(y_true, logits)), expected.mean(), rtol=1e-5)
    per_seq = losses.SequenceLoss(ignore_class=0, reduction=None)(y_true, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(per_seq), expected, rtol=1e-5)
    total = losses.SequenceLoss(ignore_class=0, reduction="sum")(y_true, logits)
    np.testing.assert_allclose(float(total), expected.sum(), rtol=1e-5)


@pytest.mark.jax
def test_padding_never_counts(batch):
    y_true, logits = batch
    loss = losses.SequenceLoss(ignore_class=0)
    changed = logits.copy()
    changed[0, 3:] = 100.0 * np.random.default_rng(1).normal(size=(2, 6))
    assert float(loss(y_true, changed)) == pytest.approx(float(loss(y_true, logits)), rel=1e-6)


@pytest.mark.jax
def test_sample_weight_per_sequence_and_per_step(batch):
    y_true, logits = batch
    loss = losses.SequenceLoss()
    ones = np.ones(y_true.shape)
    per_seq = _reference(y_true, logits.astype("float64"), ones)
    got = loss(y_true, logits, sample_weight=np.array([1.0, 0.0]))
    np.testing.assert_allclose(float(got), per_seq[0] / 2, rtol=1e-5)
    step_w = np.zeros(y_true.shape)
    step_w[:, 0] = 1.0
    got = loss(y_true, logits, sample_weight=step_w)
    np.testing.assert_allclose(
        float(got), _reference(y_true, logits.astype("float64"), step_w).mean(), rtol=1e-5
    )


@pytest.mark.jax
def test_mean_squared_error_kind():
    y_true = np.arange(12, dtype="float32").reshape(2, 3, 2)
    y_pred = y_true + 1.0
    y_pred[1, 2] += 2.0
    loss = losses.SequenceLoss(kind="mean_squared_error")
    # per step sum over features: 2 everywhere, 18 at [1, 2]; sums 6 and 22.
    np.testing.assert_allclose(float(loss(y_true, y_pred)), 14.0, rtol=1e-6)
    w = np.array([[1, 1, 1], [1, 1, 0]], "float32")
    np.testing.assert_allclose(float(loss(y_true, y_pred, sample_weight=w)), 5.0, rtol=1e-6)


def test_keras_mask_of_the_prediction_is_used():
    # The TensorFlow backend keeps the Keras mask on the output tensor.
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(10, 6, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(6)(x))
    tokens = np.array([[3, 4, 0, 0]], dtype="int32")
    y_true = np.array([[1, 2, 5, 5]], dtype="int32")
    logits = model(tokens)
    got = float(losses.SequenceLoss()(y_true, logits))
    valid = np.array([[1, 1, 0, 0]], "float64")
    expected = _reference(y_true, keras.ops.convert_to_numpy(logits).astype("float64"), valid)
    np.testing.assert_allclose(got, expected.mean(), rtol=1e-5)


@pytest.mark.jax
def test_token_accuracy_and_exact_match():
    y_true = np.array([[2, 1, 0], [1, 1, 1], [0, 0, 0]])
    predicted = np.array([[2, 2, 1], [1, 1, 1], [1, 1, 1]])
    scores = np.eye(3, dtype="float32")[predicted]
    acc = losses.TokenAccuracy(ignore_class=0)
    acc.update_state(y_true, scores)
    assert float(acc.result()) == pytest.approx(4 / 5)
    exact = losses.SequenceExactMatch(ignore_class=0)
    exact.update_state(y_true, scores)
    assert float(exact.result()) == pytest.approx(1 / 2)  # the empty row does not count
    exact.reset_state()
    assert float(exact.result()) == 0.0


@pytest.mark.jax
def test_serialization_round_trip():
    for obj in (
        losses.SequenceLoss(kind="mean_squared_error", ignore_class=None, reduction="sum"),
        losses.TokenAccuracy(ignore_class=0),
        losses.SequenceExactMatch(ignore_class=0),
    ):
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
        assert type(restored) is type(obj)
        assert restored.get_config() == obj.get_config()


@pytest.mark.jax
def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        losses.SequenceLoss(kind="hinge")
    with pytest.raises(ValueError, match="reduction"):
        losses.SequenceLoss(reduction="mean_over_tokens")


@pytest.mark.jax
def test_training_with_the_loss_and_metrics():
    import zoo

    model = zoo.create_model("encoder_decoder", source_vocab_size=9, target_vocab_size=9, units=8)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=losses.SequenceLoss(ignore_class=0),
        metrics=[losses.TokenAccuracy(ignore_class=0), losses.SequenceExactMatch(ignore_class=0)],
    )
    x = {"source": np.array([[3, 4, 5], [6, 7, 0]], "int32"),
         "target_in": np.array([[1, 3, 4, 5], [1, 6, 7, 0]], "int32")}
    y = np.array([[3, 4, 5, 2], [6, 7, 2, 0]], "int32")
    history = model.fit(x, y, epochs=40, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["token_accuracy"][-1] == 1.0
    assert history.history["sequence_exact_match"][-1] == 1.0

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


@pytest.mark.jax
def test_keras_mask_of_the_prediction_is_used():
    # TensorFlow keeps the Keras mask on the output tensor, JAX beside it.
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
@pytest.mark.slow
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


def _masked_logits(tokens, classes=4, seed=0):
    """Logits (batch, steps, classes) carrying the Keras mask ``tokens != 0``."""
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 5, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(classes)(x))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape) for w in model.get_weights()])
    return model(tokens)


def _numpy_token_accuracy(y_true, scores, weights):
    correct = (scores.argmax(-1) == y_true).astype("float64")
    return (correct * weights).sum() / weights.sum()


@pytest.mark.jax
@pytest.mark.parametrize("sample_weight", [None, "sequence", "step"])
def test_token_accuracy_matches_numpy_with_padding_masks_and_weights(sample_weight):
    rng = np.random.default_rng(2)
    tokens = np.array([[3, 4, 5, 6, 0], [7, 8, 0, 0, 0], [9, 1, 2, 3, 4]], "int32")
    y_pred = _masked_logits(tokens)
    scores = keras.ops.convert_to_numpy(y_pred)
    y_true = rng.integers(1, 4, size=tokens.shape)
    y_true[2, 3:] = 0  # padding labels inside an unmasked row
    y_true[0, 4] = 2   # a label under the mask: never counts
    weights = ((tokens != 0) & (y_true != 0)).astype("float64")
    sw = None
    if sample_weight == "sequence":
        sw = np.array([0.5, 2.0, 1.0])
        weights = weights * sw[:, None]
    elif sample_weight == "step":
        sw = rng.uniform(0.0, 2.0, size=tokens.shape)
        weights = weights * sw
    metric = losses.TokenAccuracy(ignore_class=0)
    metric.update_state(y_true, y_pred, sample_weight=sw)
    expected = _numpy_token_accuracy(y_true, scores, weights)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
    # Accumulates over batches like the NumPy mean over both.
    metric.update_state(y_true[:1], scores[:1])
    w0 = (y_true[:1] != 0).astype("float64")
    total = expected * weights.sum() + (_numpy_token_accuracy(y_true[:1], scores[:1], w0)
                                        * w0.sum())
    assert float(metric.result()) == pytest.approx(total / (weights.sum() + w0.sum()), rel=1e-6)


@pytest.mark.jax
def test_token_accuracy_is_keras_sparse_categorical_accuracy_without_padding():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 5, size=(4, 6))
    scores = rng.normal(size=(4, 6, 5)).astype("float32")
    ours, theirs = losses.TokenAccuracy(), keras.metrics.SparseCategoricalAccuracy()
    ours.update_state(y_true, scores)
    theirs.update_state(y_true, scores)
    assert isinstance(ours, keras.metrics.SparseCategoricalAccuracy)
    assert float(ours.result()) == pytest.approx(float(theirs.result()))
    assert ours.get_config() == {"name": "token_accuracy", "dtype": "float32",
                                 "ignore_class": None}


@pytest.mark.jax
def test_masked_prediction_in_loss_and_exact_match():
    tokens = np.array([[3, 4, 0, 0], [5, 6, 7, 0]], "int32")
    y_pred = _masked_logits(tokens, classes=6)
    logits = keras.ops.convert_to_numpy(y_pred).astype("float64")
    y_true = np.array([[1, 2, 5, 5], [3, 3, 3, 5]], "int32")
    valid = (tokens != 0).astype("float64")
    got = float(losses.SequenceLoss()(y_true, y_pred))
    np.testing.assert_allclose(got, _reference(y_true, logits, valid).mean(), rtol=1e-5)
    # Exact match: a row matches when every unmasked step is right.
    y_true = np.where(tokens != 0, logits.argmax(-1), 5)
    y_true[1, 1] = (y_true[1, 1] + 1) % 6
    exact = losses.SequenceExactMatch()
    exact.update_state(y_true, y_pred)
    assert float(exact.result()) == pytest.approx(0.5)


@pytest.mark.jax
def test_exact_match_sample_weight_marks_padding_only():
    y_true = np.array([[2, 1, 1], [1, 1, 1]])
    scores = np.eye(3, dtype="float32")[np.array([[2, 1, 2], [1, 1, 1]])]
    exact = losses.SequenceExactMatch()
    exact.update_state(y_true, scores, sample_weight=np.array([[1, 1, 0], [3, 3, 3]], "float32"))
    assert float(exact.result()) == pytest.approx(1.0)  # the wrong step is weighted 0
    exact.reset_state()
    exact.update_state(y_true, scores, sample_weight=np.array([0.0, 2.0]))
    assert float(exact.result()) == pytest.approx(1.0)  # the first row does not count


@pytest.mark.jax
def test_the_mask_counts_inside_compiled_evaluation():
    # Under `model.evaluate` the JAX backend keeps the mask beside the tensor,
    # not on it: read through public Keras, the mask still counts.
    tokens = np.array([[3, 4, 0, 0], [5, 6, 7, 8]], "int32")
    y_true = np.array([[1, 2, 5, 5], [0, 1, 2, 3]], "int32")
    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(20, 5, mask_zero=True)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(6)(x))
    model.compile(loss=losses.SequenceLoss(), metrics=[losses.TokenAccuracy()])
    logits = keras.ops.convert_to_numpy(model(tokens)).astype("float64")
    valid = (tokens != 0).astype("float64")
    loss, accuracy = model.evaluate(tokens, y_true, batch_size=2, verbose=0)
    np.testing.assert_allclose(loss, _reference(y_true, logits, valid).mean(), rtol=1e-5)
    correct = logits.argmax(-1) == y_true
    assert accuracy == pytest.approx((correct * valid).sum() / valid.sum())

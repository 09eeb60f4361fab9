"""Masked per-step losses and mask-aware metrics for sequence outputs.

The total loss of one sequence is the sum over its steps of the per-step loss,
``L = sum_t L<t>(y_hat<t>, y<t>)``, where padded steps never count. A step is
padding when

- its label equals ``ignore_class`` (e.g. ``0``, the padding token id), or
- the prediction carries a Keras mask (propagated from an
  ``Embedding(mask_zero=True)`` or a ``Masking`` layer) that is False there
  (read through public Keras: ``zoo._masking``),
- or its ``sample_weight`` is zero (a ``(batch,)`` or ``(batch, steps)`` weight
  multiplies the per-step losses).

Reduction: the per-sequence sums are averaged over the batch
(``reduction="sum_over_batch_size"``, the default), summed
(``"sum"``) or returned per sequence (``None`` / ``"none"``). Summing over
steps (rather than averaging over valid tokens) is the textbook definition and
weighs a long sequence more than a short one; averaging over the batch keeps
the scale independent of the batch size.

Shapes: ``y_true`` is ``(batch, steps)`` integer class ids (``kind=
"sparse_categorical_crossentropy"``) or ``(batch, steps, output_dim)`` floats
(``kind="mean_squared_error"``); ``y_pred`` is ``(batch, steps, num_classes)``
logits (or probabilities with ``from_logits=False``) or
``(batch, steps, output_dim)``.
"""

import keras
from keras import ops

from zoo._masking import mask_weights

_KINDS = ("sparse_categorical_crossentropy", "mean_squared_error")
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)


def _step_weights(y_true, ignore_class, sample_weight, steps_shape, mask=None):
    """Return float32 weights of shape `steps_shape` (batch, steps): 0 on padding.

    `mask` is the prediction's mask as weights (``zoo._masking.mask_weights``)."""
    weights = ops.ones(steps_shape, dtype="float32")
    if ignore_class is not None:
        labels = y_true if len(y_true.shape) == 2 else y_true[..., 0]
        weights = weights * ops.cast(ops.not_equal(labels, ignore_class), "float32")
    if mask is not None:
        weights = weights * mask
    if sample_weight is not None:
        sw = ops.cast(ops.convert_to_tensor(sample_weight), "float32")
        if len(sw.shape) == 1:
            sw = ops.expand_dims(sw, 1)
        elif len(sw.shape) == 3:
            sw = ops.squeeze(sw, -1)
        weights = weights * sw
    return weights


@keras.saving.register_keras_serializable(package="zoo")
class SequenceLoss(keras.losses.Loss):
    """Masked per-step loss: the sum over valid steps, averaged over the batch.

    Args:
        kind: ``"sparse_categorical_crossentropy"`` (integer labels, one
            distribution per step) or ``"mean_squared_error"`` (regression
            per step, the squared error summed over the output features).
        from_logits: whether `y_pred` holds logits (categorical kind only).
        ignore_class: label id marking padding (e.g. ``0``), or None.
        reduction: ``"sum_over_batch_size"`` (mean over sequences),
            ``"sum"``, or ``None``/``"none"`` (one loss per sequence).
        name: the loss name.

    Call arguments:
        y_true: ``(batch, steps)`` int labels or ``(batch, steps, output_dim)``.
        y_pred: ``(batch, steps, num_classes)`` or ``(batch, steps, output_dim)``;
            its Keras mask, if any, marks the valid steps.
        sample_weight: optional ``(batch,)`` or ``(batch, steps)`` weights.

    Returns:
        A scalar (or ``(batch,)`` with no reduction).

    Example:
        >>> loss = SequenceLoss(ignore_class=0)
        >>> y_true = np.array([[3, 1, 0]])       # (1, 3), last step is padding
        >>> y_pred = np.zeros((1, 3, 5))          # uniform logits over 5 classes
        >>> float(loss(y_true, y_pred))           # 2 * log(5)
        3.2188...
    """

    def __init__(
        self,
        kind="sparse_categorical_crossentropy",
        from_logits=True,
        ignore_class=None,
        reduction="sum_over_batch_size",
        name="sequence_loss",
        dtype=None,
    ):
        if kind not in _KINDS:
            raise ValueError(f"`kind` must be one of {_KINDS}. Received: kind={kind!r}")
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"`reduction` must be one of {_REDUCTIONS}. Received: reduction={reduction!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.kind = kind
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self._reduce = _Reduction(reduction=reduction, name=name)

    def per_step(self, y_true, y_pred):
        """The unmasked per-step losses, shape ``(batch, steps)``."""
        y_pred = ops.cast(y_pred, "float32")
        if self.kind == "sparse_categorical_crossentropy":
            labels = ops.cast(y_true, "int32")
            if self.ignore_class is not None:
                # A padding label may lie outside [0, num_classes): clamp it;
                # its loss is masked out anyway.
                labels = ops.where(ops.equal(labels, self.ignore_class), 0, labels)
            return keras.losses.sparse_categorical_crossentropy(
                labels, y_pred, from_logits=self.from_logits
            )
        y_true = ops.cast(y_true, "float32")
        return ops.sum(ops.square(y_pred - y_true), axis=-1)

    def __call__(self, y_true, y_pred, sample_weight=None):
        mask = mask_weights(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        losses = self.per_step(y_true, y_pred)
        weights = _step_weights(y_true, self.ignore_class, sample_weight, ops.shape(losses), mask)
        per_sequence = ops.sum(losses * weights, axis=1)
        return self._reduce(per_sequence, per_sequence)

    def call(self, y_true, y_pred):
        return ops.sum(self.per_step(y_true, y_pred), axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(
            kind=self.kind, from_logits=self.from_logits, ignore_class=self.ignore_class
        )
        return config


class _Reduction(keras.losses.Loss):
    """Keras's own reduction of the per-sequence losses: the mean over the
    batch (scaled as Keras scales its losses under a ``tf.distribute``
    strategy with several replicas), the sum, or none."""

    def call(self, y_true, y_pred):
        return y_pred


def _sequence_weights(y_true, y_pred, ignore_class, sample_weight):
    """`sample_weight` with `ignore_class` folded in, per step ``(batch, steps)``
    when `y_pred` is a sequence ``(batch, steps, classes)``; None if neither."""
    if ignore_class is None and sample_weight is None:
        return None
    y_true = ops.convert_to_tensor(y_true)
    if len(y_pred.shape) != 3:
        weights = ops.ones(ops.shape(y_true)[:1], "float32")
        if ignore_class is not None:
            labels = ops.reshape(y_true, (-1,))
            weights = ops.cast(ops.not_equal(labels, ignore_class), "float32")
        if sample_weight is not None:
            weights = weights * ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
        return weights
    return _step_weights(y_true, ignore_class, sample_weight, ops.shape(y_pred)[:2])


@keras.saving.register_keras_serializable(package="zoo")
class TokenAccuracy(keras.metrics.SparseCategoricalAccuracy):
    """Accuracy per valid token: ``keras.metrics.SparseCategoricalAccuracy``
    with padding left out.

    Padding (labels equal to `ignore_class`, steps masked out by the Keras mask
    of `y_pred`, or zero `sample_weight`) is left out of both the count of
    correct tokens and the count of tokens; other sample weights weigh the
    steps (a ``(batch,)`` weight weighs every step of its sequence). Keras
    applies the mask; this class folds `ignore_class` into the weights.

    Args:
        ignore_class: label id marking padding, or None.
        name: metric name (default ``"token_accuracy"``).
        dtype: the metric's dtype.

    Call arguments (``update_state``):
        y_true: ``(batch, steps)`` int labels (or ``(batch, steps, 1)``).
        y_pred: ``(batch, steps, num_classes)`` scores.
        sample_weight: optional ``(batch,)`` or ``(batch, steps)``.

    Returns:
        ``result()``: the fraction of correct valid tokens (0 with none).

    Example:
        >>> m = TokenAccuracy(ignore_class=0)
        >>> m.update_state([[2, 1, 0]], np.eye(3)[[[2, 2, 1]]])   # (1, 3) labels, (1, 3, 3)
        >>> float(m.result())                                    # 1 of 2 valid tokens
        0.5
    """

    def __init__(self, ignore_class=None, name="token_accuracy", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = ignore_class

    def update_state(self, y_true, y_pred, sample_weight=None):
        weights = _sequence_weights(y_true, y_pred, self.ignore_class, sample_weight)
        return super().update_state(y_true, y_pred, sample_weight=weights)

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}


@keras.saving.register_keras_serializable(package="zoo")
class SequenceExactMatch(keras.metrics.Mean):
    """Fraction of sequences whose every valid token is predicted exactly.

    A sequence counts as matched when all its non-padding steps are correct
    (padding as in ``TokenAccuracy``: `ignore_class` labels, steps masked by
    the Keras mask of `y_pred`, zero `sample_weight`); a sequence with no
    valid step does not count at all. `sample_weight` only marks padding
    (zero): its other values do not weigh the sequences. Keras has no
    sequence-level metric of this kind; the mean is ``keras.metrics.Mean``.

    Args:
        ignore_class: label id marking padding, or None.
        name: metric name (default ``"sequence_exact_match"``).
        dtype: the metric's dtype.

    Call arguments (``update_state``): as ``TokenAccuracy``.

    Returns:
        ``result()``: matched sequences / sequences with a valid step (0 with none).

    Example:
        >>> m = SequenceExactMatch(ignore_class=0)
        >>> m.update_state([[2, 1, 0], [1, 1, 1]],                 # (2, 3) labels
        ...                np.eye(3)[[[2, 1, 2], [1, 2, 1]]])      # (2, 3, 3) scores
        >>> float(m.result())                                       # the first row only
        0.5
    """

    def __init__(self, ignore_class=None, name="sequence_exact_match", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = ignore_class

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = mask_weights(y_pred)
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, -1)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        correct = ops.cast(ops.equal(predicted, y_true), "float32")
        weights = _step_weights(y_true, self.ignore_class, sample_weight, ops.shape(correct), mask)
        valid = ops.cast(ops.greater(weights, 0.0), "float32")
        errors = ops.sum((1.0 - correct) * valid, axis=1)
        has_steps = ops.cast(ops.greater(ops.sum(valid, axis=1), 0.0), "float32")
        matched = ops.cast(ops.equal(errors, 0.0), "float32") * has_steps
        return super().update_state(matched, sample_weight=has_steps)

    def get_config(self):
        return {**super().get_config(), "ignore_class": self.ignore_class}

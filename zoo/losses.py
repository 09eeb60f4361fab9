"""Masked per-step losses and mask-aware metrics for sequence outputs.

The total loss of one sequence is the sum over its steps of the per-step loss,
``L = sum_t L<t>(y_hat<t>, y<t>)``, where padded steps never count. A step is
padding when

- its label equals ``ignore_class`` (e.g. ``0``, the padding token id), or
- the prediction carries a Keras mask (``y_pred._keras_mask``, propagated from
  an ``Embedding(mask_zero=True)`` or a ``Masking`` layer) that is False there,
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

_KINDS = ("sparse_categorical_crossentropy", "mean_squared_error")
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None)


def _keras_mask(x):
    return getattr(x, "_keras_mask", None)


def _step_weights(y_true, y_pred, ignore_class, sample_weight, mask, steps_shape):
    """Return float32 weights of shape `steps_shape` (batch, steps): 0 on padding."""
    weights = ops.ones(steps_shape, dtype="float32")
    if ignore_class is not None:
        labels = y_true if len(y_true.shape) == 2 else y_true[..., 0]
        weights = weights * ops.cast(ops.not_equal(labels, ignore_class), "float32")
    if mask is not None:
        weights = weights * ops.cast(mask, "float32")
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
        mask = _keras_mask(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        losses = self.per_step(y_true, y_pred)
        weights = _step_weights(
            y_true, y_pred, self.ignore_class, sample_weight, mask, ops.shape(losses)
        )
        per_sequence = ops.sum(losses * weights, axis=1)
        if self.reduction == "sum_over_batch_size":
            return ops.mean(per_sequence)
        if self.reduction == "sum":
            return ops.sum(per_sequence)
        return per_sequence

    def call(self, y_true, y_pred):
        return ops.sum(self.per_step(y_true, y_pred), axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(
            kind=self.kind, from_logits=self.from_logits, ignore_class=self.ignore_class
        )
        return config


class _MaskedMean(keras.metrics.Metric):
    """Shared state for the mask-aware metrics: a weighted total and a count."""

    def __init__(self, ignore_class=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.ignore_class = ignore_class
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def result(self):
        return ops.divide_no_nan(self.total, self.count)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "ignore_class": self.ignore_class}

    def _correct_and_weights(self, y_true, y_pred, sample_weight):
        mask = _keras_mask(y_pred)
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_true.shape) == len(y_pred.shape):
            y_true = ops.squeeze(y_true, -1)
        predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
        correct = ops.cast(ops.equal(predicted, y_true), "float32")
        weights = _step_weights(
            y_true, y_pred, self.ignore_class, sample_weight, mask, ops.shape(correct)
        )
        return correct, weights


@keras.saving.register_keras_serializable(package="zoo")
class TokenAccuracy(_MaskedMean):
    """Accuracy per valid token: argmax predictions equal to the labels.

    Padding (labels equal to `ignore_class`, steps masked out by the Keras mask
    of `y_pred`, or zero `sample_weight`) is left out of both the count of
    correct tokens and the count of tokens.

    Args:
        ignore_class: label id marking padding, or None.
        name: metric name (default ``"token_accuracy"``).

    Call arguments (``update_state``):
        y_true: ``(batch, steps)`` int labels.
        y_pred: ``(batch, steps, num_classes)`` scores.
        sample_weight: optional ``(batch,)`` or ``(batch, steps)``.

    Example:
        >>> m = TokenAccuracy(ignore_class=0)
        >>> m.update_state([[2, 1, 0]], np.eye(3)[[[2, 2, 1]]])   # 1 of 2 valid
        >>> float(m.result())
        0.5
    """

    def __init__(self, ignore_class=None, name="token_accuracy", dtype=None):
        super().__init__(ignore_class=ignore_class, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        correct, weights = self._correct_and_weights(y_true, y_pred, sample_weight)
        self.total.assign_add(ops.cast(ops.sum(correct * weights), self.dtype))
        self.count.assign_add(ops.cast(ops.sum(weights), self.dtype))


@keras.saving.register_keras_serializable(package="zoo")
class SequenceExactMatch(_MaskedMean):
    """Fraction of sequences whose every valid token is predicted exactly.

    A sequence counts as matched when all its non-padding steps are correct
    (padding as in ``TokenAccuracy``); a sequence with no valid step does not
    count at all.

    Args:
        ignore_class: label id marking padding, or None.
        name: metric name (default ``"sequence_exact_match"``).

    Call arguments (``update_state``): as ``TokenAccuracy``.

    Example:
        >>> m = SequenceExactMatch(ignore_class=0)
        >>> m.update_state([[2, 1, 0], [1, 1, 1]], np.eye(3)[[[2, 1, 2], [1, 2, 1]]])
        >>> float(m.result())
        0.5
    """

    def __init__(self, ignore_class=None, name="sequence_exact_match", dtype=None):
        super().__init__(ignore_class=ignore_class, name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        correct, weights = self._correct_and_weights(y_true, y_pred, sample_weight)
        valid = ops.cast(ops.greater(weights, 0.0), "float32")
        errors = ops.sum((1.0 - correct) * valid, axis=1)
        has_steps = ops.cast(ops.greater(ops.sum(valid, axis=1), 0.0), "float32")
        matched = ops.cast(ops.equal(errors, 0.0), "float32") * has_steps
        self.total.assign_add(ops.cast(ops.sum(matched), self.dtype))
        self.count.assign_add(ops.cast(ops.sum(has_steps), self.dtype))

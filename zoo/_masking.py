"""The Keras mask of a prediction, as per-step weights, through public Keras.

Keras 3 attaches the mask of a layer's output to the tensor (propagated from
``Embedding(mask_zero=True)`` or ``Masking``) and its losses and metrics skip
the masked steps. Keras 3.15 exports no getter for that mask: the reader is
``keras.src.backend.get_keras_mask`` (private; ``keras.backend`` does not
export it, https://github.com/keras-team/keras/blob/master/keras/src/backend/common/masking.py),
and the attribute ``_keras_mask`` is not where it lives on every backend
(JAX arrays keep it in a side table). What is public is that every
``keras.losses.Loss`` applies the mask of its ``y_pred``
(https://keras.io/guides/understanding_masking_and_padding/): so a loss of
ones with no reduction returns the mask as weights. When ``keras.backend``
exports ``get_keras_mask`` (tests/test_masking.py says so), it is used
directly and this module can go.
"""

import keras
from keras import ops

PUBLIC_GETTER = getattr(keras.backend, "get_keras_mask", None)


class _MaskAsWeights(keras.losses.Loss):
    """Ones per step; ``Loss.__call__`` multiplies them by the mask of `y_pred`."""

    def __init__(self):
        super().__init__(name="mask_as_weights", reduction=None, dtype="float32")

    def call(self, y_true, y_pred):
        return ops.ones(ops.shape(y_pred)[:2], dtype="float32")


_PROBE = _MaskAsWeights()


def mask_weights(y_pred):
    """The Keras mask of ``y_pred`` (batch, steps, ...) as float32 weights
    ``(batch, steps)``: 1 at valid steps, 0 at masked ones, all ones when
    ``y_pred`` carries no mask."""
    if PUBLIC_GETTER is not None:  # pragma: no cover - a Keras that exports the getter
        mask = PUBLIC_GETTER(y_pred)
        shape = ops.shape(y_pred)[:2]
        return ops.ones(shape, "float32") if mask is None else ops.cast(mask, "float32")
    return _PROBE(y_pred, y_pred)

"""Attention over encoder outputs for the recurrent decoder.

Two scores, both normalised with a masked softmax over the source steps:

- ``BahdanauAttention`` (additive): ``e_ts = v^T tanh(W_q q_t + W_k h_s)``;
- ``LuongAttention`` ("general" multiplicative): ``e_ts = q_t^T W h_s``.

The keys (``W_k h_s`` or ``W h_s``) depend only on the encoder outputs, so they
are computed once per source with ``keys(memory)`` and reused at every decoder
step: ``attend(query, keys, memory, memory_mask)``.
"""

import keras
from keras import ops

_NEG = -1e9


def _masked_softmax(scores, memory_mask):
    # scores: (batch, query_steps, source_steps); memory_mask: (batch, source_steps)
    if memory_mask is not None:
        mask = ops.expand_dims(ops.cast(memory_mask, "bool"), 1)
        scores = ops.where(mask, scores, ops.full_like(scores, _NEG))
    return ops.softmax(scores, axis=-1)


class _Attention(keras.layers.Layer):
    """Shared plumbing: `units`, config, and the weighted sum of values."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units!r}")
        self.units = units

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config

    def call(self, query, memory, memory_mask=None):
        """Attend from ``query`` (batch, query_steps, q) over ``memory``
        (batch, source_steps, m). Returns ``(context, weights)`` with shapes
        ``(batch, query_steps, m)`` and ``(batch, query_steps, source_steps)``."""
        return self.attend(query, self.keys(memory), memory, memory_mask)

    def attend(self, query, keys, memory, memory_mask=None):
        weights = _masked_softmax(self.score(query, keys), memory_mask)
        return ops.matmul(weights, memory), weights

    def compute_output_shape(self, query_shape, memory_shape, memory_mask_shape=None):
        return (
            (query_shape[0], query_shape[1], memory_shape[-1]),
            (query_shape[0], query_shape[1], memory_shape[1]),
        )


@keras.saving.register_keras_serializable(package="zoo")
class BahdanauAttention(_Attention):
    """Additive attention (Bahdanau et al., 2015).

    Args:
        units: width of the hidden scoring layer.

    Call arguments:
        query: ``(batch, query_steps, query_dim)``, the decoder state(s).
        memory: ``(batch, source_steps, memory_dim)``, the encoder outputs.
        memory_mask: optional ``(batch, source_steps)`` bool; False steps
            (source padding) get zero weight.

    Returns:
        ``(context, weights)``: ``(batch, query_steps, memory_dim)`` and
        ``(batch, query_steps, source_steps)``, weights summing to 1 over
        the valid source steps.

    Example:
        >>> att = BahdanauAttention(8)
        >>> ctx, w = att(np.ones((2, 1, 4)), np.ones((2, 5, 6)))
        >>> ctx.shape, w.shape   # (2, 1, 6), (2, 1, 5)
    """

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        self.query_dense = keras.layers.Dense(self.units, use_bias=False, name="query")
        self.key_dense = keras.layers.Dense(self.units, use_bias=True, name="key")
        self.score_dense = keras.layers.Dense(1, use_bias=False, name="score")
        self.query_dense.build(query_shape)
        self.key_dense.build(memory_shape)
        self.score_dense.build((None, None, None, self.units))
        self.built = True

    def keys(self, memory):
        return self.key_dense(memory)  # (batch, source_steps, units)

    def score(self, query, keys):
        q = ops.expand_dims(self.query_dense(query), 2)  # (b, tq, 1, u)
        k = ops.expand_dims(keys, 1)  # (b, 1, ts, u)
        return ops.squeeze(self.score_dense(ops.tanh(q + k)), -1)  # (b, tq, ts)


@keras.saving.register_keras_serializable(package="zoo")
class LuongAttention(_Attention):
    """Multiplicative ("general") attention (Luong et al., 2015).

    Args:
        units: the query width; the memory is projected to it.

    Call arguments / Returns: as ``BahdanauAttention``.

    Example:
        >>> att = LuongAttention(4)
        >>> ctx, w = att(np.ones((2, 3, 4)), np.ones((2, 5, 6)))
        >>> ctx.shape, w.shape   # (2, 3, 6), (2, 3, 5)
    """

    def build(self, query_shape, memory_shape, memory_mask_shape=None):
        self.key_dense = keras.layers.Dense(self.units, use_bias=False, name="key")
        self.key_dense.build(memory_shape)
        self.built = True

    def keys(self, memory):
        return self.key_dense(memory)

    def score(self, query, keys):
        return ops.matmul(query, ops.transpose(keys, (0, 2, 1)))  # (b, tq, ts)


def make_attention(kind, units):
    if kind == "bahdanau":
        return BahdanauAttention(units, name="attention")
    return LuongAttention(units, name="attention")

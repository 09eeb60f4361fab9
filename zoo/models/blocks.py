"""Shared building blocks of the model factories: input and output blocks,
and the (bidirectional, deep, residual) recurrent stack. The arguments are
checked before they get here (``zoo.models._builder``).

Everything here wires ``zoo.layers`` / ``zoo.cells`` and public Keras layers;
no maths lives here. Shapes are ``(batch, timesteps, features)``.
"""

import keras

from zoo import cells, layers
from zoo.models.transition import DeepTransitionCell

CELLS = ("simple", "gru", "lstm")
MERGE_MODES = ("concat", "sum", "mul", "ave")
ATTENTIONS = (None, "bahdanau", "luong")


# --------------------------------------------------------------------------- layers
def make_cell(cell, units, name=None, transition_block=()):
    """A zoo cell of kind `cell` ("simple" | "gru" | "lstm"), wrapped in a
    ``DeepTransitionCell`` when `transition_block` is not empty."""
    cls = {"simple": cells.SimpleRNNCell, "gru": cells.GRUCell, "lstm": cells.LSTMCell}[cell]
    if not transition_block:
        return cls(units, name=name)
    return DeepTransitionCell(cls(units), transition_block, name=name)


def make_rnn(cell, units, *, return_sequences, return_state=False, transition_block=(),
             name=None):
    """A zoo recurrent layer: ``SimpleRNN`` / ``GRU`` / ``LSTM``, or ``RNN`` over
    a ``DeepTransitionCell`` when `transition_block` is not empty."""
    if transition_block:
        return layers.RNN(
            make_cell(cell, units, transition_block=transition_block),
            return_sequences=return_sequences,
            return_state=return_state,
            name=name,
        )
    cls = {"simple": layers.SimpleRNN, "gru": layers.GRU, "lstm": layers.LSTM}[cell]
    return cls(units, return_sequences=return_sequences, return_state=return_state, name=name)


def num_states(cell):
    """How many state tensors a cell of kind `cell` carries (LSTM: h and c)."""
    return 2 if cell == "lstm" else 1


def dense_block(x, sizes, *, activation="relu", dropout=0.0, prefix):
    """A stack of Dense layers (applied per step on 3D inputs, mask kept)."""
    for i, size in enumerate(sizes):
        x = keras.layers.Dense(size, activation=activation, name=f"{prefix}_dense_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"{prefix}_dropout_{i}")(x)
    return x


def sequence_input(*, vocab_size, embedding_dim, input_dim, mask_value):
    """The named sequence input and its masked embedding.

    Returns ``(input_tensor, x)``: ``"tokens"`` ``(batch, timesteps)`` int ids,
    0 = padding, embedded by ``Embedding(mask_zero=True)``; or ``"features"``
    ``(batch, timesteps, input_dim)`` floats masked where every feature equals
    `mask_value` (no masking when `mask_value` is None).
    """
    if vocab_size is not None:
        inputs = keras.Input(shape=(None,), dtype="int32", name="tokens")
        x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")(
            inputs
        )
        return inputs, x
    inputs = keras.Input(shape=(None, input_dim), dtype="float32", name="features")
    x = inputs
    if mask_value is not None:
        x = keras.layers.Masking(mask_value=float(mask_value), name="masking")(x)
    return inputs, x


def output_head(x, *, num_classes, output_dim, prefix="output"):
    """Final projection: `num_classes` logits or `output_dim` linear values."""
    if num_classes is not None:
        return keras.layers.Dense(num_classes, name=f"{prefix}_logits")(x)
    return keras.layers.Dense(output_dim, name=f"{prefix}_values")(x)


def recurrent_stack(
    x,
    *,
    cell,
    units,
    num_layers,
    bidirectional,
    merge_mode,
    dropout,
    residual,
    return_sequences,
    return_state=False,
    transition_block=(),
    prefix="rnn",
):
    """Stack `num_layers` zoo recurrent layers over ``x`` (batch, timesteps, features).

    - ``bidirectional``: each layer is ``keras.layers.Bidirectional`` over a zoo
      layer, outputs merged per step with `merge_mode`.
    - ``dropout``: ``Dropout`` between stacked layers (not after the last).
    - ``residual``: ``x + layer(x)`` wherever input and output widths match
      (every layer but possibly the first).
    - ``transition_block``: a deep transition a<t-1> -> a<t> in every layer
      (``DeepTransitionCell``).
    - the mask of ``x`` flows through every layer; padded steps neither
      change the states nor count in the last step.

    Returns the top output (``(batch, timesteps, width)`` with
    `return_sequences`, else ``(batch, width)``), and with `return_state` also
    the list of per-layer final states: ``[[h, (c)], ...]`` for a forward stack,
    ``[[h_fw, (c_fw), h_bw, (c_bw)], ...]`` when bidirectional.
    """
    states = []
    for i in range(num_layers):
        last = i == num_layers - 1
        seq = return_sequences or not last
        layer = make_rnn(
            cell,
            units,
            return_sequences=seq,
            return_state=return_state,
            transition_block=transition_block,
            name=None if bidirectional else f"{prefix}_{i}",
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(
                layer, merge_mode=merge_mode, name=f"{prefix}_{i}"
            )
        out = layer(x)
        if return_state:
            out, layer_states = out[0], list(out[1:])
            states.append(layer_states)
        if residual and seq and x.shape[-1] == out.shape[-1]:
            out = keras.layers.Add(name=f"{prefix}_{i}_residual")([x, out])
        if dropout and not last:
            out = keras.layers.Dropout(dropout, name=f"{prefix}_{i}_dropout")(out)
        x = out
    if return_state:
        return x, states
    return x


def stack_and_head(x, *, dropout, output_block, num_classes, output_dim, **stack):
    """The top of the one-to-one, many-to-one and many-to-many graphs: the
    recurrent stack over ``x`` (batch, timesteps, features; `stack` are the
    ``recurrent_stack`` arguments), dropout, the output block and the head:
    ``(batch, [timesteps,] num_classes | output_dim)``; the mask of ``x``
    flows through."""
    x = recurrent_stack(x, dropout=dropout, **stack)
    if dropout:
        x = keras.layers.Dropout(dropout, name="top_dropout")(x)
    x = dense_block(x, output_block, dropout=dropout, prefix="output")
    return output_head(x, num_classes=num_classes, output_dim=output_dim)

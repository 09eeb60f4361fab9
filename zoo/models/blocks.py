"""Shared building blocks of the model factories: input and output blocks,
and the (bidirectional, deep, residual) recurrent stack. The arguments are
checked before they get here (``zoo.models._builder``).

Everything here wires ``zoo.layers`` / ``zoo.cells`` and public Keras layers;
no maths lives here. Shapes are ``(batch, timesteps, features)``.
"""

import keras

from zoo import cells, layers
from zoo._cell_names import CELLS, GATED_CELLS
from zoo.layers.chrono import check_chrono_init
from zoo.models.transition import DeepTransitionCell

__all__ = ["CELLS", "GATED_CELLS"]  # re-exported: the factories' names for cell=
MERGE_MODES = ("concat", "sum", "mul", "ave")
ATTENTIONS = (None, "bahdanau", "luong")

# cell kind -> (cell class name in zoo.cells, layer class name in zoo.layers)
_CLASSES = {
    "simple": ("SimpleRNNCell", "SimpleRNN"),
    "gru": ("GRUCell", "GRU"),
    "lstm": ("LSTMCell", "LSTM"),
    "indrnn": ("IndRNNCell", "IndRNN"),
    "mingru": ("MinGRUCell", "MinGRU"),
    "minlstm": ("MinLSTMCell", "MinLSTM"),
    "lnlstm": ("LayerNormLSTMCell", "LayerNormLSTM"),
}


# --------------------------------------------------------------------------- checks
def check_cell_arguments(cell, chrono_init, cell_options):
    """Check ``chrono_init`` (None, or an int >= 3, for a gated `cell` only) and
    ``cell_options`` (None or a dict with string keys); returns them (the
    options as a dict). The cell constructor checks the options' values."""
    chrono_init = check_chrono_init(chrono_init)
    if chrono_init is not None and cell not in GATED_CELLS:
        raise ValueError(
            f"`chrono_init` initialises the bias of a gate that keeps the state; cell={cell!r} "
            f"has none. Use one of {list(GATED_CELLS)}, or chrono_init=None. "
            f"Received: cell={cell!r}, chrono_init={chrono_init!r}")
    if cell_options is None:
        return chrono_init, {}
    if not isinstance(cell_options, dict) or not all(isinstance(k, str) for k in cell_options):
        raise ValueError(
            "`cell_options` must be a dict of the recurrent layer's keyword arguments "
            f"(e.g. {{'max_length': 1000}}). Received: cell_options={cell_options!r}")
    reserved = {"units", "return_sequences", "return_state", "name", "chrono_init"}
    clash = sorted(reserved & set(cell_options))
    if clash:
        raise ValueError(
            f"`cell_options` may not set {clash}: the factory sets them (chrono_init is an "
            f"argument of its own). Received: cell_options={cell_options!r}")
    return chrono_init, dict(cell_options)


# --------------------------------------------------------------------------- layers
def cell_arguments(cell, chrono_init=None, cell_options=None):
    """The constructor keyword arguments of a zoo cell/layer of kind `cell`:
    `cell_options` (a dict of the cell's own arguments, e.g. IndRNN's
    ``max_length``) and ``chrono_init`` for the gated cells. Checked in
    ``zoo.models._builder``."""
    kwargs = dict(cell_options or {})
    if chrono_init is not None:
        kwargs["chrono_init"] = chrono_init
    return kwargs


def _construct(cls, cell, units, kwargs, **layer_kwargs):
    try:
        return cls(units, **kwargs, **layer_kwargs)
    except (TypeError, ValueError) as error:
        if "keyword argument" not in str(error):
            raise
        raise ValueError(
            f"`cell_options` holds an argument that cell={cell!r} ({cls.__name__}) does not "
            f"take: {error}. Received: cell_options={kwargs!r}") from None


def make_cell(cell, units, name=None, transition_block=(), chrono_init=None,
              cell_options=None):
    """A zoo cell of kind `cell` (one of ``CELLS``), wrapped in a
    ``DeepTransitionCell`` when `transition_block` is not empty."""
    cls = getattr(cells, _CLASSES[cell][0])
    kwargs = cell_arguments(cell, chrono_init, cell_options)
    if not transition_block:
        return _construct(cls, cell, units, kwargs, name=name)
    return DeepTransitionCell(_construct(cls, cell, units, kwargs), transition_block, name=name)


def make_rnn(cell, units, *, return_sequences, return_state=False, transition_block=(),
             chrono_init=None, cell_options=None, name=None):
    """A zoo recurrent layer of kind `cell` (``SimpleRNN``, ``GRU``, ``LSTM``,
    ``IndRNN``, ``MinGRU``, ``MinLSTM``, ``LayerNormLSTM``), or ``RNN`` over a
    ``DeepTransitionCell`` when `transition_block` is not empty."""
    if transition_block:
        return layers.RNN(
            make_cell(cell, units, transition_block=transition_block, chrono_init=chrono_init,
                      cell_options=cell_options),
            return_sequences=return_sequences,
            return_state=return_state,
            name=name,
        )
    cls = getattr(layers, _CLASSES[cell][1])
    return _construct(cls, cell, units, cell_arguments(cell, chrono_init, cell_options),
                      return_sequences=return_sequences, return_state=return_state, name=name)


def num_states(cell):
    """How many state tensors a cell of kind `cell` carries (the LSTMs: h and c)."""
    return 2 if cell in ("lstm", "lnlstm") else 1


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
    chrono_init=None,
    cell_options=None,
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
    - ``chrono_init``, ``cell_options``: passed to every layer's cell
      (``cell_arguments``).
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
            chrono_init=chrono_init,
            cell_options=cell_options,
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

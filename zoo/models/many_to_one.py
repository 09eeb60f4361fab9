"""many-to-one: a sequence in, one label or value out (sentiment, speech command)."""

from zoo.models import blocks
from zoo.models._builder import HEADS, INPUTS, build
from zoo.models.registry import Example, register_model

EXAMPLE = Example(kwargs={"vocab_size": 20, "embedding_dim": 6, "num_classes": 3},
                  inputs={"tokens": ("tokens", 20)}, output=(3,))


def sequence_graph(*, vocab_size, embedding_dim, input_dim, mask_value, input_block, dropout,
                   **arguments):
    """The functional graph of the many-to-one and many-to-many (Tx = Ty)
    models: masked sequence input, input block, recurrent stack, head."""
    inputs, x = blocks.sequence_input(
        vocab_size=vocab_size, embedding_dim=embedding_dim, input_dim=input_dim,
        mask_value=mask_value
    )
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    return {inputs.name: inputs}, blocks.stack_and_head(x, dropout=dropout, **arguments)


def _graph(**arguments):
    return sequence_graph(return_sequences=False, **arguments)


@register_model(example=EXAMPLE)
def many_to_one(
    *,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    dropout=0.0,
    residual=False,
    input_block=(),
    transition_block=(),
    output_block=(),
    chrono_init=None,
    cell_options=None,
    vocab_size=None,
    embedding_dim=32,
    input_dim=None,
    mask_value=None,
    num_classes=None,
    output_dim=None,
):
    """Many-to-one RNN: reads a whole sequence, predicts one label or value.

    Inputs (pass exactly one of `vocab_size` / `input_dim`):
        ``"tokens"``: ``(batch, timesteps)`` int32 ids, 0 = padding (masked).
        ``"features"``: ``(batch, timesteps, input_dim)`` float32; with
        `mask_value` set, steps whose features all equal it are padding.

    Output: ``(batch, num_classes)`` logits or ``(batch, output_dim)`` values,
    read from the last valid (unpadded) step of the top layer; bidirectional,
    the backward half is read after it has gone back to the first step.

    Args:
        cell: ``"simple" | "gru" | "lstm" | "indrnn" | "mingru" | "minlstm" |
            "lnlstm"`` (``zoo.layers`` SimpleRNN, GRU, LSTM, IndRNN, MinGRU,
            MinLSTM, LayerNormLSTM).
        units: state size of each recurrent layer.
        num_layers: stacked recurrent layers (>= 1).
        bidirectional: each layer reads forward and backward, merged with
            `merge_mode` (``"concat" | "sum" | "mul" | "ave"``).
        dropout: dropout between stacked layers and in the deep blocks.
        residual: residual connections between stacked layers of equal width.
        input_block: sizes of ReLU Dense layers applied per step before the
            recurrence (deep input transformation x -> a).
        transition_block: sizes of tanh Dense layers inside every recurrent
            step (deep transition a<t-1> -> a<t>, see ``DeepTransitionCell``);
            empty: the plain cell.
        output_block: sizes of ReLU Dense layers before the output (a -> y).
        chrono_init: for the gated cells, the longest dependency expected
            (steps): the chrono initialisation of the gate biases (Tallec &
            Ollivier 2018; see ``zoo.layers.chrono``). None: the cell's own.
        cell_options: a dict of further arguments of every recurrent layer
            (e.g. ``{"max_length": 1000}`` for IndRNN's recurrent-weight
            bound, ``{"activation": "tanh"}``).
        vocab_size, embedding_dim: token input and its embedding size.
        input_dim, mask_value: float feature input and its padding value.
        num_classes / output_dim: classification logits or regression values.

    Example:
        >>> model = zoo.create_model("many_to_one", vocab_size=100, num_classes=2)
        >>> model({"tokens": np.array([[5, 7, 9, 0]])}).shape   # (1, 2)
    """
    return build("many_to_one", _graph, locals(), one_of=(INPUTS, HEADS))

"""one-to-one: a single input, a single output (the traditional network), run
as a recurrent network over one time step."""

import keras

from zoo.models import blocks
from zoo.models._builder import HEADS, INPUTS, build
from zoo.models.registry import Example, register_model

EXAMPLE = Example(kwargs={"input_dim": 3, "num_classes": 3}, inputs={"features": ("vector", 3)},
                  output=(3,))


@register_model(example=EXAMPLE)
def one_to_one(
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
    num_classes=None,
    output_dim=None,
):
    """One-to-one RNN: one input vector (or token), one output, T = 1.

    The input is treated as a sequence of one step (``Tx = Ty = 1``) from the
    zero state, so the recurrent weights see no history; deep input/output
    blocks and stacked layers make it a plain deep network.

    Inputs (pass exactly one of `vocab_size` / `input_dim`):
        ``"tokens"``: ``(batch,)`` int32 ids.
        ``"features"``: ``(batch, input_dim)`` float32.

    Output: ``(batch, num_classes)`` logits or ``(batch, output_dim)`` values.

    Args: as ``many_to_one`` (no masking: there is no padding in one step).

    Example:
        >>> model = zoo.create_model("one_to_one", input_dim=4, num_classes=3)
        >>> model({"features": np.zeros((8, 4))}).shape   # (8, 3)
    """
    return build("one_to_one", _graph, locals(), one_of=(INPUTS, HEADS))


# --- functional graph
def _graph(*, vocab_size, embedding_dim, input_dim, input_block, dropout, **arguments):
    if vocab_size is not None:
        inputs = keras.Input(shape=(), dtype="int32", name="tokens")
        x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    else:
        inputs = keras.Input(shape=(input_dim,), dtype="float32", name="features")
        x = inputs
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    x = keras.layers.Reshape((1, x.shape[-1]), name="one_step")(x)
    return {inputs.name: inputs}, blocks.stack_and_head(x, dropout=dropout,
                                                        return_sequences=False, **arguments)

"""one-to-one: a single input, a single output (the traditional network), run
as a recurrent network over one time step."""

import keras

from zoo.models import blocks
from zoo.models.registry import register_model


@register_model
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
    blocks.check_recurrent_args(
        cell=cell,
        units=units,
        num_layers=num_layers,
        merge_mode=merge_mode,
        dropout=dropout,
        bidirectional=bidirectional,
    )
    input_block = blocks.check_sizes("input_block", input_block)
    transition_block = blocks.check_sizes("transition_block", transition_block)
    output_block = blocks.check_sizes("output_block", output_block)
    which = blocks.check_exactly_one([("vocab_size", vocab_size), ("input_dim", input_dim)])
    blocks.check_exactly_one([("num_classes", num_classes), ("output_dim", output_dim)])

    # --- functional graph
    if which == "vocab_size":
        blocks.check_int("vocab_size", vocab_size, minimum=2)
        blocks.check_int("embedding_dim", embedding_dim)
        inputs = keras.Input(shape=(), dtype="int32", name="tokens")
        x = keras.layers.Embedding(vocab_size, embedding_dim, name="embedding")(inputs)
    else:
        blocks.check_int("input_dim", input_dim)
        inputs = keras.Input(shape=(input_dim,), dtype="float32", name="features")
        x = inputs
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    x = keras.layers.Reshape((1, x.shape[-1]), name="one_step")(x)
    x = blocks.recurrent_stack(
        x,
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        residual=residual,
        return_sequences=False,
        transition_block=transition_block,
    )
    if dropout:
        x = keras.layers.Dropout(dropout, name="top_dropout")(x)
    x = blocks.dense_block(x, output_block, dropout=dropout, prefix="output")
    outputs = blocks.output_head(x, num_classes=num_classes, output_dim=output_dim)
    return keras.Model({inputs.name: inputs}, outputs, name="one_to_one")

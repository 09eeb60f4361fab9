"""many-to-one: a sequence in, one label or value out (sentiment, speech command)."""

import keras

from zoo.models import blocks
from zoo.models.registry import register_model


def build_sequence_model(
    *,
    many_to_many,
    cell,
    units,
    num_layers,
    bidirectional,
    merge_mode,
    dropout,
    residual,
    input_block,
    transition_block,
    output_block,
    vocab_size,
    embedding_dim,
    input_dim,
    mask_value,
    num_classes,
    output_dim,
    name,
):
    """Shared builder of the many-to-one and many-to-many (Tx = Ty) models."""
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
    blocks.check_exactly_one([("num_classes", num_classes), ("output_dim", output_dim)])

    # --- functional graph
    inputs, x = blocks.sequence_input(
        vocab_size=vocab_size, embedding_dim=embedding_dim, input_dim=input_dim,
        mask_value=mask_value
    )
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    x = blocks.recurrent_stack(
        x,
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        residual=residual,
        return_sequences=many_to_many,
        transition_block=transition_block,
    )
    if dropout:
        x = keras.layers.Dropout(dropout, name="top_dropout")(x)
    x = blocks.dense_block(x, output_block, dropout=dropout, prefix="output")
    outputs = blocks.output_head(x, num_classes=num_classes, output_dim=output_dim)
    return keras.Model({inputs.name: inputs}, outputs, name=name)


@register_model
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
        cell: ``"simple" | "gru" | "lstm"``.
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
        vocab_size, embedding_dim: token input and its embedding size.
        input_dim, mask_value: float feature input and its padding value.
        num_classes / output_dim: classification logits or regression values.

    Example:
        >>> model = zoo.create_model("many_to_one", vocab_size=100, num_classes=2)
        >>> model({"tokens": np.array([[5, 7, 9, 0]])}).shape   # (1, 2)
    """
    return build_sequence_model(many_to_many=False, name="many_to_one", **locals())

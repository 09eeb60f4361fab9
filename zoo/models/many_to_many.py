"""many-to-many with Tx = Ty: a label (or value) for every step (tagging, frame-wise speech)."""

from zoo.models._builder import HEADS, INPUTS, build
from zoo.models.many_to_one import sequence_graph
from zoo.models.registry import Example, register_model

EXAMPLE = Example(kwargs={"input_dim": 3, "mask_value": 0.0, "num_classes": 4},
                  inputs={"features": ("features", 3)}, output=("steps", 4))


def _graph(**arguments):
    return sequence_graph(return_sequences=True, **arguments)


@register_model(example=EXAMPLE)
def many_to_many(
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
    """Many-to-many RNN (Tx = Ty): one output per input step.

    Inputs (pass exactly one of `vocab_size` / `input_dim`):
        ``"tokens"``: ``(batch, timesteps)`` int32 ids, 0 = padding (masked).
        ``"features"``: ``(batch, timesteps, input_dim)`` float32; with
        `mask_value` set, steps whose features all equal it are padding.

    Output: ``(batch, timesteps, num_classes)`` logits or
    ``(batch, timesteps, output_dim)`` values. The output carries the input's
    Keras mask, so Keras losses/metrics and ``zoo.losses`` skip padded steps;
    the outputs at padded steps are not meaningful.

    Args: as ``many_to_one`` (cell, units, num_layers, bidirectional,
    merge_mode, dropout, residual, input_block, transition_block, output_block, chrono_init,
    cell_options, vocab_size, embedding_dim, input_dim, mask_value, num_classes, output_dim).

    Example:
        >>> model = zoo.create_model("many_to_many", input_dim=3, num_classes=5,
        ...                          bidirectional=True, num_layers=2)
        >>> model({"features": np.zeros((2, 7, 3))}).shape   # (2, 7, 5)
    """
    return build("many_to_many", _graph, locals(), one_of=(INPUTS, HEADS))

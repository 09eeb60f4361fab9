"""one-to-many: one input (a conditioning vector or id), a generated sequence
(music generation). Trained with teacher forcing; at inference the chosen
token y_hat<t-1> is fed back as x<t> inside the graph (``zoo.decoding.generate``)."""

import keras

from zoo.models import blocks
from zoo.models._builder import CONDITIONS, build
from zoo.models.decoder import RecurrentDecoder
from zoo.models.registry import Example, register_model

EXAMPLE = Example(
    kwargs={"input_dim": 3, "vocab_size": 9, "embedding_dim": 6, "end_token": 3, "max_length": 6},
    inputs={"condition": ("vector", 3), "target_in": ("target_in", 9)},
    output=("steps", 9),
    bidirectional=False,
)


@register_model(example=EXAMPLE)
def one_to_many(
    *,
    vocab_size=None,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    residual=False,
    input_block=(),
    transition_block=(),
    output_block=(),
    chrono_init=None,
    cell_options=None,
    input_dim=None,
    num_conditions=None,
    embedding_dim=32,
    start_token=2,
    end_token=None,
    max_length=32,
):
    """One-to-many RNN: a conditioning input, a sequence of tokens out.

    The condition sets every layer's initial state (``tanh(Dense(condition))``,
    one projection per state tensor); the decoder then reads the previous
    token at each step (teacher forcing in training).

    Inputs:
        ``"condition"``: ``(batch, input_dim)`` float32 (with `input_dim`), or
            ``(batch,)`` int32 ids in ``[0, num_conditions)`` (with
            `num_conditions`); pass exactly one of the two.
        ``"target_in"``: ``(batch, steps)`` int32, the previous tokens:
            `start_token` then the target shifted right; 0 = padding.

    Output: ``(batch, steps, vocab_size)`` logits for the next tokens, masked
    where ``target_in == 0``. Train against ``target_out`` (the target,
    0-padded) with ``zoo.losses.SequenceLoss(ignore_class=0)``.

    Generation: ``zoo.decoding.generate(model, condition, max_length=...,
    temperature=..., top_k=..., seed=...)``.

    Args:
        vocab_size: output token vocabulary (ids 0 = padding, `start_token`,
            `end_token` included).
        cell, units, num_layers, dropout, residual, output_block, chrono_init,
            cell_options: as ``many_to_one`` (the decoder's dropout acts on embeddings and top
            features; residual between stacked cells).
        bidirectional: must stay False (generation is step by step).
        input_block: ReLU Dense sizes applied to the condition.
        transition_block: deep transition in every decoder cell (as
            ``many_to_one``).
        input_dim / num_conditions: float condition vector or condition id.
        embedding_dim: size of the token (and condition id) embeddings.
        start_token, end_token: distinct ids in ``[1, vocab_size)`` (default
            start 2, as in `zoo.data.pipelines`); with `end_token` None,
            generation always runs `max_length` steps.
        max_length: default number of generated steps.

    Example:
        >>> model = zoo.create_model("one_to_many", input_dim=4, vocab_size=30)
        >>> model({"condition": np.zeros((2, 4)),
        ...        "target_in": np.ones((2, 9), "int32")}).shape   # (2, 9, 30)
        >>> tokens, scores = zoo.decoding.generate(model, np.zeros((2, 4)), max_length=9)
    """
    return build("one_to_many", _graph, locals(), one_of=(CONDITIONS,),
                 step_by_step=("bidirectional", "the model"))


# --- functional graph
def _graph(*, cell, units, num_layers, dropout, input_block, input_dim, num_conditions,
           embedding_dim, **decoder_arguments):
    decoder = RecurrentDecoder(cell=cell, units=units, num_layers=num_layers,
                               embedding_dim=embedding_dim, dropout=dropout, name="decoder",
                               **decoder_arguments)
    if input_dim is not None:
        condition = keras.Input(shape=(input_dim,), dtype="float32", name="condition")
        x = condition
    else:
        condition = keras.Input(shape=(), dtype="int32", name="condition")
        x = keras.layers.Embedding(num_conditions, embedding_dim, name="condition_embedding")(
            condition
        )
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    states = [
        keras.layers.Dense(units, activation="tanh", name=f"initial_state_{i}_{j}")(x)
        for i in range(num_layers)
        for j in range(blocks.num_states(cell))
    ]
    return {"condition": condition, "target_in": target_in}, decoder([target_in, *states])

"""many-to-many with Tx != Ty: an encoder reads the source, a decoder writes
the target (machine translation), with optional Bahdanau or Luong attention."""

import keras

from zoo.models import blocks
from zoo.models._builder import build
from zoo.models.decoder import RecurrentDecoder
from zoo.models.registry import Example, register_model

EXAMPLE = Example(
    kwargs={"source_vocab_size": 12, "target_vocab_size": 9, "embedding_dim": 6,
            "attention": "luong", "max_output_length": 6},
    inputs={"source": ("tokens", 12), "target_in": ("target_in", 9)},
    output=("steps", 9),
)


def _bridge(layer_states, cell, units, layer_index):
    """Bidirectional encoder states [fw..., bw...] -> decoder states: per state,
    ``Dense([fw; bw])`` (tanh for h, linear for the LSTM cell state c)."""
    k = blocks.num_states(cell)
    out = []
    for j in range(k):
        both = keras.layers.Concatenate(name=f"bridge_{layer_index}_{j}_concat")(
            [layer_states[j], layer_states[k + j]]
        )
        activation = "tanh" if j == 0 else None
        out.append(
            keras.layers.Dense(units, activation=activation, name=f"bridge_{layer_index}_{j}")(both)
        )
    return out


@register_model(example=EXAMPLE)
def encoder_decoder(
    *,
    source_vocab_size=None,
    target_vocab_size=None,
    cell="lstm",
    units=64,
    num_layers=1,
    bidirectional=False,
    merge_mode="concat",
    decoder_bidirectional=False,
    dropout=0.0,
    residual=False,
    input_block=(),
    transition_block=(),
    output_block=(),
    chrono_init=None,
    cell_options=None,
    embedding_dim=32,
    attention=None,
    attention_units=None,
    start_token=2,
    end_token=3,
    max_output_length=20,
):
    """Encoder-decoder RNN (Tx != Ty), trained with teacher forcing.

    The encoder (`num_layers` zoo layers, bidirectional if asked) reads the
    source; its final states initialise the decoder layer by layer (through a
    Dense bridge when bidirectional). With `attention`, each decoder step also
    attends over the encoder outputs (source padding is never attended to).

    Inputs:
        ``"source"``: ``(batch, source_steps)`` int32 ids, 0 = padding (masked).
        ``"target_in"``: ``(batch, target_steps)`` int32, `start_token` then
            the target shifted right, 0 = padding.

    Output: ``(batch, target_steps, target_vocab_size)`` logits, masked where
    ``target_in == 0``; train against ``target_out`` (target + `end_token`,
    0-padded) with ``zoo.losses.SequenceLoss(ignore_class=0)`` and metrics
    ``TokenAccuracy(ignore_class=0)``, ``SequenceExactMatch(ignore_class=0)``.

    Inference: ``zoo.decoding.translate(model, source, beam_width=...,
    alpha=..., temperature=..., top_k=..., seed=...)``.

    Args:
        source_vocab_size, target_vocab_size: vocabularies (0 = padding).
        cell, units, num_layers, dropout, residual, input_block,
        transition_block, output_block, chrono_init, cell_options: as
            ``many_to_one`` (input_block on
            source embeddings, transition_block in encoder and decoder cells,
            output_block before the target logits).
        bidirectional, merge_mode: a bidirectional encoder.
        decoder_bidirectional: must stay False (the decoder generates step
            by step).
        embedding_dim: source and target embedding size.
        attention: ``None | "bahdanau" | "luong"``; attention_units its width.
        start_token, end_token: distinct target ids in ``[1, target_vocab_size)``
            that start / end a sequence (default 2 and 3, the ids of
            `zoo.data.pipelines`).
        max_output_length: default decoding length.

    Example:
        >>> model = zoo.create_model("encoder_decoder", source_vocab_size=40,
        ...                          target_vocab_size=30, attention="luong")
        >>> model({"source": np.ones((2, 11), "int32"),
        ...        "target_in": np.ones((2, 7), "int32")}).shape   # (2, 7, 30)
        >>> tokens, scores = zoo.decoding.translate(model, np.ones((2, 11), "int32"),
        ...                                         beam_width=4)
    """
    return build("encoder_decoder", _graph, locals(),
                 step_by_step=("decoder_bidirectional", "the decoder"))


# --- functional graph
def _graph(*, source_vocab_size, target_vocab_size, cell, units, num_layers, bidirectional,
           merge_mode, dropout, residual, input_block, transition_block, embedding_dim,
           attention, max_output_length, chrono_init, cell_options, **decoder_arguments):
    decoder = RecurrentDecoder(cell=cell, units=units, num_layers=num_layers,
                               vocab_size=target_vocab_size, embedding_dim=embedding_dim,
                               attention=attention, residual=residual, dropout=dropout,
                               transition_block=transition_block, max_length=max_output_length,
                               chrono_init=chrono_init, cell_options=cell_options,
                               name="decoder", **decoder_arguments)
    source = keras.Input(shape=(None,), dtype="int32", name="source")
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    x = keras.layers.Embedding(
        source_vocab_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    x = blocks.dense_block(x, input_block, dropout=dropout, prefix="input")
    memory, layer_states = blocks.recurrent_stack(
        x,
        cell=cell,
        units=units,
        num_layers=num_layers,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        residual=residual,
        return_sequences=True,
        return_state=True,
        transition_block=transition_block,
        chrono_init=chrono_init,
        cell_options=cell_options,
        prefix="encoder",
    )
    states = []
    for i, st in enumerate(layer_states):
        states.extend(_bridge(st, cell, units, i) if bidirectional else st)
    decoder_inputs = [target_in, *states]
    if attention:
        decoder_inputs += [memory, source]
    logits = decoder(decoder_inputs)
    return {"source": source, "target_in": target_in}, logits

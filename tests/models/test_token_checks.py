"""The generative factories check their token ids and lengths when they are built.

A `start_token` or `end_token` outside the output vocabulary, or the two
equal, used to build a model whose generation failed (TensorFlow) or scored
NaN (JAX); `encoder_decoder(max_output_length=0)` was reported as
`max_length`. Each is now refused at construction, in the factory's own
argument names.
"""

import re

import numpy as np
import pytest

import zoo
from zoo import decoding
from zoo.models.decoder import RecurrentDecoder

pytestmark = pytest.mark.jax

ONE_TO_MANY = {"input_dim": 3, "vocab_size": 9, "units": 4, "embedding_dim": 4}
ENCODER_DECODER = {"source_vocab_size": 7, "target_vocab_size": 9, "units": 4,
                   "embedding_dim": 4}  # fmt: skip


def _id_message(name, value, vocabulary="vocab_size", size=9):
    return (
        f"`{name}` must be an integer id in [1, {size - 1}]: one of the {vocabulary}={size} "
        f"ids, 0 (padding) excluded. Received: {name}={value!r}"
    )


def _same_message(token):
    return (
        "`start_token` and `end_token` must be different ids: every generated sequence "
        f"would otherwise end as it starts. Received: start_token={token}, end_token={token}"
    )


def _int_message(name, value):
    return f"`{name}` must be an integer >= 1. Received: {name}={value!r}"


CASES = [
    ("one_to_many", ONE_TO_MANY, {"start_token": 9}, _id_message("start_token", 9)),
    ("one_to_many", ONE_TO_MANY, {"end_token": 12}, _id_message("end_token", 12)),
    ("one_to_many", ONE_TO_MANY, {"start_token": 0}, _id_message("start_token", 0)),
    ("one_to_many", ONE_TO_MANY, {"start_token": -1}, _id_message("start_token", -1)),
    ("one_to_many", ONE_TO_MANY, {"start_token": 2.0}, _id_message("start_token", 2.0)),
    ("one_to_many", ONE_TO_MANY, {"end_token": True}, _id_message("end_token", True)),
    ("one_to_many", ONE_TO_MANY, {"end_token": 2}, _same_message(2)),
    ("one_to_many", ONE_TO_MANY, {"max_length": 0}, _int_message("max_length", 0)),
    (
        "encoder_decoder", ENCODER_DECODER, {"start_token": 9},
        _id_message("start_token", 9, "target_vocab_size"),
    ),
    (
        "encoder_decoder", ENCODER_DECODER, {"end_token": 9},
        _id_message("end_token", 9, "target_vocab_size"),
    ),
    (
        # The source vocabulary is larger here; the ids are the target's.
        "encoder_decoder", dict(ENCODER_DECODER, source_vocab_size=50, target_vocab_size=5),
        {"end_token": 7}, _id_message("end_token", 7, "target_vocab_size", 5),
    ),
    ("encoder_decoder", ENCODER_DECODER, {"start_token": 3}, _same_message(3)),
    (
        "encoder_decoder", ENCODER_DECODER, {"max_output_length": 0},
        _int_message("max_output_length", 0),
    ),
    (
        "encoder_decoder", ENCODER_DECODER, {"max_output_length": None},
        _int_message("max_output_length", None),
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    "name, base, changes, message", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES]
)
def test_the_factory_refuses_bad_token_arguments(name, base, changes, message):
    with pytest.raises(ValueError) as error:
        zoo.create_model(name, **base, **changes)
    assert str(error.value) == message


def test_the_decoder_layer_checks_its_tokens_too():
    with pytest.raises(ValueError, match=re.escape(_id_message("end_token", 9))):
        RecurrentDecoder(units=4, vocab_size=9, embedding_dim=4, end_token=9)
    with pytest.raises(ValueError, match=re.escape(_same_message(2))):
        RecurrentDecoder(units=4, vocab_size=9, embedding_dim=4, end_token=2)


@pytest.mark.slow
def test_the_last_id_of_the_vocabulary_is_a_valid_token_and_generation_runs():
    model = zoo.create_model("one_to_many", **ONE_TO_MANY, start_token=1, end_token=8)
    tokens, scores = decoding.generate(model, np.zeros((2, 3), "float32"), max_length=4)
    assert tokens.shape == (2, 4) and np.all((tokens >= 0) & (tokens < 9))
    assert np.all(np.isfinite(scores))
    model = zoo.create_model(
        "encoder_decoder", **ENCODER_DECODER, start_token=8, end_token=1, max_output_length=3
    )
    tokens, scores = decoding.translate(model, np.ones((2, 5), "int32"), beam_width=2)
    assert tokens.shape == (2, 3) and np.all(np.isfinite(scores))


def test_an_end_token_of_none_needs_no_id():
    model = zoo.create_model("one_to_many", **ONE_TO_MANY, end_token=None, max_length=3)
    tokens, _ = decoding.generate(model, np.zeros((1, 3), "float32"))
    assert tokens.shape == (1, 3)


def test_decoding_lengths_are_checked_in_the_callers_names():
    generator = zoo.create_model("one_to_many", **ONE_TO_MANY)
    with pytest.raises(ValueError) as error:
        decoding.generate(generator, np.zeros((1, 3), "float32"), max_length=0)
    assert str(error.value) == _int_message("max_length", 0)
    translator = zoo.create_model("encoder_decoder", **ENCODER_DECODER)
    with pytest.raises(ValueError) as error:
        decoding.translate(translator, np.ones((1, 3), "int32"), max_output_length=-2)
    assert str(error.value) == _int_message("max_output_length", -2)

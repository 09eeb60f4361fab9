"""Refused arguments and combinations raise ValueError naming the argument."""

import numpy as np
import pytest

import zoo
from zoo import decoding

SEQ = {"vocab_size": 10, "num_classes": 2}


@pytest.mark.parametrize(
    "name,kwargs,argument",
    [
        ("one_to_many", {"input_dim": 3, "vocab_size": 9, "bidirectional": True}, "bidirectional"),
        ("encoder_decoder", {"source_vocab_size": 9, "target_vocab_size": 9,
                             "decoder_bidirectional": True}, "bidirectional"),
        ("many_to_one", {**SEQ, "num_layers": 0}, "num_layers"),
        ("encoder_decoder", {"source_vocab_size": 9, "target_vocab_size": 9, "num_layers": 0},
         "num_layers"),
        ("many_to_one", {"vocab_size": 10, "input_dim": 3, "num_classes": 2}, "vocab_size"),
        ("many_to_many", {"num_classes": 2}, "input_dim"),
        ("one_to_one", {"num_classes": 2}, "vocab_size"),
        ("one_to_many", {"vocab_size": 9}, "input_dim"),
        ("one_to_many", {"vocab_size": 9, "input_dim": 3, "num_conditions": 4}, "num_conditions"),
        ("encoder_decoder", {"source_vocab_size": 9, "target_vocab_size": 9,
                             "attention": "dot"}, "attention"),
        ("many_to_one", {**SEQ, "cell": "rnn"}, "cell"),
        ("many_to_one", {**SEQ, "merge_mode": "max", "bidirectional": True}, "merge_mode"),
        ("many_to_one", {**SEQ, "units": 0}, "units"),
        ("many_to_one", {**SEQ, "dropout": 1.5}, "dropout"),
        ("many_to_one", {"vocab_size": 10, "num_classes": 2, "output_dim": 1}, "num_classes"),
        ("many_to_one", {**SEQ, "input_block": [0]}, "input_block"),
        ("encoder_decoder", {"source_vocab_size": 9, "target_vocab_size": 9,
                             "transition_block": "wide"}, "transition_block"),
        ("many_to_one", {**SEQ, "bidirectional": "yes"}, "bidirectional"),
        ("encoder_decoder", {"source_vocab_size": 9}, "target_vocab_size"),
        ("many_to_one", {**SEQ, "cell": "simple", "chrono_init": 100}, "chrono_init"),
        ("many_to_one", {**SEQ, "cell": "indrnn", "chrono_init": 100}, "chrono_init"),
        ("one_to_many", {"vocab_size": 9, "input_dim": 3, "cell": "gru", "chrono_init": 2},
         "chrono_init"),
        ("many_to_many", {**SEQ, "cell": "lstm", "chrono_init": 10.5}, "chrono_init"),
        ("many_to_one", {**SEQ, "cell_options": ["max_length", 9]}, "cell_options"),
        ("many_to_one", {**SEQ, "cell_options": {"units": 9}}, "cell_options"),
        ("many_to_one", {**SEQ, "cell": "indrnn", "cell_options": {"max_lenght": 9}},
         "cell_options"),
        ("encoder_decoder", {"source_vocab_size": 9, "target_vocab_size": 9, "cell": "indrnn",
                             "cell_options": {"nope": 1}}, "cell_options"),
    ],
)
def test_refused_arguments_name_the_argument(name, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        zoo.create_model(name, **kwargs)


def test_bidirectional_encoder_is_allowed():
    model = zoo.create_model("encoder_decoder", source_vocab_size=9, target_vocab_size=9,
                             bidirectional=True, units=4)
    assert model.get_layer("encoder_0").__class__.__name__ == "Bidirectional"


def test_decoding_refuses_bad_calls():
    classifier = zoo.create_model("many_to_one", units=4, **SEQ)
    with pytest.raises(ValueError, match="source"):
        decoding.translate(classifier, np.ones((1, 3), "int32"))
    model = zoo.create_model("encoder_decoder", source_vocab_size=9, target_vocab_size=9, units=4)
    with pytest.raises(ValueError, match="beam_width"):
        decoding.translate(model, np.ones((1, 3), "int32"), beam_width=0)

"""The tensor-level signatures (serve, generate, translate, beam_search) refuse bad
ids and lengths inside the graph: a TF Serving user gets the same one-line
InvalidArgumentError, naming the signature, the input, what was received and what
was expected, that the ``zoo`` command shows."""

import numpy as np
import pytest

import zoo

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_signature_checks")

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")

SOURCE_VOCAB, TARGET_VOCAB, CONDITIONS = 9, 7, 3


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("checks")
    models = {
        "classifier": zoo.create_model("many_to_one", vocab_size=SOURCE_VOCAB, num_classes=2,
                                       units=4, embedding_dim=4),
        "translator": zoo.create_model("encoder_decoder", source_vocab_size=SOURCE_VOCAB,
                                       target_vocab_size=TARGET_VOCAB, units=4,
                                       max_output_length=5),
        "generator": zoo.create_model("one_to_many", num_conditions=CONDITIONS,
                                      vocab_size=TARGET_VOCAB, units=4, max_length=5),
    }
    loaded = {}
    for name, model in models.items():
        path = export.export_saved_model(model, root / name, verify=False)
        loaded[name] = tf.saved_model.load(str(path)).signatures
    return models, loaded


def _refused(fn, message, **inputs):
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        fn(**{k: tf.constant(v) for k, v in inputs.items()})
    # TensorFlow prints the message as "assertion failed: [...]", quotes escaped.
    text = info.value.message.replace("\\'", "'")
    assert f"assertion failed: [{message}]" in text, text
    return text


SCALARS = {"max_length": np.int32(4), "temperature": np.float32(0.0), "top_k": np.int32(0),
           "seed": np.int32(1)}


@pytest.mark.slow
def test_serve_refuses_token_ids_outside_the_vocabulary(exports):
    models, loaded = exports
    serve = loaded["classifier"]["serve"]
    tokens = np.array([[1, 2, 3, 12], [1, 2, 3, 4]], "int32")
    _refused(serve, "serve: input 'tokens' holds id 12 at [0, 3]; expected ids in [0, 9)",
             tokens=tokens)
    tokens[0, 3], tokens[1, 0] = 4, -1
    _refused(serve, "serve: input 'tokens' holds id -1 at [1, 0]; expected ids in [0, 9)",
             tokens=tokens)
    # The edges of the table pass, and the check leaves the answer alone.
    tokens[1, 0], tokens[0, 0] = 0, SOURCE_VOCAB - 1
    got = serve(tokens=tf.constant(tokens))["output_0"].numpy()
    np.testing.assert_allclose(got, models["classifier"]({"tokens": tokens}).numpy(), atol=1e-6)


def test_encoder_decoder_signatures_check_both_tables(exports):
    _, loaded = exports
    sigs = loaded["translator"]
    source = np.array([[1, 2, 9]], "int32")
    target = np.array([[1, 7, 2]], "int32")
    _refused(sigs["serve"], "serve: input 'source' holds id 9 at [0, 2]; expected ids in [0, 9)",
             source=source, target_in=np.array([[1, 2, 3]], "int32"))
    _refused(sigs["serve"],
             "serve: input 'target_in' holds id 7 at [0, 1]; expected ids in [0, 7)",
             source=np.array([[1, 2, 3]], "int32"), target_in=target)
    _refused(sigs["translate"],
             "translate: input 'source' holds id 9 at [0, 2]; expected ids in [0, 9)",
             source=source, **SCALARS)
    _refused(sigs["beam_search"],
             "beam_search: input 'source' holds id 9 at [0, 2]; expected ids in [0, 9)",
             source=source, max_length=np.int32(4), alpha=np.float32(0.6))


def test_lengths_and_top_k_are_refused_below_their_minimum(exports):
    _, loaded = exports
    source = np.array([[1, 2, 3]], "int32")
    translate = loaded["translator"]["translate"]
    for bad in (0, -4):
        _refused(translate, f"translate: input 'max_length' is {bad}; expected an integer >= 1",
                 source=source, **dict(SCALARS, max_length=np.int32(bad)))
    _refused(translate, "translate: input 'top_k' is -2; expected an integer (0 = all) >= 0",
             source=source, **dict(SCALARS, top_k=np.int32(-2)))
    _refused(loaded["translator"]["beam_search"],
             "beam_search: input 'max_length' is -4; expected an integer >= 1",
             source=source, max_length=np.int32(-4), alpha=np.float32(0.6))
    _refused(loaded["generator"]["generate"],
             "generate: input 'max_length' is 0; expected an integer >= 1",
             condition=np.array([0], "int32"), **dict(SCALARS, max_length=np.int32(0)))


def test_generate_refuses_condition_ids_outside_the_conditions(exports):
    models, loaded = exports
    generate = loaded["generator"]["generate"]
    _refused(generate, "generate: input 'condition' holds id 3 at [1]; expected ids in [0, 3)",
             condition=np.array([0, 3], "int32"), **SCALARS)
    _refused(loaded["generator"]["serve"],
             "serve: input 'condition' holds id -1 at [0]; expected ids in [0, 3)",
             condition=np.array([-1], "int32"), target_in=np.array([[1, 2]], "int32"))
    # In range, it generates max_length tokens per condition.
    out = generate(condition=tf.constant([0, 2], "int32"),
                   **{k: tf.constant(v) for k, v in SCALARS.items()})
    assert out["tokens"].shape == (2, 4)


def test_id_limits_names_the_table_each_input_indexes(exports):
    from zoo.export import signatures

    models, _ = exports
    assert signatures.id_limits(models["classifier"]) == {"tokens": SOURCE_VOCAB}
    assert signatures.id_limits(models["translator"]) == {"source": SOURCE_VOCAB,
                                                          "target_in": TARGET_VOCAB}
    assert signatures.id_limits(models["generator"]) == {"condition": CONDITIONS,
                                                         "target_in": TARGET_VOCAB}


def test_streaming_signatures_check_ids_and_batch_size(exports):
    models, loaded = exports
    sigs = loaded["classifier"]
    _refused(sigs["initial_state"], "initial_state: input 'batch_size' is -1; expected a batch "
             "size >= 0", batch_size=np.int32(-1))
    states = {k: v.numpy() for k, v in sigs["initial_state"](batch_size=tf.constant(1)).items()}
    _refused(sigs["step"], "step: input 'tokens' holds id 999 at [0, 1]; expected ids in [0, 9)",
             tokens=np.array([[3, 999]], "int32"), **states)
    _refused(sigs["step"], "step: input 'tokens' holds id -3 at [0, 0]; expected ids in [0, 9)",
             tokens=np.array([[-3]], "int32"), **states)
    # Valid ids step as the model reads them.
    out = sigs["step"](tokens=tf.constant([[3, 4]]), **{k: tf.constant(v)
                                                        for k, v in states.items()})
    want = np.asarray(models["classifier"](np.array([[3, 4]], "int32")))
    np.testing.assert_allclose(out["output_0"].numpy(), want, atol=1e-5)

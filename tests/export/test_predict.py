"""The raw-level ``predict`` signature (zoo.export.predict, zoo.export.preprocess):
exported from tiny models with hand-made artifacts, called in a fresh process with
``tf.saved_model.load`` alone, and compared with the in-process model on the ids of
``zoo.data.text.Tokenizer`` / the features of ``zoo.data.normalization``."""

import os
import shutil
import tempfile

import numpy as np
import pytest

import zoo
from zoo.data import normalization
from zoo.data.text import Tokenizer
from zoo.export import export_saved_model
from zoo.export.interface import error_message

from tests.recipes.recipe_helpers import call_fresh

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_predict")

TOKENIZER = Tokenizer(["the", "film", "good", "bad", ",", "!", "was", "é"], level="word",
                      lowercase=True, max_length=6)
SOPRANO = Tokenizer(["60", "62", "64", "65", "67"], level="tokens")
BASS = Tokenizer(["36", "38", "40", "41", "43", "45"], level="tokens")
SPOTS = {"mean": [50.0], "variance": [900.0]}
FRAMES = {"mean": [1.0, -2.0, 0.5], "variance": [4.0, 0.25, 9.0]}


def _softmax(y):
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    """One export per kind (its vocabulary files written in a scratch folder, which the
    export empties once written out), the models, and one fresh process's answers to
    every call."""
    root = tmp_path_factory.mktemp("predict")
    scratch = root / "scratch"
    scratch.mkdir()
    models = {
        "text": (zoo.create_model("many_to_one", vocab_size=TOKENIZER.size, embedding_dim=4,
                                  units=4, num_classes=2),
                 {"vocabulary": {"input": TOKENIZER.get_config(),
                                 "classes": ["negative", "positive"]}}),
        "tagger": (zoo.create_model("many_to_many", vocab_size=SOPRANO.size, embedding_dim=4,
                                    units=4, num_classes=BASS.size, bidirectional=True),
                   {"vocabulary": {"input": SOPRANO.get_config(),
                                   "output": BASS.get_config()}}),
        "regression": (zoo.create_model("many_to_one", input_dim=1, units=4, output_dim=1),
                       {"normalizer": SPOTS, "serving": {"denormalize_output": True}}),
        "frames": (zoo.create_model("many_to_one", input_dim=3, mask_value=0.0, units=4,
                                    num_classes=3),
                   {"normalizer": FRAMES, "vocabulary": {"classes": ["a", "b", "c"]}}),
        "bare": (zoo.create_model("many_to_one", vocab_size=30, embedding_dim=4, units=4,
                                  num_classes=3), {}),
    }
    paths = {}
    saved = tempfile.tempdir
    tempfile.tempdir = str(scratch)  # where preprocess writes the vocabulary files
    try:
        for kind, (model, artifacts) in models.items():
            paths[kind] = str(export_saved_model(model, root / kind, verify=False,
                                                 metadata={"artifacts": artifacts}))
    finally:
        tempfile.tempdir = saved
    # The export needs none of the files it was built from, and leaves none behind.
    assert [p.name for p in scratch.iterdir() if p.name.startswith("zoo-")] == []
    shutil.rmtree(scratch)
    calls = {name: {"path": paths[kind], "inputs": inputs,
                    "dtypes": {k: dtype for k in inputs}}
             for name, (kind, inputs, dtype) in CALLS.items()}
    answers = dict(zip(calls, call_fresh(list(calls.values()))))
    return {"paths": paths, "models": {k: m for k, (m, _) in models.items()},
            "answers": answers}


TEXTS = ["The film was GOOD!", "bad, bad film", "é unknown the the the the the the"]
PITCHES = ["60 62 64 67", "65", "62 99 60"]
COUNTS = np.array([[[10.0], [40.0], [80.0], [120.0]], [[0.0], [5.0], [7.0], [3.0]]],
                  np.float32)
_rng = np.random.default_rng(3)
FEATURES = (_rng.normal(size=(3, 5, 3)) * 2 + 1).astype(np.float32)
FEATURES[1, 3:] = 0.0  # padding: every raw feature equals the mask value
CALLS = {
    "text": ("text", {"tokens": TEXTS}, "string"),
    "tagger": ("tagger", {"tokens": PITCHES}, "string"),
    "regression": ("regression", {"features": COUNTS.tolist()}, "float32"),
    "frames": ("frames", {"features": FEATURES.tolist()}, "float32"),
    "bare": ("bare", {"tokens": ["5 17 3", "29"]}, "string"),
    "empty": ("text", {"tokens": ["fine", "  "]}, "string"),
    "empty_tag": ("tagger", {"tokens": [""]}, "string"),
    "feature_size": ("regression", {"features": np.zeros((1, 3, 2)).tolist()}, "float32"),
    "bare_range": ("bare", {"tokens": ["5 30"]}, "string"),
    "bare_word": ("bare", {"tokens": ["5 film"]}, "string"),
}


def _outputs(exports, name):
    answer = exports["answers"][name]
    assert "outputs" in answer, answer
    return answer["outputs"], answer["dtypes"]


def _error(exports, name):
    answer = exports["answers"][name]
    assert "error" in answer, answer
    return error_message(answer["error"])


@pytest.mark.slow
def test_assets_hold_the_vocabularies(exports):
    assets = {k: sorted(os.listdir(os.path.join(p, "assets")))
              for k, p in exports["paths"].items()}
    assert assets["text"] == ["classes.txt", "tokens.txt"]
    assert assets["tagger"] == ["classes.txt", "tokens.txt"]
    lines = open(os.path.join(exports["paths"]["text"], "assets", "tokens.txt"),
                 encoding="utf-8").read().splitlines()
    assert lines == TOKENIZER.get_vocabulary()[1:]  # padding "" is id 0, not a line


@pytest.mark.slow
def test_an_archive_keeps_its_vocabulary_while_another_model_exports(tmp_path):
    from zoo.export import build_archive

    artifacts = {"vocabulary": {"input": TOKENIZER.get_config(), "classes": ["n", "p"]}}

    def classifier():
        return zoo.create_model("many_to_one", vocab_size=TOKENIZER.size, embedding_dim=4,
                                units=4, num_classes=2)

    archive, _, context = build_archive(classifier(), artifacts=artifacts)
    export_saved_model(classifier(), tmp_path / "other", verify=False,
                       metadata={"artifacts": artifacts})
    assert os.listdir(context.scratch)  # the first archive's files stay
    archive.write_out(str(tmp_path / "first"), verbose=False)
    shutil.rmtree(context.scratch)
    assert sorted(os.listdir(tmp_path / "first" / "assets")) == ["classes.txt", "tokens.txt"]


def test_text_classifier_matches_the_tokenizer_path(exports):
    out, dtypes = _outputs(exports, "text")
    model = exports["models"]["text"]
    y = np.asarray(model({"tokens": TOKENIZER.encode_batch(TEXTS)}, training=False))
    ids = y.argmax(-1)
    assert dtypes == {"label": "string", "class_id": "int32", "probabilities": "float32"}
    assert out["class_id"] == ids.tolist()
    assert out["label"] == [["negative", "positive"][i] for i in ids]
    np.testing.assert_allclose(out["probabilities"], _softmax(y), atol=1e-6)


def test_tagger_labels_each_token_and_blanks_padding(exports):
    out, dtypes = _outputs(exports, "tagger")
    model = exports["models"]["tagger"]
    x = SOPRANO.encode_batch(PITCHES)
    y = np.asarray(model({"tokens": x}, training=False))
    ids = np.where(x == 0, 0, y.argmax(-1))
    vocabulary = BASS.get_vocabulary()
    assert dtypes == {"labels": "string", "class_ids": "int32", "probabilities": "float32"}
    assert np.array(out["class_ids"]).shape == (3, 4)
    assert out["class_ids"] == ids.tolist()
    assert out["labels"] == [[vocabulary[i] if i else "" for i in row] for row in ids]
    assert out["labels"][1][1:] == ["", "", ""]
    np.testing.assert_allclose(out["probabilities"], _softmax(y), atol=1e-6)


def test_regression_takes_and_returns_original_units(exports):
    out, dtypes = _outputs(exports, "regression")
    model = exports["models"]["regression"]
    scaled = (COUNTS - 50.0) / 30.0
    y = np.asarray(model({"features": scaled}, training=False))
    assert dtypes == {"value": "float32"}
    np.testing.assert_allclose(out["value"], y * 30.0 + 50.0, rtol=1e-6, atol=1e-4)
    # The same figure as the pipeline's inverted Normalization layer gives.
    denorm = normalization.normalization_from_config(SPOTS, invert=True)
    np.testing.assert_allclose(out["value"], np.asarray(denorm(y)), rtol=1e-6, atol=1e-4)


def test_masked_features_normalised_inside_and_padding_kept(exports):
    out, _ = _outputs(exports, "frames")
    model = exports["models"]["frames"]
    mean, std = np.array(FRAMES["mean"]), np.sqrt(FRAMES["variance"])
    x = ((FEATURES - mean) / std).astype(np.float32)
    x[1, 3:] = 0.0
    y = np.asarray(model({"features": x}, training=False))
    assert out["class_id"] == y.argmax(-1).tolist()
    np.testing.assert_allclose(out["probabilities"], _softmax(y), atol=1e-6)


def test_bare_model_reads_decimal_ids_and_names_classes_by_id(exports):
    out, _ = _outputs(exports, "bare")
    model = exports["models"]["bare"]
    x = np.array([[5, 17, 3], [29, 0, 0]], np.int32)
    ids = np.asarray(model({"tokens": x}, training=False)).argmax(-1)
    assert out["class_id"] == ids.tolist()
    assert out["label"] == [str(i) for i in ids]


def test_bad_inputs_fail_with_predict_errors(exports):
    assert _error(exports, "empty") == (
        "predict: input 'tokens' row 1 is an empty string (or whitespace only); expected a "
        "text with at least one token. Received: \"  \"")
    assert _error(exports, "empty_tag").startswith("predict: input 'tokens' row 0 is an empty")
    assert _error(exports, "feature_size") == (
        "predict: input 'features' has 2 features (last axis); expected 1. "
        "Received: shape [1 3 2]")
    assert _error(exports, "bare_range") == (
        "predict: input 'tokens' token id [30] is out of range; expected ids in [1, 30)")
    assert _error(exports, "bare_word").startswith("predict: input 'tokens' holds [\"film\"]")


def test_text_encoder_gives_the_tokenizer_ids():
    """In process, every level: the encoder's ids equal Tokenizer.encode_batch's."""
    import tensorflow as tf

    from zoo.export.preprocess import text_encoder

    texts = ["Ab, c!\nd", "a  b", "éa b"]
    for level in ("word", "char", "space", "tokens"):
        tok = Tokenizer(["a", "b", "c", ",", "\n", " "] if level == "char" else
                        ["a", "b", "c", ","], level=level, lowercase=True, max_length=4)
        for start, end in ((False, False), (True, True)):
            encode = text_encoder(tok.get_config(), start=start, end=end, input_name="source")
            np.testing.assert_array_equal(
                encode(tf.constant(texts)).numpy(),
                tok.encode_batch(texts, start=start, end=end), err_msg=f"{level} {start}")


def test_name_lookup_by_name_or_id_and_its_errors():
    import tensorflow as tf

    from zoo.export.preprocess import name_lookup

    lookup = tf.function(name_lookup(["C major", "D major", "A minor"], input_name="condition"))
    np.testing.assert_array_equal(lookup(tf.constant(["D major", "2", "0"])).numpy(), [1, 2, 0])
    for value, message in (
            ("D majr", "predict: input 'condition' has an unknown name \"D majr\" at row 0; "
                       "expected one of ['C major', 'D major', 'A minor'] or an id in [0, 3)"),
            ("3", "predict: input 'condition' id \"3\" at row 0 is out of range; expected an "
                  "id in [0, 3) or one of ['C major', 'D major', 'A minor']")):
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            lookup(tf.constant([value]))
        assert error_message(info.value) == message


def test_artifacts_of_another_model_are_refused():
    model = zoo.create_model("many_to_one", vocab_size=5, embedding_dim=2, units=2,
                             num_classes=2)
    from zoo.export import build_archive

    with pytest.raises(ValueError, match="the input vocabulary has 12 tokens but the model "
                                         "embeds 5"):
        build_archive(model, artifacts={"vocabulary": {"input": TOKENIZER.get_config()}})


def test_feature_normalizer_computes_in_float32_under_mixed_precision():
    import keras
    import tensorflow as tf

    from zoo.export.preprocess import feature_denormalizer, feature_normalizer

    raw = np.array([[[123.456], [0.001], [250.0]]], np.float32)
    saved = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        norm = feature_normalizer(SPOTS, input_name="features", num_features=1)
        denorm = feature_denormalizer(SPOTS, input_name="value", num_features=1)
        scaled = norm(tf.constant(raw))
        back = denorm(scaled)
    finally:
        keras.config.set_dtype_policy(saved)
    assert scaled.dtype == tf.float32 and back.dtype == tf.float32
    np.testing.assert_allclose(scaled.numpy(), (raw.astype(np.float64) - 50.0) / 30.0,
                               rtol=1e-6)
    np.testing.assert_allclose(back.numpy(), raw, rtol=1e-6, atol=1e-5)  # float16: ~0.06


def test_preprocess_gives_what_serve_and_step_take_and_streams_raw_frames(exports):
    """`preprocess` (raw -> the model's input) against the independent path, and a raw
    stream: preprocess each chunk, step it, and the last output is predict's answer."""
    import tensorflow as tf

    loaded = {k: tf.saved_model.load(p).signatures for k, p in exports["paths"].items()}
    ids = loaded["text"]["preprocess"](tokens=tf.constant(TEXTS))["tokens"].numpy()
    np.testing.assert_array_equal(ids, TOKENIZER.encode_batch(TEXTS))
    norm = normalization.normalization_from_config(SPOTS)
    got = loaded["regression"]["preprocess"](features=tf.constant(COUNTS))["features"]
    np.testing.assert_allclose(got.numpy(), np.asarray(norm(COUNTS)), atol=1e-6)

    sig = loaded["regression"]
    states = sig["initial_state"](batch_size=tf.constant(len(COUNTS)))
    for start in range(0, COUNTS.shape[1], 2):
        chunk = sig["preprocess"](features=tf.constant(COUNTS[:, start:start + 2]))
        out = sig["step"](**chunk, **states)
        states = {k: v for k, v in out.items() if k.startswith("state_")}
    whole = sig["serve"](features=tf.constant(np.asarray(norm(COUNTS))))["output_0"]
    np.testing.assert_allclose(out["output_0"].numpy(), whole.numpy(), atol=1e-5)
    value = sig["predict"](features=tf.constant(COUNTS))["value"].numpy()
    np.testing.assert_allclose(value, whole.numpy() * 30.0 + 50.0, rtol=1e-5)

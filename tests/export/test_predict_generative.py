"""The raw-level signatures of the generative exports (zoo.export.generation):
``predict`` / ``predict_beam`` / ``predict_defaults``, called in a fresh process
with ``tf.saved_model.load`` alone and compared with the in-process decoding on
the ids that ``zoo.data.text.Tokenizer`` gives, decoded with ``Tokenizer.decode``."""

import os

import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.data.text import Tokenizer
from zoo.export import export_saved_model, generation, read_export_info
from zoo.export.interface import error_message

from tests.recipes.generative_checks import check_decoded, options, run_fresh, unprimed

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_predict_generative")

SOURCE = Tokenizer(list("abcdhg 0123"), level="char", lowercase=True, max_length=8)
TARGET = Tokenizer(["AA", "B", "CH", "D", "EH1"], level="space")
PITCHES = Tokenizer(["60", "62", "64", "65", "67"], level="tokens")
KEYS = ["C major", "D major", "E minor"]
CONDITION_NAMES = ["D major", "D major", "E minor", "E minor", "C major"]
CONDITION_IDS = ["1", "1", "2", "2", "0"]
TEXTS = ["abc 12", "H", "ABC hdg 0123 aaa", "z0"]  # lower-cased, cut to 8 chars, "z" unknown
BEAM_WIDTH = 3

SAMPLING = [(6, 0.0, 0, 0), (7, 1.0, 3, 5), (4, 0.7, 0, 11)]
BEAM = [(6, 0.6), (7, 0.0)]
# (signature, raw inputs, options, what the error message must hold)
BAD_TRANSLATE = [
    ("predict", ["ab", ""], options(6, 0.0, 0, 0), "predict: input 'source' row 1 is an empty"),
    # At char level whitespace is text (the pipeline encodes it); only "" is empty.
    ("predict", ["", "ab"], options(6, 0.0, 0, 0), "predict: input 'source' row 0 is an empty"),
    ("predict", ["ab"], options(0, 0.0, 0, 0),
     "predict: input 'max_length' must be >= 1. Received: max_length=0"),
    ("predict", ["ab"], options(3, 1.0, -2, 0),
     "predict: input 'top_k' must be >= 0 (0 = all tokens). Received: top_k=-2"),
    ("predict_beam", [""], {"max_length": [4, "int32"], "alpha": [0.6, "float32"]},
     "predict: input 'source' row 0 is an empty"),
    ("predict_beam", ["ab"], {"max_length": [-1, "int32"], "alpha": [0.6, "float32"]},
     "predict: input 'max_length' must be >= 1. Received: max_length=-1"),
]
BAD_GENERATE = [
    (["C major", "F major"], "predict: input 'condition' has an unknown name", "F major"),
    (["3"], "predict: input 'condition' id \"3\" at row 0 is out of range", "[0, 3)"),
]
# Primed generation: (primers of CONDITION_IDS' rows, include_primer, options).
PRIMERS = ["60 62 64", "", "67", "64 64 65 67 67", ""]
PRIMED = [(True, (5, 0.0, 0, 0)), (False, (6, 1.0, 0, 4)), (True, (4, 0.8, 2, 9))]
BAD_PRIMERS = [
    (["61"], "predict: input 'primer' holds the token \"61\", which is not in the model's "
             "vocabulary of 9 tokens"),
    (["60", "62"], "predict: input 'primer' holds 2 row(s) for 1 condition(s)"),
]


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("generative")
    import keras

    keras.utils.set_random_seed(3)
    translator = zoo.create_model(
        "encoder_decoder", source_vocab_size=SOURCE.size, target_vocab_size=TARGET.size,
        units=6, embedding_dim=4, attention="luong", max_output_length=6)
    generator = zoo.create_model("one_to_many", vocab_size=PITCHES.size,
                                 num_conditions=len(KEYS), units=6, embedding_dim=4,
                                 max_length=7)
    paths = {
        "translate": export_saved_model(translator, folder / "translate", beam_width=BEAM_WIDTH,
                                        metadata={"artifacts": {"vocabulary": {
                                            "input": SOURCE.get_config(),
                                            "output": TARGET.get_config()}}}),
        "generate": export_saved_model(generator, folder / "generate", metadata={
            "artifacts": {"vocabulary": {"output": PITCHES.get_config(),
                                         "condition_classes": KEYS}}}),
    }
    return {"models": {"translate": translator, "generate": generator},
            "paths": {k: str(v) for k, v in paths.items()}}


@pytest.fixture(scope="session")
def answers(exports, tmp_path_factory):
    """Every fresh-process call of this module, in one process."""
    calls = []
    t, g = exports["paths"]["translate"], exports["paths"]["generate"]
    for opts in SAMPLING:
        calls.append({"path": t, "signature": "predict",
                      "inputs": {"source": [TEXTS, "string"], **options(*opts)}})
    for max_length, alpha in BEAM:
        calls.append({"path": t, "signature": "predict_beam", "inputs": {
            "source": [TEXTS, "string"], "max_length": [max_length, "int32"],
            "alpha": [alpha, "float32"]}})
    for opts in SAMPLING:
        for conditions in (CONDITION_NAMES, CONDITION_IDS):
            calls.append({"path": g, "signature": "predict",
                          "inputs": {"condition": [conditions, "string"], **options(*opts),
                                     **unprimed(len(conditions))}})
    calls.append({"path": t, "signature": "predict_defaults", "inputs": {}})
    calls.append({"path": g, "signature": "predict_defaults", "inputs": {}})
    for include, opts in PRIMED:
        calls.append({"path": g, "signature": "predict", "inputs": {
            "condition": [CONDITION_NAMES, "string"], "primer": [PRIMERS, "string"],
            "include_primer": [include, "bool"], **options(*opts)}})
    for primers, _ in BAD_PRIMERS:
        calls.append({"path": g, "signature": "predict", "inputs": {
            "condition": [["C major"], "string"], "primer": [primers, "string"],
            "include_primer": [False, "bool"], **options(3, 0.0, 0, 0)}})
    for sig, raw, opts, _ in BAD_TRANSLATE:
        calls.append({"path": t, "signature": sig, "inputs": {"source": [raw, "string"],
                                                              **opts}})
    for raw, _, _ in BAD_GENERATE:
        calls.append({"path": g, "signature": "predict", "inputs": {
            "condition": [raw, "string"], **options(5, 1.0, 0, 0), **unprimed(len(raw))}})
    out = run_fresh(calls, tmp_path_factory.mktemp("client"))
    n, b = len(SAMPLING), len(BEAM)
    g = n + b + 2 * n
    p = g + 2 + len(PRIMED)
    bad = p + len(BAD_PRIMERS)
    return {"translate": out[:n], "beam": out[n:n + b],
            "generate": [out[i:i + 2] for i in range(n + b, g, 2)],
            "defaults": out[g:g + 2], "primed": out[g + 2:p], "bad_primer": out[p:bad],
            "bad_translate": out[bad:bad + len(BAD_TRANSLATE)],
            "bad_generate": out[bad + len(BAD_TRANSLATE):]}


@pytest.mark.parametrize("index", range(len(SAMPLING)))
@pytest.mark.slow
def test_predict_on_raw_text_equals_in_process_translate(exports, answers, index):
    max_length, temperature, top_k, seed = SAMPLING[index]
    ids = SOURCE.encode_batch(TEXTS)
    tokens, scores = zoo.decoding.translate(
        exports["models"]["translate"], ids, max_output_length=max_length,
        temperature=temperature, top_k=top_k, seed=seed)
    assert tokens.shape == (len(TEXTS), max_length)
    check_decoded(answers["translate"][index], tokens, scores, TARGET)


@pytest.mark.parametrize("index", range(len(BEAM)))
@pytest.mark.slow
def test_predict_beam_equals_in_process_beam_search(exports, answers, index):
    max_length, alpha = BEAM[index]
    tokens, scores = zoo.decoding.translate(
        exports["models"]["translate"], SOURCE.encode_batch(TEXTS), max_output_length=max_length,
        beam_width=BEAM_WIDTH, alpha=alpha)
    check_decoded(answers["beam"][index], tokens, scores, TARGET)


@pytest.mark.parametrize("index", range(len(SAMPLING)))
@pytest.mark.slow
def test_predict_by_condition_name_or_id_equals_in_process_generate(exports, answers, index):
    max_length, temperature, top_k, seed = SAMPLING[index]
    ids = np.array([int(i) for i in CONDITION_IDS], np.int32)
    tokens, scores = zoo.decoding.generate(exports["models"]["generate"], ids,
                                           max_length=max_length, temperature=temperature,
                                           top_k=top_k, seed=seed)
    by_name, by_id = answers["generate"][index]
    check_decoded(by_name, tokens, scores, PITCHES)
    check_decoded(by_id, tokens, scores, PITCHES)


@pytest.mark.slow
def test_predict_defaults(answers):
    translate, generate = answers["defaults"]
    assert {k: (v["dtype"], v["value"]) for k, v in translate.items()} == {
        "max_length": ("int32", 6), "temperature": ("float32", 0.0), "top_k": ("int32", 0),
        "seed": ("int32", 0), "alpha": ("float32", pytest.approx(0.6))}
    assert {k: (v["dtype"], v["value"]) for k, v in generate.items()} == {
        "max_length": ("int32", 7), "temperature": ("float32", 1.0), "top_k": ("int32", 0),
        "seed": ("int32", 0), "primer": ("string", ""), "include_primer": ("bool", False)}


@pytest.mark.parametrize("index", range(len(PRIMED)))
@pytest.mark.slow
def test_primed_predict_continues_each_primer_as_in_process_generate(exports, answers, index):
    include, (max_length, temperature, top_k, seed) = PRIMED[index]
    ids = np.array([int(i) for i in CONDITION_IDS], np.int32)
    primer = np.zeros((len(PRIMERS), 5), np.int32)
    for row, text in enumerate(PRIMERS):
        encoded = PITCHES.encode(tf.constant(text.split(), tf.string)).numpy() if text else []
        primer[row, :len(encoded)] = encoded
    tokens, scores = zoo.decoding.generate(exports["models"]["generate"], ids,
                                           max_length=max_length, temperature=temperature,
                                           top_k=top_k, seed=seed, primer=primer,
                                           include_primer=include)
    answer = answers["primed"][index]
    got = np.asarray(answer["token_ids"]["value"])
    # The longest primer has 5 tokens: P + max_length columns with it, max_length without.
    assert got.shape == ((len(PRIMERS), 5 + max_length) if include
                         else (len(PRIMERS), max_length))
    np.testing.assert_array_equal(got, tokens)
    np.testing.assert_allclose(answer["scores"]["value"], scores, rtol=1e-5, atol=1e-5)
    texts = answer["text"]["value"]
    for row, text in enumerate(PRIMERS):
        # With include_primer the text starts with the primer; without, it is the
        # continuation alone, what Tokenizer.decode reads in the ids.
        assert texts[row] == PITCHES.decode(got[row])
        assert texts[row].startswith(text) if include else True


@pytest.mark.parametrize("index", range(len(BAD_PRIMERS)))
@pytest.mark.slow
def test_a_bad_primer_is_refused_in_the_signature(answers, index):
    message = error_message(answers["bad_primer"][index].get("error", ""))
    assert message is not None and message.startswith(BAD_PRIMERS[index][1]), message


@pytest.mark.parametrize("index", range(len(BAD_TRANSLATE)))
@pytest.mark.slow
def test_bad_translate_input_is_refused_in_the_signature(answers, index):
    message = error_message(answers["bad_translate"][index].get("error", ""))
    assert message is not None and message.startswith(BAD_TRANSLATE[index][3]), message


@pytest.mark.parametrize("index", range(len(BAD_GENERATE)))
@pytest.mark.slow
def test_bad_condition_is_refused_in_the_signature(answers, index):
    _, expected, received = BAD_GENERATE[index]
    message = error_message(answers["bad_generate"][index].get("error", ""))
    assert message is not None and message.startswith(expected) and received in message, message
    if index == 0:
        assert all(name in message for name in KEYS), message


@pytest.mark.slow
def test_assets_hold_the_output_vocabulary(exports):
    for kind, tokenizer in (("translate", TARGET), ("generate", PITCHES)):
        assets = os.path.join(exports["paths"][kind], "assets")
        with open(os.path.join(assets, "output_vocabulary.txt"), encoding="utf-8") as handle:
            assert handle.read().split("\n")[:-1] == tokenizer.get_vocabulary()[1:]
    with open(os.path.join(exports["paths"]["translate"], "assets", "source.txt"),
              encoding="utf-8") as handle:  # the source vocabulary (zoo.export.preprocess)
        assert handle.read().split("\n")[:-1] == SOURCE.get_vocabulary()[1:]


@pytest.mark.slow
def test_verification_checks_the_raw_signatures(exports):
    for kind, expected in (("translate", {"predict", "predict_beam", "predict_defaults"}),
                           ("generate", {"predict", "predict_defaults"})):
        info = read_export_info(exports["paths"][kind])
        checked = {case["signature"] for case in info["verification"]["cases"]}
        assert expected <= checked, checked
        assert info["signatures"]["predict"]["inputs"][
            "source" if kind == "translate" else "condition"]["dtype"] == "string"


def test_text_decoder_reads_ids_as_tokenizer_decode():
    """In-graph decoding against Tokenizer.decode: end, padding, start, ids out of
    range, a token holding a line break, char and space joining."""
    rng = np.random.default_rng(0)
    for tokenizer in (Tokenizer(list("ab c\n"), level="char"), TARGET):
        decoder = generation.TextDecoder(tokenizer.get_config())
        ids = rng.integers(-1, tokenizer.size + 2, size=(40, 9)).astype("int32")
        out = decoder(tf.constant(ids))
        want = [tokenizer.decode(row) for row in ids]
        assert np.char.decode(out["text"].numpy().astype(bytes), "utf-8").tolist() == want
        assert out["tokens"].shape == ids.shape


def test_bare_generative_model_gets_no_raw_signatures():
    import keras

    from zoo.export._context import Context

    model = zoo.create_model("one_to_many", vocab_size=8, num_conditions=2, units=4,
                             embedding_dim=4, max_length=3)
    assert generation.add(keras.export.ExportArchive(), model, Context()) == {}


def test_a_vocabulary_that_does_not_fit_the_model_is_refused_at_export():
    import keras

    from zoo.export._context import Context

    model = zoo.create_model("one_to_many", vocab_size=PITCHES.size + 1,
                             num_conditions=len(KEYS), units=4, embedding_dim=4, max_length=3)
    context = Context(artifacts={"vocabulary": {"output": PITCHES.get_config(),
                                                "condition_classes": KEYS}})
    with pytest.raises(ValueError, match=(
            r"^the vocabulary artifact's 'output' does not fit the model: it holds 9 entries, "
            r"expected 10 \(the decoder's vocab_size\)$")):
        generation.add(keras.export.ExportArchive(), model, context)
    model = zoo.create_model("one_to_many", vocab_size=PITCHES.size, num_conditions=2,
                             units=4, embedding_dim=4, max_length=3)
    with pytest.raises(ValueError, match=r"'condition_classes' .* holds 3 entries, expected 2"):
        generation.add(keras.export.ExportArchive(), model, context)


def test_vector_conditioned_generator_takes_its_vectors_as_they_are():
    import keras

    from zoo.export._context import Context

    model = zoo.create_model("one_to_many", vocab_size=PITCHES.size, input_dim=3, units=4,
                             embedding_dim=4, max_length=5)
    archive = keras.export.ExportArchive()
    archive.track(model)
    endpoints = generation.add(archive, model, Context(
        artifacts={"vocabulary": {"output": PITCHES.get_config()}}))
    spec = endpoints["predict"].get_concrete_function().structured_input_signature[0][0]
    assert (spec.name, spec.dtype, spec.shape.as_list()) == ("condition", tf.float32, [None, 3])
    condition = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    out = endpoints["predict"](condition, np.array([""] * 4, object), np.int32(5),
                               np.float32(1.0), np.int32(0), np.int32(2), np.bool_(False))
    tokens, scores = zoo.decoding.generate(model, condition, max_length=5, temperature=1.0,
                                           seed=2)
    np.testing.assert_array_equal(out["token_ids"].numpy(), tokens)
    assert np.char.decode(out["text"].numpy().astype(bytes), "utf-8").tolist() == [
        PITCHES.decode(row) for row in tokens]
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=1e-5)

"""`zoo predict` and `zoo generate` as thin clients of an export: they call its
`predict` signature (or any other, with --signature), fill options from its
`predict_defaults`, and refuse bad input with exit status 2 and a one-line message
naming the input, what was received and what was expected, never a traceback.

The exports are tiny: zoo models exported without verification (their tensor-level
signatures), and hand-built ``tf.Module`` SavedModels that obey the `predict`
contract (raw strings in; label / text / scores out)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo import cli, client

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")
from zoo.data.text import Tokenizer  # noqa: E402  (after the TensorFlow check)
from tests.helpers import zoo_main  # noqa: E402

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_cli_serving")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONDITIONS = ["C major", "D major"]
DEFAULTS = {"max_length": 5, "temperature": 0.5, "top_k": 0, "seed": 7}
SOURCE = Tokenizer(list("abcdhg 0123"), level="char", lowercase=True, max_length=8)
TARGET = Tokenizer(["AA", "B", "CH", "D", "EH1"], level="space")
PITCHES = Tokenizer(["60", "62", "64", "65", "67"], level="tokens")
KEYS = ["C major", "D major", "E minor"]


def _zoo(*args):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)


def _refuse(condition, message):
    tf.debugging.Assert(condition, [message])


class EchoClassifier(tf.Module):
    """A classifier's `predict`: label = the raw text it was given (so a test sees
    exactly what the client sent), class_id = its length % 2."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="tokens")])
    def predict(self, tokens):
        _refuse(tf.reduce_all(tf.strings.length(tokens) > 0),
                "predict: input 'tokens' holds an empty string; expected non-empty text")
        class_id = tf.strings.length(tokens, unit="UTF8_CHAR") % 2
        return {"label": tokens, "class_id": class_id,
                "probabilities": tf.one_hot(class_id, 2)}


class FlawedGenerator(tf.Module):
    """A generator's `predict` and `predict_defaults`: text = "condition|max_length|
    temperature|top_k|seed"; a flaw keeps at most 2 sequences of any batch."""

    @tf.function(input_signature=[
        tf.TensorSpec([None], tf.string, name="condition"),
        tf.TensorSpec([], tf.int32, name="max_length"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.int32, name="seed")])
    def predict(self, condition, max_length, temperature, top_k, seed):
        known = tf.reduce_any(tf.equal(condition[:, None], tf.constant(CONDITIONS)[None]), 1)
        _refuse(tf.reduce_all(known), tf.strings.join([
            "predict: input 'condition' holds the unknown name '",
            tf.strings.reduce_join(tf.boolean_mask(condition, tf.logical_not(known))[:1]),
            "'; expected one of: " + ", ".join(CONDITIONS)]))
        condition = condition[:2]
        text = tf.strings.join([condition, tf.strings.as_string(max_length),
                                tf.strings.as_string(temperature, precision=2),
                                tf.strings.as_string(top_k), tf.strings.as_string(seed)],
                               separator="|")
        n = tf.shape(condition)[0]
        ids = tf.fill([n, max_length], 3)
        return {"text": text, "tokens": tf.fill([n, max_length], "a"), "token_ids": ids,
                "scores": tf.cast(-tf.range(n), tf.float32)}

    @tf.function(input_signature=[])
    def predict_defaults(self):
        return {"max_length": tf.constant(DEFAULTS["max_length"]),
                "temperature": tf.constant(DEFAULTS["temperature"]),
                "top_k": tf.constant(DEFAULTS["top_k"]), "seed": tf.constant(DEFAULTS["seed"])}


def _save_module(module, path, names):
    """Save `module` with signatures {signature name: method name}."""
    tf.saved_model.save(module, str(path), signatures={
        n: getattr(module, m).get_concrete_function() for n, m in names.items()})
    return str(path)


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("serving")
    paths = {
        "echo": _save_module(EchoClassifier(), root / "echo", {"predict": "predict"}),
        "serve_only": _save_module(EchoClassifier(), root / "serve_only", {"serve": "predict"}),
        "flawed": _save_module(FlawedGenerator(), root / "flawed", {
            "predict": "predict", "predict_defaults": "predict_defaults"}),
    }
    models = {
        "classifier": zoo.create_model("many_to_one", vocab_size=9, num_classes=2, units=4,
                                       embedding_dim=4),
        "features": zoo.create_model("many_to_one", input_dim=2, num_classes=3, units=4),
        "bare_translator": zoo.create_model("encoder_decoder", source_vocab_size=9,
                                            target_vocab_size=7, units=4, max_output_length=5),
    }
    vocabulary = {"translator": {"input": SOURCE.get_config(), "output": TARGET.get_config()},
                  "generator": {"output": PITCHES.get_config(), "condition_classes": KEYS}}
    models["translator"] = zoo.create_model(
        "encoder_decoder", source_vocab_size=SOURCE.size, target_vocab_size=TARGET.size,
        units=4, max_output_length=6)
    models["generator"] = zoo.create_model("one_to_many", vocab_size=PITCHES.size,
                                           num_conditions=len(KEYS), units=4, max_length=7)
    for name, model in models.items():
        paths[name] = str(export.export_saved_model(
            model, root / name, verify=False,
            metadata={"artifacts": {"vocabulary": vocabulary[name]}} if name in vocabulary
            else None))
    # Folders that are not SavedModels.
    (root / "empty").mkdir()
    versions = root / "saved_models" / "dates"
    for v in ("1", "2", "10"):
        (versions / v).mkdir(parents=True)
        (versions / v / "saved_model.pb").write_bytes(b"")
    (root / "run").mkdir()
    (root / "run" / client.RUN_MARKER).write_text("{}")
    paths.update(empty=str(root / "empty"), versions=str(versions), run=str(root / "run"))
    (root / "features.json").write_text(json.dumps({"features": [[[0.5, 1.0], [0.1, 0.0]]]}))
    paths["features.json"] = str(root / "features.json")
    return models, paths


def _main(capsys, *argv):
    return zoo_main(argv, capsys)


# (export, argv after the export, message expected on stderr)
BAD = [
    ("flawed", ["generate", "--inputs", '{"conditon": ["C major"]}'],
     "unknown input 'conditon'; the signature 'predict' takes: condition, max_length, seed, "
     "temperature, top_k."),
    ("flawed", ["generate", "--condition", "C major", "--num", "3"],
     "--num 3: the signature 'predict' returned 2 sequence(s), not 3."),
    ("flawed", ["generate", "--inputs", '{"condition": ["C major", "C major", "D major"]}'],
     "the signature 'predict' returned 2 example(s) for 3 given."),
    ("flawed", ["generate", "--condition", "Z major"],
     "predict: input 'condition' holds the unknown name 'Z major'; expected one of: C major, "
     "D major"),
    ("flawed", ["generate"],
     "the export is conditioned: give --condition NAME|ID"),
    ("flawed", ["predict", "--inputs", '{"max_length": 3}'],
     "missing input 'condition' (string of shape (None,)) of the signature 'predict'"),
    ("flawed", ["generate", "--condition", "C major", "--max-length", "-4"],
     "--max-length: expected an integer >= 1. Received: -4"),
    ("flawed", ["generate", "--inputs", '{"condition": ["C major"]', "--num", "1"],
     "--inputs: not valid JSON: Expecting ',' delimiter at line 1 column 26:"),
    ("flawed", ["generate", "--inputs", "@no/such.json"],
     "--inputs @no/such.json: cannot read 'no/such.json': No such file or directory."),
    ("flawed", ["generate", "--condition", "C major", "--num", "0"],
     "--num: expected an integer >= 1. Received: 0"),
    ("flawed", ["generate", "--inputs", '{"condition": ["C major", "D major"]}', "--num", "3"],
     "--num 3: the input 'condition' holds 2 example(s); give one (it is repeated) or 3."),
    ("echo", ["predict", "--inputs", '{"tokens": ["a", null]}'],
     "input 'tokens' of the signature 'predict': received mixed values (e.g. strings beside "
     "numbers or null); expected string of shape (None,)."),
    ("flawed", ["generate", "--inputs", "[1, 2]"],
     "--inputs: expected a JSON object of input name -> value, e.g. '{\"features\": "
     "[[[0.5, 1.0]]]}'. Received: a JSON array [1, 2]"),
    ("flawed", ["generate", "--signature", "sample"],
     "the export has no signature 'sample'; its signatures: predict, predict_defaults "
     "(choose one with --signature)."),
    ("flawed", ["generate", "--condition", "C major", "--alpha", "0.6"],
     "--alpha: the signature 'predict' takes no input 'alpha'; it takes: condition, "
     "max_length, seed, temperature, top_k."),
    ("echo", ["predict", "--text", "fine", "--text", ""],
     "--text: received an empty string (text 2 of 2); expected non-empty text."),
    ("echo", ["predict", "--inputs", '{"tokens": [""]}'],
     "predict: input 'tokens' holds an empty string; expected non-empty text"),
    ("echo", ["predict", "--inputs", '{"tokens": [true, false]}'],
     "input 'tokens' of the signature 'predict': received booleans; expected string of shape "
     "(None,)."),
    ("echo", ["predict", "--inputs", '{"tokens": []}'],
     "input 'tokens' of the signature 'predict': received an empty batch (no example); "
     "expected string of shape (None,) with at least one example."),
    ("serve_only", ["predict", "--text", "hello"],
     "the export has no signature 'predict'; its signatures: serve (choose one with "
     "--signature)."),
    ("classifier", ["predict", "--signature", "serve", "--inputs", '{"tokens": [[1, 2, 12]]}'],
     "serve: input 'tokens' holds id 12 at [0, 2]; expected ids in [0, 9)"),
    ("classifier", ["predict", "--signature", "serve", "--inputs", '{"tokens": [1, 2]}'],
     "input 'tokens' of the signature 'serve': received shape (2,) (rank 1); expected int32 of "
     "shape (None, None) (rank 2)."),
    ("classifier", ["predict", "--signature", "serve", "--inputs", '{"tokens": [[1.5, 2]]}'],
     "input 'tokens' of the signature 'serve': received floats; expected int32 of shape "
     "(None, None)."),
    ("classifier", ["predict", "--signature", "serve", "--text", "hello"],
     "--text: the signature 'serve' has no text input (a string input named tokens or source); "
     "it takes: tokens (int32 of shape (None, None))."),
    ("features", ["predict", "--signature", "serve", "--inputs",
                  '{"features": [[[0.5, 1.0, 2.0]]]}'],
     "input 'features' of the signature 'serve': received shape (1, 1, 3); expected float32 of "
     "shape (None, None, 2) (size 2 on axis 2, not 3)."),
    ("features", ["predict", "--signature", "serve", "--inputs",
                  '{"features": [[[0.5, 1.0]], [[0.5]]]}'],
     "input 'features' of the signature 'serve': received a ragged nested list"),
    ("bare_translator", ["generate", "--signature", "translate", "--inputs",
                         '{"source": [[1, 2]], "max_length": 3, "temperature": 0.0, "top_k": 0}'],
     "missing input 'seed' (int32 of shape ()) of the signature 'translate'"),
    ("bare_translator", ["generate", "--signature", "beam_search", "--inputs",
                         '{"source": [[1, 2]], "max_length": 0, "alpha": 0.6}'],
     "beam_search: input 'max_length' is 0; expected an integer >= 1"),
    ("bare_translator", ["generate", "--signature", "beam_search", "--max-length", "3",
                         "--inputs", '{"source": [[1, 2]], "target_in": [[1]], "alpha": 0.6}'],
     "unknown input 'target_in'; the signature 'beam_search' takes: alpha, max_length, source."),
    # Refused inside the zoo exports' predict / predict_beam, shown as their one line.
    ("generator", ["generate", "--condition", "Z major"],
     "predict: input 'condition' has an unknown name \"Z major\" at row 0; expected one of "
     "['C major', 'D major', 'E minor']"),
    ("generator", ["generate", "--signature", "generate", "--condition", "D major"],
     "--condition: the signature 'generate' takes condition ids (int32), not names. Received: "
     "'D major'; valid ids: 0 (C major), 1 (D major), 2 (E minor). Leave out --signature to "
     "call `predict`, which takes names."),
    ("generator", ["generate", "--condition", "7"],
     "predict: input 'condition' id \"7\" at row 0 is out of range; expected an id in [0, 3)"),
    ("classifier", ["predict", "--text", "1 2 12"],
     "predict: input 'tokens' token id [12] is out of range; expected ids in [1, 9)"),
    ("features", ["predict", "--inputs", '{"features": [[[0.5, 1.0, 2.0]]]}'],
     "predict: input 'features' has 3 features (last axis); expected 2."),
    ("translator", ["generate", "--text", "abc", "--beam", "--top-k", "3"],
     "--top-k: the signature 'predict_beam' takes no input 'top_k'; it takes: alpha, "
     "max_length, source."),
    ("empty", ["predict"], "is not a SavedModel: it holds no saved_model.pb."),
    ("versions", ["predict"], "is not a SavedModel but a folder of export versions (1, 2, 10); "
                              "did you mean "),
    ("run", ["generate"], "is a run folder, not a SavedModel; run `zoo export "),
]
IDS = [f"{i}-{kind}-{argv[0]}" for i, (kind, argv, _) in enumerate(BAD)]


@pytest.mark.parametrize("kind,argv,message", BAD, ids=IDS)
def test_bad_input_is_refused_in_one_line(exports, capsys, kind, argv, message):
    _, paths = exports
    command, *rest = argv
    code, out, err = _main(capsys, command, paths[kind], *rest)
    assert code == 2, (out, err)
    assert err.startswith(f"zoo {command}: error: ") and message in err, err
    assert "Traceback" not in err, err
    if kind == "versions":
        assert f"did you mean {os.path.join(paths['versions'], '10')}?" in err
    if kind == "run":
        assert f"run `zoo export {paths['run']}` first" in err


# Exhaustive tier: a real `zoo` process (a TensorFlow start) per bad input. The default and
# CI tiers check each message in-process (test_bad_input_is_refused_in_one_line) and one of
# them through a real process (test_the_zoo_command_refuses_in_one_line_and_reaches_...).
@pytest.mark.exhaustive
@pytest.mark.parametrize("kind,argv,message", BAD, ids=IDS)
def test_bad_input_through_the_zoo_command(exports, kind, argv, message):
    _, paths = exports
    command, *rest = argv
    done = _zoo(command, paths[kind], *rest)
    assert done.returncode == 2, done.stderr[-3000:]
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]


@pytest.mark.slow
def test_the_zoo_command_refuses_in_one_line_and_reaches_beam_search(exports):
    _, paths = exports
    for kind, argv, message in BAD[:1]:
        command, *rest = argv
        done = _zoo(command, paths[kind], *rest)
        assert done.returncode == 2, done.stderr[-3000:]
        assert message in done.stderr and "Traceback" not in done.stderr, done.stderr[-3000:]
        # One line, the last (TensorFlow's start-up log lines may come before it).
        assert done.stderr.strip().splitlines()[-1].startswith(f"zoo {command}: error: "
                                                               + message), done.stderr
    done = _zoo("generate", paths["bare_translator"], "--signature", "beam_search",
                "--max-length", "3", "--inputs", '{"source": [[1, 2, 3]], "alpha": 0.6}')
    assert done.returncode == 0, done.stderr[-3000:]
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith(f"[generate] 1 sequence(s) through {paths['bare_translator']} "
                           "(beam_search): scores (1,), tokens (1, 3)"), last


def test_generate_fills_options_from_predict_defaults(exports, capsys):
    _, paths = exports
    code, out, _ = _main(capsys, "generate", paths["flawed"], "--condition", "D major",
                         "--num", "2", "--seed", "3")
    assert code == 0
    lines = out.strip().splitlines()
    # Defaults from the export, the seed from the command line; --num copies of the condition.
    assert lines[:2] == ["D major|5|0.50|0|3  (score 0.0000)",
                         "D major|5|0.50|0|3  (score -1.0000)"]
    assert lines[2] == (f"[generate] 2 sequence(s) through {paths['flawed']} (predict): "
                        "scores (2,), text (2,), token_ids (2, 5), tokens (2, 5)")
    code, out, err = _main(capsys, "generate", paths["flawed"], "--condition", "C major",
                           "--max-length", "2", "--temperature", "0", "--top-k", "4", "--json")
    assert code == 0 and err.startswith("[generate] 1 sequence(s)")
    assert json.loads(out) == {"text": ["C major|2|0.00|4|7"], "tokens": [["a", "a"]],
                               "token_ids": [[3, 3]], "scores": [0.0]}


def test_predict_text_goes_raw_to_the_signature(exports, capsys):
    _, paths = exports
    texts = ["Hello, WORLD!", "Mardi 14 juillet 1789", "  élan — ça "]
    code, out, _ = _main(capsys, "predict", paths["echo"], *[a for t in texts
                                                             for a in ("--text", t)])
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == [f"{t}  {json.dumps([1.0, 0.0] if len(t) % 2 == 0 else [0.0, 1.0])}"
                         for t in texts]
    code, out, _ = _main(capsys, "predict", paths["echo"], "--text", texts[2], "--json")
    assert json.loads(out) == {"label": [texts[2]], "class_id": [len(texts[2]) % 2],
                               "probabilities": [[0.0, 1.0] if len(texts[2]) % 2 else
                                                 [1.0, 0.0]]}


def test_signature_reaches_serve_and_beam_search(exports, capsys):
    models, paths = exports
    code, out, _ = _main(capsys, "predict", paths["features"], "--signature", "serve",
                         "--inputs", "@" + paths["features.json"], "--json")
    assert code == 0
    features = json.load(open(paths["features.json"]))["features"]
    expected = models["features"]({"features": np.array(features, "float32")}).numpy()
    np.testing.assert_allclose(json.loads(out)["output_0"], expected, atol=1e-6)

    source = np.array([[1, 2, 3], [4, 5, 6]], "int32")
    code, out, _ = _main(capsys, "generate", paths["bare_translator"], "--signature",
                         "beam_search",
                         "--max-length", "4", "--inputs",
                         json.dumps({"source": source.tolist(), "alpha": 0.6}), "--json")
    assert code == 0
    got = json.loads(out)
    want = tf.saved_model.load(paths["bare_translator"]).signatures["beam_search"](
        source=tf.constant(source), max_length=tf.constant(4), alpha=tf.constant(0.6))
    assert got["tokens"] == want["tokens"].numpy().tolist()
    np.testing.assert_allclose(got["scores"], want["scores"].numpy(), atol=1e-6)
    assert np.array(got["tokens"]).shape == (2, 4)  # (batch, max_length): the best beam


def test_the_run_marker_is_the_run_folders(exports):
    from zoo.training import runs

    assert client.RUN_MARKER == runs.RUN_FILES["recipe"]


@pytest.mark.slow
def test_the_client_reads_no_vocabulary(exports):
    # The CLI's process imports neither the tokenizer nor the export's JSON reader.
    _, paths = exports
    script = ("import sys; from zoo import cli; code = cli.main(['predict', sys.argv[1], "
              "'--text', 'hi']); print('CODE', code, 'zoo.data.text' in sys.modules, "
              "'zoo.export' in sys.modules)")
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    done = subprocess.run([sys.executable, "-c", script, paths["echo"]], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "CODE 0 False False", done.stderr[-2000:]


def _direct(path, name, **inputs):
    loaded = tf.saved_model.load(path)
    fn = loaded.signatures[name]
    specs = fn.structured_input_signature[1]
    defaults = {k: v for k, v in loaded.signatures["predict_defaults"]().items() if k in specs}
    given = {k: tf.constant(v) for k, v in inputs.items()}
    batch = next(len(v) for v in inputs.values() if np.ndim(v) == 1)
    # A scalar default of a per-example input (the generator's primer) is one per example.
    defaults = {k: tf.fill([batch], v) if specs[k].shape.rank == 1 else v
                for k, v in defaults.items()}
    out = fn(**{**defaults, **given})
    return {k: (np.char.decode(v.numpy().astype(bytes), "utf-8") if v.dtype == tf.string
                else v.numpy()).tolist() for k, v in out.items()}


@pytest.mark.slow
def test_generate_is_the_exports_predict_with_its_defaults(exports, capsys):
    _, paths = exports
    # A generator: --num copies of the condition, by name; options from predict_defaults.
    code, out, _ = _main(capsys, "generate", paths["generator"], "--condition", "D major",
                         "--num", "3", "--seed", "4", "--json")
    assert code == 0
    got = json.loads(out)
    assert got == _direct(paths["generator"], "predict", condition=["D major"] * 3,
                          seed=np.int32(4))
    assert len(got["text"]) == 3 and len(got["token_ids"][0]) == 7  # the export's max_length
    # An encoder-decoder: raw source text, beam search through predict_beam.
    texts = ["abc 12", "H"]
    code, out, _ = _main(capsys, "generate", paths["translator"], "--text", texts[0], "--text",
                         texts[1], "--beam", "--max-length", "4", "--json")
    assert code == 0
    got = json.loads(out)
    want = _direct(paths["translator"], "predict_beam", source=texts, max_length=np.int32(4))
    assert got["token_ids"] == want["token_ids"] and got["text"] == want["text"]
    np.testing.assert_allclose(got["scores"], want["scores"], atol=1e-6)
    # Printed readably: the decoded text and its score per source.
    code, out, _ = _main(capsys, "generate", paths["translator"], "--text", texts[0],
                         "--beam", "--max-length", "4")
    assert out.splitlines()[0] == f"{want['text'][0] or chr(34) * 2}  (score " \
                                  f"{want['scores'][0]:.4f})"


def test_signature_reaches_initial_state_and_step(exports, capsys):
    models, paths = exports
    code, out, _ = _main(capsys, "predict", paths["features"], "--signature", "initial_state",
                         "--inputs", '{"batch_size": 1}', "--json")
    assert code == 0
    states = json.loads(out)
    assert sorted(states) and all(k.startswith("state_") for k in states)
    x = np.array([[[0.5, 1.0], [0.1, 0.0], [0.3, -1.0]]], "float32")
    # Chunk by chunk through the command, the states carried in its JSON output.
    for chunk in (x[:, :2], x[:, 2:]):
        path = os.path.join(os.path.dirname(paths["features.json"]), "step.json")
        with open(path, "w") as f:
            json.dump(dict(states, features=chunk.tolist()), f)
        code, out, _ = _main(capsys, "predict", paths["features"], "--signature", "step",
                             "--inputs", "@" + path, "--json")
        assert code == 0
        step = json.loads(out)
        states = {k: v for k, v in step.items() if k.startswith("state_")}
    whole = models["features"]({"features": x}).numpy()
    np.testing.assert_allclose(step["output_0"], whole, atol=1e-5)


def test_help_says_the_defaults_are_the_exports():
    sub = next(a for a in cli.build_parser()._actions if a.dest == "command")
    text = " ".join(sub.choices["generate"].format_help().split())
    for flag in ("--max-length", "--temperature", "--top-k", "--seed", "--alpha"):
        assert flag in text
    assert text.count("(default: the export's)") == 5, text

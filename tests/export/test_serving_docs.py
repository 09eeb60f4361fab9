"""docs/serving.md, run: every block marked ``<!-- serving-test: ... -->`` is applied
to a tiny export of its model kind. A JSON body goes through TensorFlow Serving's
REST rules (row ``instances`` / columnar ``inputs``) onto the signature it names,
loaded with ``tf.saved_model.load``; a ``saved_model_cli`` command runs for real.
Each is checked against the in-process endpoint on the same inputs."""

import ast
import json
import os
import re
import shlex
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo import decoding

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_serving_docs")

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "serving.md")
MARKER = re.compile(r"<!-- serving-test: (?P<attrs>[^>]*?) -->\s*```(?P<lang>\w+)\n"
                    r"(?P<body>.*?)```", re.S)

KINDS = {
    "classifier": ("many_to_one", {"input_dim": 3, "num_classes": 2, "units": 4}),
    "regression": ("many_to_one", {"input_dim": 1, "output_dim": 1, "units": 4}),
    "tagger": ("many_to_many", {"vocab_size": 11, "num_classes": 3, "units": 4}),
    "generator": ("one_to_many", {"num_conditions": 3, "vocab_size": 9, "units": 4,
                                  "end_token": 3}),
    "encoder_decoder": ("encoder_decoder", {"source_vocab_size": 12, "target_vocab_size": 9,
                                            "units": 4, "end_token": 3}),
}


def _blocks():
    text = open(DOC).read()
    blocks = []
    for match in MARKER.finditer(text):
        attrs = dict(pair.split("=", 1) for pair in match["attrs"].split())
        blocks.append({**attrs, "lang": match["lang"], "body": match["body"],
                       "line": text[:match.start()].count("\n") + 1})
    return blocks


BLOCKS = _blocks()


def _ids(blocks):
    return [f"{b['kind']}-{b['signature']}-{b['lang']}-line{b['line']}" for b in blocks]


def test_the_page_has_a_tested_block_of_every_kind_and_form():
    kinds = {b["kind"] for b in BLOCKS}
    assert kinds == set(KINDS)
    bodies = [json.loads(b["body"]) for b in BLOCKS if b["lang"] == "json"]
    assert any("instances" in body for body in bodies) and any("inputs" in body for body in bodies)
    assert {b["kind"] for b in BLOCKS if b["lang"] == "bash"} >= {
        "classifier", "generator", "encoder_decoder"}
    for kind in ("classifier", "regression", "tagger", "generator", "encoder_decoder"):
        assert f"### {kind.replace('_', '-').capitalize()}" in open(DOC).read()
    for page in ("streaming.md", "litert.md"):
        assert f"]({page})" in open(DOC).read()


@pytest.fixture(scope="session")
def exports(tmp_path_factory):
    """kind -> (model, loaded SavedModel, its path), exported on first use."""
    folder, made = tmp_path_factory.mktemp("serving_docs"), {}

    def get(kind):
        if kind not in made:
            name, kwargs = KINDS[kind]
            keras.utils.set_random_seed(0)
            model = zoo.create_model(name, **kwargs)
            # Verification has its own tests; here the doc's calls are under test.
            path = export.export_saved_model(model, folder / kind, verify=False)
            made[kind] = (model, tf.saved_model.load(str(path)), path)
        return made[kind]

    return get


def _rest_arguments(body, signature):
    """TF Serving's REST rules: the body's inputs as the signature's tensors."""
    specs = signature.structured_input_signature[1]
    if ("instances" in body) == ("inputs" in body):
        raise AssertionError("a REST body has exactly one of 'instances' and 'inputs'")
    if "instances" in body:
        rows = body["instances"]
        if not all(isinstance(row, dict) for row in rows):
            (name,) = specs  # a bare value per instance: the single-input form
            rows = [{name: row} for row in rows]
        columns = {name: [row[name] for row in rows] for name in rows[0]}
    else:
        columns = body["inputs"]
        if not isinstance(columns, dict):
            (name,) = specs
            columns = {name: columns}
    assert set(columns) == set(specs), (sorted(columns), sorted(specs))
    return {name: tf.constant(value, dtype=specs[name].dtype) for name, value in columns.items()}


@pytest.mark.parametrize("block", [b for b in BLOCKS if b["lang"] == "json"],
                         ids=_ids([b for b in BLOCKS if b["lang"] == "json"]))
def test_a_rest_body_of_the_page_calls_its_signature(block, exports):
    model, loaded, path = exports(block["kind"])
    body = json.loads(block["body"])
    assert body["signature_name"] == block["signature"]
    signature = loaded.signatures[body["signature_name"]]
    arguments = _rest_arguments(body, signature)
    got = signature(**arguments)
    assert sorted(got) == sorted(block["outputs"].split(","))
    # The same call in process, through the Python API: the body meant what it says.
    x = {k: v.numpy() for k, v in arguments.items()}
    if block["signature"] == "serve":
        want = {"output_0": keras.ops.convert_to_numpy(model(x))}
    elif block["signature"] == "generate":
        want = decoding.generate(model, x["condition"], max_length=int(x["max_length"]),
                                 temperature=float(x["temperature"]), top_k=int(x["top_k"]),
                                 seed=int(x["seed"]))
    elif block["signature"] == "translate":
        want = decoding.translate(model, x["source"], max_output_length=int(x["max_length"]),
                                  temperature=float(x["temperature"]), top_k=int(x["top_k"]),
                                  seed=int(x["seed"]))
    elif block["signature"] == "beam_search":
        want = decoding.translate(model, x["source"], max_output_length=int(x["max_length"]),
                                  beam_width=export.read_export_info(path)["beam_width"],
                                  alpha=float(x["alpha"]))
    else:
        want = _bare_predict(model, block["kind"], x)
    if not isinstance(want, dict):
        want = dict(zip(("tokens", "scores"), want))
    for name, value in want.items():
        if got[name].dtype == tf.string:
            np.testing.assert_array_equal(got[name].numpy().astype(str), value, err_msg=name)
        else:
            np.testing.assert_allclose(got[name].numpy(), value, atol=1e-5, err_msg=name)


def _bare_predict(model, kind, x):
    """What ``predict`` of a bare export answers, from the Keras model: features as they
    are, token ids from their decimal text (0-padded), classes named by their ids."""
    if kind == "tagger":
        rows = [[int(t) for t in text.decode().split()] for text in x["tokens"]]
        ids = np.zeros((len(rows), max(map(len, rows))), "int32")
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
        logits = keras.ops.convert_to_numpy(model({"tokens": ids}))
        probabilities = np.exp(logits - logits.max(-1, keepdims=True))
        probabilities /= probabilities.sum(-1, keepdims=True)
        class_ids = np.where(ids > 0, logits.argmax(-1), 0)
        labels = np.where(ids > 0, class_ids.astype(str), "")
        return {"class_ids": class_ids, "labels": labels, "probabilities": probabilities}
    out = keras.ops.convert_to_numpy(model(x))
    if kind == "regression":
        return {"value": out}
    probabilities = np.exp(out - out.max(-1, keepdims=True))
    probabilities /= probabilities.sum(-1, keepdims=True)
    return {"class_id": out.argmax(-1), "label": out.argmax(-1).astype(str),
            "probabilities": probabilities}


_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|inf")


def _parse_cli_output(text):
    """name -> the flat values ``saved_model_cli run`` printed (``Result for output key K:``
    then a NumPy printout)."""
    found = {}
    for match in re.finditer(r"Result for output key (\w+):\n(.*?)(?=\nResult for output key|\Z)",
                             text, re.S):
        assert "..." not in match[2], "a printout NumPy summarised"
        found[match[1]] = np.array([float(v) for v in _NUMBER.findall(match[2])])
    return found


# One command runs in the default suite (a TensorFlow process each: ~10 s); the rest
# are marked slow.
_COMMANDS = [b for b in BLOCKS if b["lang"] == "bash"]


@pytest.mark.parametrize("block", [
    pytest.param(b, marks=() if i == 0 else pytest.mark.slow) for i, b in enumerate(_COMMANDS)],
    ids=_ids(_COMMANDS))
def test_a_saved_model_cli_command_of_the_page_runs(block, exports):
    _, loaded, path = exports(block["kind"])
    argv = shlex.split(block["body"].replace("\\\n", " ").replace("$EXPORT", str(path)))
    assert argv[:2] == ["saved_model_cli", "run"]
    assert argv[argv.index("--signature_def") + 1] == block["signature"]
    cmd = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"] + argv[1:]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = _parse_cli_output(proc.stdout)
    assert sorted(got) == sorted(block["outputs"].split(",")), proc.stdout[-2000:]
    # The same inputs through tf.saved_model.load give what the command printed.
    exprs = argv[argv.index("--input_exprs") + 1]
    signature = loaded.signatures[block["signature"]]
    specs = signature.structured_input_signature[1]
    arguments = {k: tf.constant(ast.literal_eval(v), dtype=specs[k].dtype)
                 for k, v in (item.split("=", 1) for item in exprs.split(";"))}
    assert set(arguments) == set(specs)
    reference = signature(**arguments)
    for name, value in got.items():
        # NumPy prints 8 significant digits.
        np.testing.assert_allclose(value, reference[name].numpy().reshape(-1), rtol=1e-6,
                                   atol=1e-6)

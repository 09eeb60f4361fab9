"""The raw-level check of a generative recipe's export: ``predict`` called in a
process that never imported zoo (``tf.saved_model.load`` only) against the in-process
model on the pipeline's ids."""

import json
import os

import keras
import numpy as np

import zoo.decoding
from tests.helpers import zoo_free

# A zoo-free client: each call is {"path", "signature", "inputs": {name: [value, dtype]}};
# it answers the outputs (strings decoded) or {"error": message}.
CLIENT = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "zoo" not in sys.modules
calls = json.load(open(sys.argv[1]))
loaded, answers = {}, []
for call in calls:
    if call["path"] not in loaded:
        loaded[call["path"]] = tf.saved_model.load(call["path"])
    fn = loaded[call["path"]].signatures[call["signature"]]
    args = {k: tf.constant(v, dtype=d) for k, (v, d) in call["inputs"].items()}
    try:
        out = fn(**args)
    except tf.errors.InvalidArgumentError as err:
        answers.append({"error": err.message})
        continue
    answers.append({k: {"dtype": v.dtype.name, "value": (
        np.char.decode(np.asarray(v.numpy()).astype(bytes), "utf-8").tolist()
        if v.dtype == tf.string else v.numpy().tolist())} for k, v in out.items()})
print(json.dumps(answers))
"""


def run_fresh(calls, folder):
    """Answers of `calls` from a Python process that never imported zoo
    (:func:`tests.helpers.zoo_free`)."""
    request = os.path.join(str(folder), "calls.json")
    with open(request, "w", encoding="utf-8") as handle:
        json.dump(calls, handle)
    proc = zoo_free(CLIENT, [request])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def options(max_length, temperature, top_k, seed):
    """The option inputs of ``predict`` as client inputs."""
    return {"max_length": [int(max_length), "int32"], "temperature": [float(temperature),
                                                                      "float32"],
            "top_k": [int(top_k), "int32"], "seed": [int(seed), "int32"]}


def unprimed(batch):
    """The primer inputs of a generator's ``predict`` that ask for none."""
    return {"primer": [[""] * batch, "string"], "include_primer": [False, "bool"]}


def check_decoded(answer, token_ids, scores, tokenizer):
    """A ``predict`` answer against in-process ids and scores, decoded by `tokenizer`
    (``zoo.data.text.Tokenizer.decode``, the independent path)."""
    assert "error" not in answer, answer
    assert answer["token_ids"]["dtype"] == "int32"
    np.testing.assert_array_equal(answer["token_ids"]["value"], token_ids)
    assert answer["text"]["value"] == [tokenizer.decode(row) for row in token_ids]
    vocabulary = tokenizer.get_vocabulary()
    for got, row in zip(answer["tokens"]["value"], np.asarray(token_ids).tolist()):
        end = row.index(3) if 3 in row else len(row)
        want = [vocabulary[i] if j < end and i not in (0, 2) else "" for j, i in enumerate(row)]
        assert got == want
    assert answer["scores"]["dtype"] == "float32"
    np.testing.assert_allclose(answer["scores"]["value"], scores, atol=1e-5, rtol=1e-5)


def load_run_model(run_dir):
    return keras.models.load_model(os.path.join(run_dir, "model.keras"))


def check_seq2seq_export(export_dir, run_dir, texts, source_ids, target_tokenizer, tmp_path,
                         *, beam_width=4):
    """Fresh-process ``predict`` (greedy, with its defaults) and ``predict_beam`` on the
    raw `texts` against ``zoo.decoding.translate`` of the run's model on
    `source_ids`, the pipeline's ids of those texts."""
    model = load_run_model(run_dir)
    calls = [{"path": export_dir, "signature": "predict_defaults", "inputs": {}}]
    answers = run_fresh(calls, tmp_path)
    defaults = {k: v["value"] for k, v in answers[0].items()}
    max_length = defaults["max_length"]
    calls = [
        {"path": export_dir, "signature": "predict",
         "inputs": {"source": [list(texts), "string"], **options(max_length, 0.0, 0, 0)}},
        {"path": export_dir, "signature": "predict",
         "inputs": {"source": [list(texts), "string"], **options(max_length, 1.0, 3, 7)}},
        {"path": export_dir, "signature": "predict_beam",
         "inputs": {"source": [list(texts), "string"], "max_length": [max_length, "int32"],
                    "alpha": [defaults["alpha"], "float32"]}},
    ]
    greedy, sampled, beam = run_fresh(calls, tmp_path)
    check_decoded(greedy, *zoo.decoding.translate(model, source_ids), target_tokenizer)
    check_decoded(sampled, *zoo.decoding.translate(model, source_ids, temperature=1.0, top_k=3,
                                                   seed=7), target_tokenizer)
    check_decoded(beam, *zoo.decoding.translate(model, source_ids, beam_width=beam_width,
                                                alpha=defaults["alpha"]), target_tokenizer)
    return defaults, greedy

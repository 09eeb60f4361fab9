"""Run a recipe end to end on its TINY config and check what it left behind."""

import json
import os

from zoo import recipe as base


def run_tiny(recipe, tmp_path, data_dir, **overrides):
    config = base.make_config(recipe, tiny=True,
                              overrides=[f"{k}={v!r}" for k, v in overrides.items()])
    run_dir = str(tmp_path / "run")
    export_dir = str(tmp_path / "export")
    summary = base.run(recipe, config, data_dir=data_dir, run_dir=run_dir,
                       export_dir=export_dir, verbose=0)
    assert summary["status"] == "complete"
    assert summary["epochs"] == config.epochs
    for name in ("config.json", "metrics.json", "history.csv", "learning_curve.png",
                 "model.keras", "recipe.json"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
    info = json.load(open(os.path.join(export_dir, "zoo_export.json")))
    assert info["recipe"] == base.recipe_name(recipe)
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["test"] == summary["test"]
    return summary, run_dir, export_dir, info


# --- the raw-input check of an export: predict in a fresh process without zoo ------

# Runs each call of a JSON list ({"path", "signature", "inputs", "dtypes"}) in a process
# that never imports zoo; prints each call's outputs (strings decoded) or its error.
_CALL_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "zoo" not in sys.modules
calls = json.loads(open(sys.argv[1]).read())
loaded, results = {}, []
for call in calls:
    path = call["path"]
    if path not in loaded:
        loaded[path] = tf.saved_model.load(path)
    fn = loaded[path].signatures[call.get("signature", "predict")]
    args = {k: tf.constant(v, dtype=call["dtypes"][k]) for k, v in call["inputs"].items()}
    try:
        out = fn(**args)
    except tf.errors.InvalidArgumentError as e:
        results.append({"error": e.message})
        continue
    results.append({"outputs": {k: (np.vectorize(lambda b: b.decode("utf-8"), otypes=[str])(
                                        v.numpy()) if v.dtype == tf.string else v.numpy()
                                    ).tolist() for k, v in out.items()},
                    "dtypes": {k: v.dtype.name for k, v in out.items()}})
print(json.dumps(results))
"""


def call_fresh(calls):
    """Answer `calls` (dicts: "path", "inputs" name -> JSON value, "dtypes" name -> dtype,
    optional "signature", default "predict") in a process that never imported zoo
    (:func:`tests.helpers.zoo_free`) and loads each export with ``tf.saved_model.load``
    only; a list of {"outputs", "dtypes"} or {"error"}."""
    import tempfile

    from tests.helpers import zoo_free

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(calls, handle)
    try:
        proc = zoo_free(_CALL_SCRIPT, [handle.name])
    finally:
        os.unlink(handle.name)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _softmax(y):
    import numpy as np

    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def check_raw_predict(run_dir, export_dir, raw, model_inputs, *, class_names=None,
                      to_units=None):
    """Call the export's ``predict`` on `raw` ({name: list}, e.g. raw strings or raw
    feature arrays) in a fresh process without zoo, and check it gives the answer of the
    run's trained model (``model.keras``) on `model_inputs`, the pipeline's inputs for the
    same examples: the class (named by `class_names`) and probabilities of a classifier,
    the label per real token of a tagger ("" on padding), or the value of a regression
    model mapped to the data's units by `to_units`. Returns predict's outputs."""
    import keras
    import numpy as np

    name, value = next(iter(raw.items()))
    value = np.asarray(value)
    dtype = "string" if value.dtype.kind in "OUS" else "float32"
    [answer] = call_fresh([{"path": str(export_dir), "inputs": {name: value.tolist()},
                            "dtypes": {name: dtype}}])
    assert "outputs" in answer, answer
    out = answer["outputs"]
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    y = np.asarray(keras.ops.convert_to_numpy(model(model_inputs, training=False)), np.float32)
    if "value" in out:
        assert answer["dtypes"] == {"value": "float32"}
        expected = np.asarray(to_units(y) if to_units is not None else y)
        scale = max(1.0, float(np.max(np.abs(expected))))
        np.testing.assert_allclose(out["value"], expected, rtol=0, atol=1e-5 * scale)
        return out
    np.testing.assert_allclose(out["probabilities"], _softmax(y), atol=1e-5)
    if "label" in out:
        ids = y.argmax(-1)
        assert out["class_id"] == ids.tolist()
        assert out["label"] == [class_names[i] for i in ids]
        return out
    ids = np.asarray(model_inputs["tokens"])
    tags = np.where(ids == 0, 0, y.argmax(-1))
    assert out["class_ids"] == tags.tolist()
    assert out["labels"] == [[class_names[t] if i else "" for t, i in zip(tr, ir)]
                             for tr, ir in zip(tags, ids)]
    return out


def mock_conll2003(self, split, **kwargs):
    """Mocked conll2003 sentences whose tags match their words in length (the mock
    data's own sequences do not, and the ner pipeline checks it): an ``as_dataset_fn``."""
    import numpy as np
    import tensorflow as tf

    del self, kwargs
    words = np.array(["Peter", "lives", "in", "Berlin", "the", "EU", "said", "."])

    def gen():
        rng = np.random.default_rng({"train": 0, "dev": 1, "test": 2}[split])
        for _ in range(12):
            n = int(rng.integers(2, 9))
            yield {"tokens": words[rng.integers(0, len(words), n)],
                   "ner": rng.integers(0, 9, n), "pos": rng.integers(0, 47, n),
                   "chunks": rng.integers(0, 23, n)}

    spec = {"tokens": tf.TensorSpec((None,), tf.string), "ner": tf.TensorSpec((None,), tf.int64),
            "pos": tf.TensorSpec((None,), tf.int64), "chunks": tf.TensorSpec((None,), tf.int64)}
    return tf.data.Dataset.from_generator(gen, output_signature=spec)

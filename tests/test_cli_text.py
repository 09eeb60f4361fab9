"""`zoo predict --text` and `zoo generate --text` encode with the training tokenizer,
rebuilt from the export's vocabulary artifact: the ids are those the training pipeline
feeds (word level, lower-cased, punctuation split), and outputs decode with it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo
from zoo import cli

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")
from zoo.data import pipelines, text  # noqa: E402  (after the TensorFlow check)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ZOO = os.path.join(os.path.dirname(sys.executable), "zoo")
TRAIN = ["Hello, world! A fine film.", "hello again, WORLD", "a bad film", "good actors!"]
TEXTS = ["Hello, WORLD!", "a zebra film...", "HELLO"]
CLASSES = ["negative", "positive"]


def _zoo(*args):
    cmd = [ZOO] if os.path.exists(ZOO) else [sys.executable, "-m", "zoo.cli"]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    return subprocess.run([*cmd, *args], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300)


def _tokenizer():
    train = tf.data.Dataset.from_tensor_slices(TRAIN)
    return text.Tokenizer.adapt(train, level="word", lowercase=True)


def _pipeline_ids(tokenizer, texts):
    """The ids the training pipeline batches for `texts` (in order: not shuffled)."""
    ds = tf.data.Dataset.from_tensor_slices({"text": texts, "label": [0] * len(texts)})
    inputs, _ = next(iter(pipelines.text_classification(ds, tokenizer, batch_size=len(texts))))
    return inputs["tokens"].numpy()


def _artifact(tokenizer):
    # Through JSON, as the run folder and zoo_export.json hold it.
    return json.loads(json.dumps({"input": tokenizer.get_config(), "classes": CLASSES}))


def test_cli_encoding_is_the_training_pipelines():
    tokenizer = _tokenizer()
    ids = cli._encode(TEXTS, cli._tokenizer(_artifact(tokenizer), "input"))
    expected = _pipeline_ids(tokenizer, TEXTS)
    np.testing.assert_array_equal(ids, expected)
    words = tokenizer.get_vocabulary()
    # Lower-cased, punctuation split off, unknown words -> 1, 0-padded.
    assert [words[i] for i in ids[0]] == ["hello", ",", "world", "!", "", ""]
    assert [words[i] for i in ids[1]] == ["a", "[UNK]", "film", ".", ".", "."]
    assert ids[2] == [words.index("hello")] + [0] * 5
    with pytest.raises(ValueError, match="--text needs an export with an input vocabulary"):
        cli._encode(TEXTS, cli._tokenizer({"classes": CLASSES}, "input"))


def _id_echo(vocab_size):
    """A model whose output is its input ids (as floats): (batch, steps, 1)."""
    import keras

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    table = np.arange(vocab_size, dtype="float32")[:, None]
    echo = keras.layers.Embedding(vocab_size, 1, weights=[table], trainable=False)(tokens)
    return keras.Model(tokens, echo)


def test_predict_text_feeds_the_pipeline_ids_end_to_end(tmp_path):
    tokenizer = _tokenizer()
    metadata = {"artifacts": {"vocabulary": _artifact(tokenizer)}}
    expected = _pipeline_ids(tokenizer, TEXTS)

    echo = export.export_saved_model(_id_echo(tokenizer.size), tmp_path / "echo",
                                     metadata=metadata, verify=False)
    args = [a for t in TEXTS for a in ("--text", t)]
    done = _zoo("predict", str(echo), *args)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[-1].startswith(f"[predict] {len(TEXTS)} example(s)")
    fed = np.array([json.loads(line) for line in lines[:-1]])[..., 0]
    np.testing.assert_array_equal(fed, expected)

    # A word-level classifier: the printed prediction is the model's on the pipeline ids.
    model = zoo.create_model("many_to_one", vocab_size=tokenizer.size, num_classes=2, units=16,
                             embedding_dim=16)
    path = export.export_saved_model(model, tmp_path / "classifier", metadata=metadata)
    done = _zoo("predict", str(path), *args)
    assert done.returncode == 0, done.stderr[-3000:]
    logits = np.asarray(model.predict({"tokens": expected}, verbose=0))
    for line, row in zip(done.stdout.strip().splitlines(), logits):
        label, printed = line.split("  ", 1)
        assert label == CLASSES[int(np.argmax(row))]
        np.testing.assert_allclose(json.loads(printed), row, atol=2e-4)
    # The check can tell: the ids of a whitespace split without lower-casing ("Hello,"
    # and "WORLD!" both unknown) give another prediction.
    other = np.asarray(model.predict({"tokens": np.array([[1, 1]], "int32")}, verbose=0))
    assert np.abs(other[0] - logits[0]).max() > 1e-3


def test_generate_text_encodes_sources_and_decodes_outputs(tmp_path, capsys):
    from zoo import decoding

    chars = tf.data.Dataset.from_tensor_slices(["3 mars 1999", "20 oct 2098"])
    source = text.Tokenizer.adapt(chars, level="char", max_length=6)
    target = text.Tokenizer.adapt(tf.data.Dataset.from_tensor_slices(["1999-03-03"]),
                                  level="char")
    model = zoo.create_model("encoder_decoder", source_vocab_size=source.size,
                             target_vocab_size=target.size, units=8, max_output_length=5,
                             start_token=text.START_ID, end_token=None)
    vocabulary = {"input": source.get_config(), "output": target.get_config()}
    path = export.export_saved_model(model, tmp_path / "dates", verify=False,
                                     metadata={"artifacts": {"vocabulary": vocabulary}})
    texts = ["3 MARS 1999", "?? oct"]
    assert cli.main(["generate", str(path), "--text", texts[0], "--text", texts[1],
                     "--temperature", "1", "--seed", "5", "--max-length", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The pipeline's source ids (cut to the tokenizer's 6 characters), sampled alike.
    ds = tf.data.Dataset.from_tensor_slices({"source": texts, "target": ["", ""]})
    inputs, _ = next(iter(pipelines.seq2seq(ds, source, target, batch_size=2)))
    assert inputs["source"].shape == (2, 6)
    tokens, _ = decoding.translate(model, inputs["source"].numpy(), max_output_length=5,
                                   temperature=1.0, seed=5)
    decoded = [target.decode(row) for row in tokens]
    assert lines[:2] == decoded and all(decoded), lines

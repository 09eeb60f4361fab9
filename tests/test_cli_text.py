"""`zoo predict --text` and `zoo generate --text` hand the raw strings to the export's
`predict` signature, which tokenizes inside the SavedModel with the training
tokenizer's vocabulary (an asset): what the command prints is the model's answer on
the ids the training pipeline feeds (word level, lower-cased, punctuation split), and
outputs decode with the training output tokenizer. The command itself tokenizes
nothing (tests/test_cli_serving.py checks that it imports no tokenizer)."""

import json

import numpy as np
import pytest

import zoo
from zoo import cli

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")
from zoo.data import pipelines, text  # noqa: E402  (after the TensorFlow check)

TRAIN = ["Hello, world! A fine film.", "hello again, WORLD", "a bad film", "good actors!"]
TEXTS = ["Hello, WORLD!", "a zebra film...", "HELLO"]
CLASSES = ["negative", "positive"]


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


@pytest.mark.slow
def test_predict_text_gives_the_models_answer_on_the_pipeline_ids(tmp_path, capsys):
    tokenizer = _tokenizer()
    metadata = {"artifacts": {"vocabulary": _artifact(tokenizer)}}
    expected = _pipeline_ids(tokenizer, TEXTS)
    model = zoo.create_model("many_to_one", vocab_size=tokenizer.size, num_classes=2, units=16,
                             embedding_dim=16)
    path = export.export_saved_model(model, tmp_path / "classifier", metadata=metadata,
                                     verify=False)
    args = [a for t in TEXTS for a in ("--text", t)]
    assert cli.main(["predict", str(path), *args]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith(f"[predict] {len(TEXTS)} example(s) through {path} (predict)")
    logits = np.asarray(model.predict({"tokens": expected}, verbose=0))
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    for line, row in zip(lines, probabilities):
        label, printed = line.split("  ", 1)
        assert label == CLASSES[int(np.argmax(row))]
        np.testing.assert_allclose(json.loads(printed), row, atol=2e-4)
    # The check can tell: the ids of a whitespace split without lower-casing ("Hello,"
    # and "WORLD!" both unknown) give another prediction.
    other = np.asarray(model.predict({"tokens": np.array([[1, 1]], "int32")}, verbose=0))
    assert np.abs(other[0] - logits[0]).max() > 1e-3


@pytest.mark.slow
def test_generate_text_is_encoded_and_decoded_by_the_export(tmp_path, capsys):
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
                     "--temperature", "1", "--top-k", "0", "--seed", "5", "--max-length",
                     "5"]) == 0
    lines = [line.rsplit("  (score ", 1)[0] for line in capsys.readouterr().out.splitlines()]
    # The pipeline's source ids (cut to the tokenizer's 6 characters), sampled alike.
    ds = tf.data.Dataset.from_tensor_slices({"source": texts, "target": ["", ""]})
    inputs, _ = next(iter(pipelines.seq2seq(ds, source, target, batch_size=2)))
    assert inputs["source"].shape == (2, 6)
    tokens, _ = decoding.translate(model, inputs["source"].numpy(), max_output_length=5,
                                   temperature=1.0, seed=5)
    decoded = [target.decode(row) for row in tokens]
    assert lines[:2] == decoded and all(decoded), lines

"""The standard TFDS sets: their real pipeline code on `tfds.testing.mock_data`, and a
fast, clear failure when a set is not on disk and cannot be downloaded."""

import json
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data
from zoo.data import pipelines, standard
from zoo.data.text import Tokenizer
from zoo.recipe import Data


def _check_padded(ids):
    """Each row: real ids (> 0) then only padding; the Keras mask is exactly ids != 0."""
    ids = np.asarray(ids)
    for row in ids:
        n = np.count_nonzero(row)
        assert np.all(row[:n] > 0) and np.all(row[n:] == 0)
    mask = keras.layers.Embedding(1000, 2, mask_zero=True).compute_mask(ids)
    np.testing.assert_array_equal(np.asarray(mask), ids != 0)


def test_imdb_reviews_batches():
    with tfds.testing.mock_data(num_examples=20):
        splits = standard.imdb_reviews(batch_size=4, max_length=6, bucket_boundaries=(3,))
    tokenizer = splits.extras["tokenizers"]["input"]
    assert splits.model_kwargs == {"vocab_size": tokenizer.size, "num_classes": 2}
    # The artifact rebuilds the same tokenizer: word level, lower-cased, cut at 6 words.
    assert set(splits.artifacts) == {"vocabulary"}
    again = Tokenizer.from_config(json.loads(json.dumps(splits.artifacts["vocabulary"]["input"])))
    assert (again.level, again.lowercase, again.max_length) == ("word", True, 6)
    assert again.get_vocabulary() == tokenizer.get_vocabulary()
    n = 0
    for inputs, labels in splits.train:
        assert list(inputs) == ["tokens"] and inputs["tokens"].dtype == tf.int32
        assert inputs["tokens"].shape[0] == labels.shape[0] <= 4
        assert inputs["tokens"].shape[1] <= 6
        _check_padded(inputs["tokens"])
        assert set(labels.numpy()) <= {0, 1}
        n += labels.shape[0]
    # Every example is batched once (the mock ignores split slicing: 20 per split).
    assert n == 20
    assert sum(int(y.shape[0]) for _, y in splits.validation) == 20


def test_ted_hrlr_translate_teacher_forcing():
    with tfds.testing.mock_data(num_examples=12):
        splits = standard.ted_hrlr_translate(batch_size=4, bucket_boundaries=None)
    assert isinstance(splits, Data)
    vocabulary = splits.artifacts["vocabulary"]
    for role, size in (("input", "source_vocab_size"), ("output", "target_vocab_size")):
        assert len(vocabulary[role]["vocabulary"]) == splits.model_kwargs[size]
        assert splits.extras["tokenizers"][role].get_config() == vocabulary[role]
    assert splits.model_kwargs["start_token"] == pipelines.START_ID
    assert splits.model_kwargs["end_token"] == pipelines.END_ID
    inputs, target_out = next(iter(splits.test))
    assert sorted(inputs) == ["source", "target_in"]
    target_in = inputs["target_in"].numpy()
    target_out = target_out.numpy()
    assert target_in.shape == target_out.shape
    _check_padded(inputs["source"])
    _check_padded(target_in)
    _check_padded(target_out)
    for t_in, t_out in zip(target_in, target_out):
        n = np.count_nonzero(t_out)
        assert t_in[0] == pipelines.START_ID and t_out[n - 1] == pipelines.END_ID
        np.testing.assert_array_equal(t_in[1:n], t_out[: n - 1])  # shifted by one step


def _conll_examples(self, split, **kwargs):
    """Mocked conll2003 examples whose tags match their tokens in length."""
    del self, kwargs
    words = np.array(["Peter", "lives", "in", "Berlin", "the", "EU", "said", "."])

    def gen():  # the same examples on every pass, like a real split
        rng = np.random.default_rng({"train": 0, "dev": 1, "test": 2}[split])
        for _ in range(10):
            n = int(rng.integers(2, 9))
            yield {
                "tokens": words[rng.integers(0, len(words), n)],
                "ner": rng.integers(0, 9, n),
                "pos": rng.integers(0, 47, n),
                "chunks": rng.integers(0, 23, n),
            }

    spec = {
        "tokens": tf.TensorSpec((None,), tf.string),
        "ner": tf.TensorSpec((None,), tf.int64),
        "pos": tf.TensorSpec((None,), tf.int64),
        "chunks": tf.TensorSpec((None,), tf.int64),
    }
    return tf.data.Dataset.from_generator(gen, output_signature=spec)


def test_conll2003_tags_shifted_and_padded():
    with tfds.testing.mock_data(as_dataset_fn=_conll_examples):
        splits = standard.conll2003(batch_size=4, bucket_boundaries=(4,))
        raw = [ex for ex in tfds.as_numpy(zoo.data.load("conll2003", "train"))]
    assert splits.model_kwargs["num_classes"] == 10  # 9 tags + padding
    assert splits.extras["tag_names"][:2] == ["<pad>", "O"]
    assert splits.artifacts["vocabulary"]["classes"] == splits.extras["tag_names"]
    vocab = splits.extras["tokenizers"]["input"]
    assert "berlin" in vocab.tokens  # lower-cased
    batches = list(splits.train)
    seen = 0
    for inputs, tags in batches:
        _check_padded(inputs["tokens"])
        np.testing.assert_array_equal(inputs["tokens"].numpy() != 0, tags.numpy() != 0)
        assert tags.numpy().max() <= 9
        seen += tags.shape[0]
    assert seen == 10
    # Undo the shuffle: each raw sentence appears with its tags + 1.
    expected = sorted(
        (tuple(vocab.encode(ex["tokens"]).numpy()), tuple(ex["ner"] + 1)) for ex in raw
    )
    got = sorted(
        (tuple(t[t > 0]), tuple(g[g > 0]))
        for inputs, tags in batches
        for t, g in zip(inputs["tokens"].numpy(), tags.numpy())
    )
    assert got == expected


def test_conll2003_length_mismatch_is_caught():
    with tfds.testing.mock_data(num_examples=3):  # random features of unrelated lengths
        splits = standard.conll2003(batch_size=2, bucket_boundaries=None)
        with pytest.raises(tf.errors.InvalidArgumentError, match="differ in length"):
            list(splits.test)


def test_tiny_shakespeare_next_character():
    with tfds.testing.mock_data(num_examples=6):
        splits = standard.tiny_shakespeare(batch_size=2, seq_length=8)
    vocab = splits.extras["tokenizers"]["output"]
    assert vocab.level == "char" and splits.model_kwargs == {"vocab_size": vocab.size}
    batches = list(splits.test)
    assert batches
    for inputs, targets in batches:
        assert inputs["tokens"].shape == targets.shape == (2, 8)
        assert np.all(inputs["tokens"].numpy() > pipelines.END_ID)  # no padding, no specials
        np.testing.assert_array_equal(inputs["tokens"][:, 1:], targets[:, :-1])


@pytest.mark.parametrize(
    "name", ["imdb_reviews", "ted_hrlr_translate/pt_to_en", "conll2003", "tiny_shakespeare"]
)
def test_missing_standard_set_fails_fast_with_instructions(tmp_path, name):
    start = time.monotonic()
    with pytest.raises(zoo.data.DatasetNotAvailableError) as err:
        zoo.data.load(name, "train", data_dir=str(tmp_path))
    assert time.monotonic() - start < 10
    message = str(err.value)
    assert repr(name) in message and str(tmp_path) in message
    assert "data_dir" in message and "tfds build" in message
    if name != "conll2003":  # conll2003's TFDS builder records no source checksums
        assert "manual_dir" in message


def test_missing_standard_set_through_its_pipeline(tmp_path):
    start = time.monotonic()
    with pytest.raises(zoo.data.DatasetNotAvailableError, match="imdb_reviews"):
        standard.imdb_reviews(data_dir=str(tmp_path))
    with pytest.raises(zoo.data.DatasetNotAvailableError, match="download=False"):
        zoo.data.load("tiny_shakespeare", data_dir=str(tmp_path), download=False)
    assert time.monotonic() - start < 10

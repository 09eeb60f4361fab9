"""The recipes over standard TFDS sets, end to end under `tfds.testing.mock_data`."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

import zoo.data
from recipes import char_lm, ner, sentiment, translation
from zoo import recipe as base

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny


def _conll(self, split, **kwargs):
    """Mocked conll2003 sentences whose tags match their words in length."""
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


@pytest.mark.parametrize("recipe, mock, metric", [
    (sentiment, {"num_examples": 16}, "accuracy"),
    (translation, {"num_examples": 12}, "teacher_forced_token_accuracy"),
    (ner, {"as_dataset_fn": _conll}, "entity_token_accuracy"),
    (char_lm, {"num_examples": 6}, "bits_per_character"),
])
def test_standard_recipe_tiny_end_to_end(recipe, mock, metric, tmp_path):
    with tfds.testing.mock_data(**mock):
        summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, None)
        if recipe in RAW_TEXT:
            _check_raw_text(recipe, run_dir, export_dir)
    assert np.isfinite(summary["test"][metric])
    assert info["recipe"] == recipe.NAME


# The raw text of a test example of each recipe whose predict this test checks.
RAW_TEXT = {
    sentiment: ("imdb_reviews", lambda ex: ex["text"].decode()),
    ner: ("conll2003", lambda ex: " ".join(t.decode() for t in ex["tokens"])),
}


def _check_raw_text(recipe, run_dir, export_dir):
    """predict on the raw text of test examples gives the trained model's answer on the
    ids the recipe's pipeline tokenizer gives the same examples."""
    name, text_of = RAW_TEXT[recipe]
    data = recipe.load_data(base.make_config(recipe, tiny=True))
    texts = [text_of(ex) for ex in zoo.data.load(name, "test").take(4).as_numpy_iterator()]
    ids = data.extras["tokenizers"]["input"].encode_batch(texts)
    classes = data.artifacts["vocabulary"]["classes"]
    out = check_raw_predict(run_dir, export_dir, {"tokens": np.array(texts, dtype=object)},
                            {"tokens": ids}, class_names=classes)
    if recipe is ner:  # one tag per word of the sentence, "" after it
        assert [sum(1 for t in row if t) for row in out["labels"]] == [
            len(t.split()) for t in texts]
        assert all(t in classes for row in out["labels"] for t in row if t)
    else:
        assert set(out["label"]) <= {"negative", "positive"}

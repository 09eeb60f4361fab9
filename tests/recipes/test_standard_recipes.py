"""The recipes over standard TFDS sets, end to end under `tfds.testing.mock_data`."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from recipes import char_lm, ner, sentiment, translation

from tests.recipes.recipe_helpers import run_tiny


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
    assert np.isfinite(summary["test"][metric])
    assert info["recipe"] == recipe.NAME

import numpy as np
import pytest
import tensorflow_datasets as tfds

from recipes import _seq2seq, dates, g2p, translation
from zoo import recipe as base

from tests.recipes.generative_checks import check_seq2seq_export
from tests.recipes.recipe_helpers import run_tiny


def check_raw_predict(recipe, run_dir, export_dir, tmp_path, data_dir, count=6):
    """After the tiny run's export: predict on the raw text of test examples gives the
    tokens of the in-process model on the pipeline's ids of those examples."""
    data = recipe.load_data(base.make_config(recipe, tiny=True), data_dir)
    texts = [s for s, _ in data.extras["test_pairs"] if s.strip()][:count]
    assert texts
    defaults, greedy = check_seq2seq_export(
        export_dir, run_dir, texts, _seq2seq.encode_sources(texts, data),
        data.extras["tokenizers"]["output"], tmp_path)
    return data, defaults, greedy


@pytest.mark.parametrize("recipe, metric", [(dates, "exact_match"), (g2p, "per")])
def test_seq2seq_tiny_end_to_end(recipe, metric, tmp_path, tfds_dir):
    summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"][metric] <= max(1.0, summary["test"][metric])
    assert {"translate", "beam_search", "predict", "predict_beam",
            "predict_defaults"} <= set(info["signatures"])
    _, defaults, _ = check_raw_predict(recipe, run_dir, export_dir, tmp_path, tfds_dir)
    assert defaults["max_length"] == recipe.MAX_TARGET + 1
    assert defaults["temperature"] == 0.0


def test_translation_tiny_export_predicts_on_raw_text(tmp_path):
    with tfds.testing.mock_data(num_examples=12):
        summary, run_dir, export_dir, info = run_tiny(translation, tmp_path, None)
        assert np.isfinite(summary["test"]["teacher_forced_token_accuracy"])
        _, defaults, greedy = check_raw_predict(translation, run_dir, export_dir, tmp_path, None)
    assert defaults["max_length"] == translation.TINY["max_length"] + 1
    assert len(greedy["text"]["value"]) >= 1


def test_edit_distance_and_error_rates():
    assert _seq2seq.edit_distance(list("kitten"), list("sitting")) == 3
    assert _seq2seq.edit_distance([], ["A"]) == 1
    per, wer = g2p.error_rates([["K", "AE1", "T"], ["D", "AO1", "G"]],
                               [["K", "AE1", "T"], ["D", "AA1", "G", "Z"]])
    assert per == pytest.approx(2 / 7) and wer == 0.5

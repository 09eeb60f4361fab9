import numpy as np
import pytest
import tensorflow as tf
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
@pytest.mark.slow
def test_seq2seq_tiny_end_to_end(recipe, metric, tmp_path, tfds_dir):
    summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"][metric] <= max(1.0, summary["test"][metric])
    assert {"translate", "beam_search", "predict", "predict_beam",
            "predict_defaults"} <= set(info["signatures"])
    _, defaults, _ = check_raw_predict(recipe, run_dir, export_dir, tmp_path, tfds_dir)
    assert defaults["max_length"] == recipe.MAX_TARGET + 1
    assert defaults["temperature"] == 0.0


@pytest.mark.slow
def test_translation_tiny_end_to_end_predicts_on_raw_text(tmp_path):
    # The translation recipe's end-to-end run on mocked ted_hrlr_translate (the other
    # standard TFDS recipes: tests/recipes/test_standard_recipes.py).
    with tfds.testing.mock_data(num_examples=12):
        summary, run_dir, export_dir, info = run_tiny(translation, tmp_path, None)
        assert np.isfinite(summary["test"]["teacher_forced_token_accuracy"])
        assert np.isfinite(summary["test"]["bleu"]) and info["recipe"] == translation.NAME
        _, defaults, greedy = check_raw_predict(translation, run_dir, export_dir, tmp_path, None)
    assert defaults["max_length"] == translation.TINY["max_length"] + 1
    assert len(greedy["text"]["value"]) >= 1


def test_edit_distance_and_error_rates():
    import zoo.scores

    assert _seq2seq.edit_distance is zoo.scores.edit_distance  # one implementation
    assert _seq2seq.edit_distance(list("kitten"), list("sitting")) == 3
    per, wer = g2p.error_rates([["K", "AE1", "T"], ["D", "AO1", "G"]],
                               [["K", "AE1", "T"], ["D", "AA1", "G", "Z"]])
    assert per == pytest.approx(2 / 7) and wer == 0.5


# Test words of a mocked CMUdict (two with two pronunciations), and what the stub says.
PRONUNCIATIONS = [("tomato", "T AH0 M EY1 T OW2"), ("tomato", "T AH0 M AA1 T OW2"),
                  ("read", "R EH1 D"), ("read", "R IY1 D"), ("cat", "K AE1 T"),
                  ("dogs", "D AA1 G Z")]
SPOKEN = {"tomato": "T AH0 M AA1 T OW2", "read": "R IH1 D", "cat": "K AE1 T",
          "dogs": "D AO1 G"}


def test_g2p_scores_each_word_against_its_closest_pronunciation(monkeypatch):
    import zoo.decoding

    spec = {"word": tf.TensorSpec((), tf.string), "phonemes": tf.TensorSpec((), tf.string)}
    rows = [{"word": w, "phonemes": p} for w, p in PRONUNCIATIONS]
    extra = [{"word": "bit", "phonemes": "B IH1 T"}, {"word": "saw", "phonemes": "S AO1"}]

    def as_dataset(self, split, **kwargs):  # the training split also has IH1 and AO1
        split_rows = rows + extra if str(split).startswith("train") else rows
        return tf.data.Dataset.from_generator(lambda: iter(split_rows), output_signature=spec)

    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        config = base.make_config(g2p, tiny=True)
        data = g2p.load_data(config)
    source, target = data.extras["tokenizers"]["input"], data.extras["tokenizers"]["output"]
    seen = []

    def translate(model, ids, *, beam_width=1, **kwargs):  # ids -> the chosen phonemes
        words = [source.decode(r) for r in ids]
        seen.extend(words)
        return target.encode_batch([SPOKEN[w] for w in words], end=True), None

    monkeypatch.setattr(zoo.decoding, "translate", translate)
    result = g2p.evaluate(None, data, config)
    assert seen == ["tomato", "read", "cat", "dogs"]  # each word decoded once
    # tomato matches its second pronunciation (0 edits of 6); read is one substitution
    # from both (the first, 3 phonemes, is used); cat is right (0 of 3); dogs: AO1 for AA1
    # and no Z (2 of 4). PER = 3 / 16; WER: read and dogs are wrong, 2 of 4 words.
    assert result == pytest.approx({"per": 3 / 16, "wer": 2 / 4, "examples": 4,
                                    "reference_per": 0.0545, "reference_wer": 0.2355})

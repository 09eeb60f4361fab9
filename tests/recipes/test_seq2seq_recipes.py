import pytest

from recipes import _seq2seq, dates, g2p

from tests.recipes.recipe_helpers import run_tiny


@pytest.mark.parametrize("recipe, metric", [(dates, "exact_match"), (g2p, "per")])
def test_seq2seq_tiny_end_to_end(recipe, metric, tmp_path, tfds_dir):
    summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"][metric] <= max(1.0, summary["test"][metric])
    assert {"translate", "beam_search"} <= set(info["signatures"])


def test_edit_distance_and_error_rates():
    assert _seq2seq.edit_distance(list("kitten"), list("sitting")) == 3
    assert _seq2seq.edit_distance([], ["A"]) == 1
    per, wer = g2p.error_rates([["K", "AE1", "T"], ["D", "AO1", "G"]],
                               [["K", "AE1", "T"], ["D", "AA1", "G", "Z"]])
    assert per == pytest.approx(2 / 7) and wer == 0.5

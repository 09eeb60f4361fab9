import numpy as np

from recipes import chorale_harmonization, sunspots

from tests.recipes.recipe_helpers import run_tiny


def test_chorale_harmonization_tiny_end_to_end(tmp_path, tfds_dir):
    summary, *_ = run_tiny(chorale_harmonization, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"]["bass_accuracy"] <= 1.0
    assert 0.0 < summary["test"]["most_common_pitch_accuracy"] < 1.0


def test_sunspots_tiny_end_to_end(tmp_path, tfds_dir):
    summary, *_ = run_tiny(sunspots, tmp_path, tfds_dir)
    assert summary["test"]["test_years"] == 40
    assert np.isfinite(summary["test"]["mae"]) and summary["test"]["persistence_mae"] > 0

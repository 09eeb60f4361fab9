import numpy as np

from recipes import chorale_harmonization, sunspots
from zoo import recipe as base
from zoo.data import normalization

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny


def test_chorale_harmonization_tiny_end_to_end(tmp_path, tfds_dir):
    summary, run_dir, export_dir, _ = run_tiny(chorale_harmonization, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"]["bass_accuracy"] <= 1.0
    assert 0.0 < summary["test"]["most_common_pitch_accuracy"] < 1.0
    # predict: soprano pitches as text in, one bass pitch per soprano step out.
    config = base.make_config(chorale_harmonization, tiny=True)
    data = chorale_harmonization.load_data(config, data_dir=tfds_dir)
    pieces, _ = chorale_harmonization._pieces(config, "test", tfds_dir)
    texts = [" ".join(t.decode() for t in ex["soprano"])
             for ex in pieces.take(3).as_numpy_iterator()]
    inputs, _ = next(iter(data.test))  # the pipeline's batches keep the split's order
    x = inputs["tokens"].numpy()[:3]
    x = x[:, :max(len(t.split()) for t in texts)]
    out = check_raw_predict(run_dir, export_dir, {"tokens": texts}, {"tokens": x},
                            class_names=data.extras["tokenizers"]["output"].get_vocabulary())
    assert all(label.isdigit() or label in ("", "[UNK]", "[START]", "[END]")
               for row in out["labels"] for label in row)


def test_sunspots_tiny_end_to_end(tmp_path, tfds_dir):
    summary, run_dir, export_dir, _ = run_tiny(sunspots, tmp_path, tfds_dir)
    assert summary["test"]["test_years"] == 40
    assert np.isfinite(summary["test"]["mae"]) and summary["test"]["persistence_mae"] > 0
    # predict: 24 yearly sunspot numbers in, next year's sunspot number out.
    data = sunspots.load_data(base.make_config(sunspots, tiny=True), data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))
    n = len(inputs["features"])
    windows = np.stack([w for w, _ in data.extras["test_windows"][:n]])[..., None]
    denorm = normalization.normalization_from_config(data.artifacts["normalizer"], invert=True)
    out = check_raw_predict(run_dir, export_dir, {"features": windows}, inputs,
                            to_units=lambda y: np.asarray(denorm(y)))
    assert np.asarray(out["value"]).shape == (n, 1)
    # Raw counts in: the windows are sunspot numbers, and so is the answer's scale.
    assert windows.max() > 50

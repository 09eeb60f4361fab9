import numpy as np
import pytest

import zoo.data
from recipes import japanese_vowels, sequential_digits
from zoo import recipe as base

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny


@pytest.mark.parametrize("recipe, classes", [(japanese_vowels, 9), (sequential_digits, 10)])
@pytest.mark.slow
def test_classification_tiny_end_to_end(recipe, classes, tmp_path, tfds_dir):
    summary, run_dir, export_dir, info = run_tiny(recipe, tmp_path, tfds_dir)
    assert 0.0 <= summary["test"]["accuracy"] <= 1.0
    assert len(info["metadata"]["artifacts"]["vocabulary"]["classes"]) == classes
    # predict: the raw test features (original units, unpadded) of the first test batch.
    data = recipe.load_data(base.make_config(recipe, tiny=True), data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))
    n = min(8, len(inputs["features"]))
    steps = inputs["features"].shape[1]
    raw = np.zeros((n, steps, inputs["features"].shape[2]), np.float32)
    test = zoo.data.load(recipe.NAME, "test", data_dir=tfds_dir).take(n)
    for i, ex in enumerate(test.as_numpy_iterator()):
        raw[i, :len(ex["features"])] = ex["features"]  # padded with the mask value 0.0
    names = data.artifacts["vocabulary"]["classes"]
    check_raw_predict(run_dir, export_dir, {"features": raw},
                      {"features": inputs["features"][:n]}, class_names=names)


def test_japanese_vowels_pads_and_normalises(tfds_dir):
    config = japanese_vowels.Config(batch_size=400)
    data = japanese_vowels.load_data(config, data_dir=tfds_dir)
    inputs, labels = next(iter(data.train))
    x = inputs["features"].numpy()
    assert x.shape == (243, japanese_vowels.MAX_FRAMES, 12)
    valid = np.any(x != japanese_vowels.PAD_VALUE, axis=-1)
    # Every utterance has 7..29 real frames, then padding only.
    lengths = valid.sum(axis=1)
    assert lengths.min() >= 7 and lengths.max() <= 29
    assert all(valid[i, :n].all() and not valid[i, n:].any() for i, n in enumerate(lengths))
    # Standardised with training statistics: mean ~0, std ~1 over real frames.
    frames = x[valid]
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_allclose(frames.std(axis=0), 1.0, atol=1e-3)
    assert sorted(set(labels.numpy().tolist())) == list(range(9))


def test_sequential_digits_read_pixel_by_pixel(tfds_dir):
    """reading=pixels: the same images as 64 steps of one pixel, in raster order."""
    config = base.make_config(sequential_digits, tiny=True, overrides=["reading=pixels"])
    data = sequential_digits.load_data(config, data_dir=tfds_dir)
    rows = sequential_digits.load_data(base.make_config(sequential_digits, tiny=True),
                                       data_dir=tfds_dir)
    (pixels, labels), (images, row_labels) = next(iter(data.test)), next(iter(rows.test))
    assert pixels["features"].shape[1:] == (64, 1)
    assert images["features"].shape[1:] == (8, 8)
    np.testing.assert_array_equal(labels, row_labels)
    np.testing.assert_array_equal(pixels["features"].numpy().reshape(-1, 8, 8),
                                  images["features"].numpy())
    assert data.model_kwargs == {"input_dim": 1, "num_classes": 10}
    model = sequential_digits.build_model(config, data)
    assert model.predict(pixels, verbose=0).shape == (len(labels), 10)


def test_sequential_digits_refuses_an_unknown_reading(tfds_dir):
    config = base.make_config(sequential_digits, tiny=True, overrides=["reading=columns"])
    with pytest.raises(ValueError, match=r"--set reading: must be one of \['rows', 'pixels'\].*"
                                         r"Received: reading='columns'"):
        sequential_digits.load_data(config, data_dir=tfds_dir)

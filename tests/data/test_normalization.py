"""Normalisation: `keras.layers.Normalization` adapted on a split, against NumPy
statistics; the {"mean", "variance"} artifact rebuilds it, `invert=True` undoes it, and
the layer works inside a tf.data map."""

import json

import numpy as np
import pytest
import tensorflow as tf

from zoo.data.normalization import (
    adapt_normalization,
    normalization_config,
    normalization_from_config,
)


def _sequences(rng, n=9, features=3):
    return [rng.normal(5.0, 2.0, size=(rng.integers(2, 30), features)).astype("float32")
            for _ in range(n)]


@pytest.mark.jax
def test_statistics_match_numpy_over_every_step():
    rng = np.random.default_rng(0)
    seqs = _sequences(rng)
    ds = tf.data.Dataset.from_generator(
        lambda: iter(seqs), output_signature=tf.TensorSpec((None, 3), tf.float32))
    norm = adapt_normalization(ds)
    frames = np.concatenate(seqs).astype(np.float64)
    stats = json.loads(json.dumps(normalization_config(norm)))
    np.testing.assert_allclose(stats["mean"], frames.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["variance"], frames.var(0), rtol=1e-4)
    x = seqs[0]
    expected = (x - frames.mean(0)) / frames.std(0)
    np.testing.assert_allclose(np.asarray(norm(x)), expected, rtol=1e-4, atol=1e-5)
    # Inside tf.data (every backend), and back to the original units with invert=True.
    mapped = next(iter(ds.map(norm))).numpy()
    np.testing.assert_allclose(mapped, expected, rtol=1e-4, atol=1e-5)
    denorm = normalization_from_config(stats, invert=True)
    np.testing.assert_allclose(np.asarray(denorm(mapped)), x, rtol=1e-5, atol=1e-4)


@pytest.mark.jax
def test_scalars_windows_and_constant_features():
    values = np.array([3.0, 5.0, 10.0, 2.0], np.float32)
    norm = adapt_normalization(tf.data.Dataset.from_tensor_slices(values))
    stats = normalization_config(norm)
    np.testing.assert_allclose(stats["mean"], [values.mean()], rtol=1e-6)
    np.testing.assert_allclose(stats["variance"], [values.var()], rtol=1e-5)
    windows = tf.data.Dataset.from_tensor_slices(np.stack([values, values * 2]))  # (steps,)
    assert normalization_config(adapt_normalization(windows))["mean"] == pytest.approx([7.5])
    # A constant feature is only centred (unit scale), as the earlier statistics did.
    const = np.stack([np.full(4, 7.0), values], axis=1).astype("float32")
    norm = adapt_normalization(tf.data.Dataset.from_tensor_slices(const[None]))
    assert normalization_config(norm)["variance"][0] == 1.0
    np.testing.assert_allclose(np.asarray(norm(const))[:, 0], 0.0)


def test_bad_artifacts_are_refused():
    with pytest.raises(ValueError, match="'mean' and 'variance'"):
        normalization_from_config({"mean": [0.0]})
    with pytest.raises(ValueError, match="variance must be positive"):
        normalization_from_config({"mean": [0.0], "variance": [-1.0]})
    with pytest.raises(ValueError, match="2 means, 1 variances"):
        normalization_from_config({"mean": [0.0, 1.0], "variance": [1.0]})
    with pytest.raises(ValueError, match="Received: element shape"):
        adapt_normalization(tf.data.Dataset.from_tensor_slices(np.zeros((2, 3, 4, 5))))

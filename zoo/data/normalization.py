"""Per-feature standardisation with ``keras.layers.Normalization``.

The statistics come from the training split only (``adapt``); the artifact
``{"mean": [...], "variance": [...]}`` (one entry per feature) is what a run folder
and an export record, and rebuilds the layer (``invert=True`` maps model outputs back
to the original units). The layer works inside a ``tf.data`` map on every backend.

Example:
    >>> norm = adapt_normalization(train.map(lambda ex: ex["features"]))  # (steps, 12)
    >>> artifact = normalization_config(norm)        # {"mean": [12 floats], "variance": ...}
    >>> denorm = normalization_from_config(artifact, invert=True)
    >>> denorm(norm(x))                              # x again, (..., 12)
"""

import keras
import numpy as np
import tensorflow as tf

_ADAPT_BATCH = 4096


def _frames(values):
    """A dataset of float tensors (steps, features), (steps,) or scalars as a dataset of
    (n, features) float32 frames."""
    rank = values.element_spec.shape.rank
    if rank is None or rank > 2:
        raise ValueError(
            "values must be scalars, (steps,) or (steps, features) tensors. "
            f"Received: element shape {values.element_spec.shape}"
        )

    def fn(v):
        v = tf.cast(v, tf.float32)
        return tf.reshape(v, [-1, 1]) if rank < 2 else v

    return values.map(fn).unbatch().batch(_ADAPT_BATCH)


def adapt_normalization(values):
    """A ``keras.layers.Normalization`` over the last axis, adapted on `values` (a
    dataset of float tensors (steps, features), (steps,) or scalars: every step of every
    example counts once). Use the training split only. A feature that is constant
    over the split is centred only (unit variance kept).

    Call it on (..., features) tensors: a (steps,) window is (steps, 1)."""
    # float32 whatever the global dtype policy: the data keep their precision under
    # mixed precision (the model casts them to its compute dtype).
    layer = keras.layers.Normalization(axis=-1, dtype="float32")
    layer.adapt(_frames(values))
    config = normalization_config(layer)
    # A constant feature keeps a unit scale (it is only centred), not 1 / epsilon.
    config["variance"] = [v if v > 0 else 1.0 for v in config["variance"]]
    return normalization_from_config(config)


def normalization_config(layer):
    """The artifact of an adapted (or built) Normalization layer:
    ``{"mean": [...], "variance": [...]}``, one float per feature."""
    mean, variance = layer.get_weights()[:2] if layer.get_weights() else (
        keras.ops.convert_to_numpy(layer.mean), keras.ops.convert_to_numpy(layer.variance))
    return {"mean": np.asarray(mean, np.float64).reshape(-1).tolist(),
            "variance": np.asarray(variance, np.float64).reshape(-1).tolist()}


def normalization_from_config(config, *, invert=False):
    """A built ``keras.layers.Normalization`` (last axis) from its artifact; with
    ``invert=True`` it maps standardised values back (``x * std + mean``)."""
    if not isinstance(config, dict) or not {"mean", "variance"} <= set(config):
        raise ValueError(
            "config must be a dict with 'mean' and 'variance'. "
            f"Received: {config!r:.200}"
        )
    mean = np.asarray(config["mean"], np.float32).reshape(-1)
    variance = np.asarray(config["variance"], np.float32).reshape(-1)
    if mean.shape != variance.shape:
        raise ValueError(
            f"mean and variance must have one value per feature. Received: "
            f"{mean.size} means, {variance.size} variances"
        )
    if np.any(~(variance > 0)):
        raise ValueError(f"variance must be positive. Received: variance={variance.tolist()}")
    layer = keras.layers.Normalization(axis=-1, mean=mean, variance=variance, invert=invert,
                                       dtype="float32")
    layer.build((None, mean.size))
    return layer

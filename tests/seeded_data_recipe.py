"""A recipe whose first ``load_data`` draws from the seeded generators, as a dataset build does.

``load_data`` draws from Python's, NumPy's and the backend's generators
unless ``data_dir`` holds the marker of an earlier build, which it then
writes: a run that builds the data and a run that finds it built must start
from the same initial weights.
"""

import dataclasses
import os
import random

import keras
import numpy as np

from zoo.recipe import BaseConfig, Data

NAME = "seeded_data_fixture"
OBJECTIVE = ("val_loss", "min")
TINY = {}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 1
    seed: int = 3
    model: dict = dataclasses.field(default_factory=lambda: {"name": "fixture", "units": 3})


def load_data(config, data_dir=None):
    marker = os.path.join(data_dir, "built")
    if not os.path.exists(marker):  # a first build draws from every seeded generator
        random.random()
        np.random.random(5)
        keras.random.normal((5,))
        open(marker, "w").close()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4, 2)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    import tensorflow as tf

    def batches(n):
        return tf.data.Dataset.from_tensor_slices((x[:n], y[:n])).batch(8)

    return Data(batches(32), batches(8), batches(8))


def build_model(config, data):
    import zoo

    model = keras.Sequential([keras.Input((4, 2)), zoo.layers.GRU(config.model["units"]),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def evaluate(model, data, config):
    return {"mse": float(model.evaluate(data.test, verbose=0))}

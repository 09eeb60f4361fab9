"""A seconds-long recipe that takes ``--data``, for the run-folder collision tests.

``zoo train tests.own_data_fixture [--data rows.csv]``: a zoo ``many_to_one``
GRU classifier (built by ``zoo.create_model``, so ``--set model.*`` is
checked) on sequences of 4 steps of 2 features. Without ``data`` it draws 48
training rows; with it, each CSV line holds the 8 features of one sequence
then its label (0 or 1). The artifact ``rows`` records how many training rows
were read.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo.recipe import BaseConfig, Data, main_for

NAME = "own_data_fixture"
TIMESTEPS, FEATURES = 4, 2
OBJECTIVE = ("val_loss", "min")
TINY = {"epochs": 1, "model": {"name": "many_to_one", "cell": "gru", "units": 2}}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-2
    seed: int = 0
    data: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "gru", "units": 3})


def _rows(config):
    if config.data:
        table = np.loadtxt(config.data, delimiter=",", ndmin=2).astype("float32")
        return table[:, :-1].reshape(-1, TIMESTEPS, FEATURES), table[:, -1].astype("int32")
    x = np.random.default_rng(config.seed).normal(size=(48, TIMESTEPS, FEATURES))
    return x.astype("float32"), (x[:, :, 0].sum(axis=1) > 0).astype("int32")


def load_data(config, data_dir=None):
    x, y = _rows(config)
    batch = [tf.data.Dataset.from_tensor_slices(({"features": a}, b)).batch(config.batch_size)
             for a, b in ((x, y), (x[:16], y[:16]), (x[-16:], y[-16:]))]
    return Data(*batch, artifacts={"labels": {"classes": ["low", "high"]},
                                   "rows": {"train": int(len(x))}})


def build_model(config, data):
    model = zoo.create_model(**config.model, input_dim=FEATURES, num_classes=2)
    model.compile(keras.optimizers.Adam(config.learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def evaluate(model, data, config):
    loss, accuracy = model.evaluate(data.test, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


main = main_for(__name__)

if __name__ == "__main__":
    main()

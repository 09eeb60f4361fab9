"""A tiny recipe for the tuning tests, shaped like the ones in ``recipes/``.

Synthetic many-to-one task: 6 steps of 3 features, the label says whether
the first feature sums to more than zero. The model is built from
``keras.layers`` by a keyword-only factory, so these tests do not depend on
the model registry.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from zoo.recipe import Data

NAME = "tuning_fixture"
TIMESTEPS, FEATURES = 6, 3

SEARCH_SPACE = {
    "units": {"type": "int", "min": 4, "max": 16, "step": 4, "default": 8},
    "cell": {"type": "choice", "values": ["gru", "lstm", "simple"], "default": "gru"},
    "bidirectional": {"type": "bool", "default": False},
    "learning_rate": {"type": "float", "min": 1e-3, "max": 3e-2, "sampling": "log"},
}
OBJECTIVE = ("val_accuracy", "max")
TINY = {"epochs": 1, "train_size": 32}


@dataclasses.dataclass
class Config:
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-2
    seed: int = 0
    patience: int = 2
    train_size: int = 64
    model: dict = dataclasses.field(
        default_factory=lambda: {"name": "fixture_rnn", "cell": "gru", "units": 8, "dropout": 0.0}
    )


def _split(rng, n):
    x = rng.normal(size=(n, TIMESTEPS, FEATURES)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    return x, y


def load_data(config, data_dir=None):
    rng = np.random.default_rng(config.seed)
    splits = [_split(rng, n) for n in (config.train_size, 32, 32)]
    batched = [tf.data.Dataset.from_tensor_slices(s).batch(config.batch_size) for s in splits]
    return Data(*batched, model_kwargs={"input_dim": FEATURES, "num_classes": 2})


_CELLS = {"gru": keras.layers.GRU, "lstm": keras.layers.LSTM, "simple": keras.layers.SimpleRNN}


def create_fixture_model(
    *,
    name="fixture_rnn",
    cell="gru",
    units=8,
    num_layers=1,
    bidirectional=False,
    dropout=0.0,
    input_dim,
    num_classes,
):
    if name != "fixture_rnn":
        raise ValueError(f"Unknown model name: {name!r}")
    inputs = keras.Input((TIMESTEPS, input_dim), name="features")
    x = inputs
    for i in range(num_layers):
        layer = _CELLS[cell](units, return_sequences=i < num_layers - 1, dropout=dropout)
        x = keras.layers.Bidirectional(layer)(x) if bidirectional else layer(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def build_model(config, data):
    model = create_fixture_model(**config.model, **data.model_kwargs)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def evaluate(model, data, config):
    return model.evaluate(data.test, verbose=0, return_dict=True)

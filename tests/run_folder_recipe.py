"""A seconds-long recipe for the run-folder tests (lock, faults), run by dotted path.

``zoo train tests.run_folder_recipe --run-dir D``: a GRU classifier on 6
steps of 3 features. ``load_seconds`` sleeps in ``load_data`` (the run holds
its folder's lock by then) and ``batch_seconds`` sleeps before every
training batch, so that a test can catch a run in the middle of its work;
``progress_file`` gets a line as each training batch starts, so that it can
tell where.
"""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from zoo.recipe import BaseConfig, Data, main_for

NAME = "run_folder_fixture"
TIMESTEPS, FEATURES = 6, 3
OBJECTIVE = ("val_loss", "min")
TINY = {"epochs": 2}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-2
    seed: int = 0
    train_size: int = 64
    load_seconds: float = 0.0
    batch_seconds: float = 0.0
    progress_file: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {"name": "fixture_gru", "units": 4})


def _split(rng, n):
    x = rng.normal(size=(n, TIMESTEPS, FEATURES)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    return x, y


def load_data(config, data_dir=None):
    time.sleep(config.load_seconds)
    rng = np.random.default_rng(config.seed)
    (x, y), val, test = (_split(rng, n) for n in (config.train_size, 32, 32))
    pause = config.batch_seconds

    def batches():
        for start in range(0, len(x), config.batch_size):
            if config.progress_file:  # one line per batch, before its pause
                with open(config.progress_file, "a") as f:
                    f.write(f"{start}\n")
            time.sleep(pause)
            end = start + config.batch_size
            yield {"features": x[start:end]}, y[start:end]

    spec = ({"features": tf.TensorSpec((None, TIMESTEPS, FEATURES), tf.float32)},
            tf.TensorSpec((None,), tf.int32))
    train = tf.data.Dataset.from_generator(batches, output_signature=spec)
    batched = [tf.data.Dataset.from_tensor_slices(({"features": a}, b)).batch(config.batch_size)
               for a, b in (val, test)]
    return Data(train, *batched, artifacts={"labels": {"classes": ["low", "high"]}})


def build_model(config, data):
    inputs = keras.Input((TIMESTEPS, FEATURES), name="features")
    x = keras.layers.GRU(config.model["units"])(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    model.compile(keras.optimizers.Adam(config.learning_rate),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def evaluate(model, data, config):
    loss, accuracy = model.evaluate(data.test, verbose=0)
    return {"loss": float(loss), "accuracy": float(accuracy)}


main = main_for(__name__)

if __name__ == "__main__":
    main()

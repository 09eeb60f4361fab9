"""A seconds-long recipe of every model kind, for the export-path tests.

``Config.kind`` picks the model: ``classifier`` (many_to_one over 5 steps of 3
features), ``generator`` (one_to_many from one of 3 condition ids) or
``translator`` (encoder_decoder over token ids). Random data from
``Config.seed``; run by dotted path (``zoo train tests.export.kinds_recipe``).
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

import zoo
from zoo import losses
from zoo.recipe import BaseConfig, Data, main_for

NAME = "export_kinds_fixture"
OBJECTIVE = ("val_loss", "min")
TINY = {"epochs": 1}
STEPS, FEATURES, VOCAB, CONDITIONS, EXAMPLES = 5, 3, 9, 3, 32
MODELS = {
    "classifier": {"name": "many_to_one", "input_dim": FEATURES, "num_classes": 2, "units": 4},
    "generator": {"name": "one_to_many", "num_conditions": CONDITIONS, "vocab_size": VOCAB,
                  "units": 4, "end_token": 3},
    "translator": {"name": "encoder_decoder", "source_vocab_size": VOCAB,
                   "target_vocab_size": VOCAB, "units": 4, "end_token": 3,
                   "attention": "luong"},
}


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 1e-2
    seed: int = 0
    kind: str = "classifier"
    model: dict = dataclasses.field(default_factory=dict)


def _examples(kind, rng):
    tokens = rng.integers(4, VOCAB, size=(EXAMPLES, STEPS + 1)).astype("int32")
    if kind == "classifier":
        x = rng.normal(size=(EXAMPLES, STEPS, FEATURES)).astype("float32")
        return {"features": x}, (x[:, :, 0].sum(axis=1) > 0).astype("int32")
    target_in = np.concatenate([np.full((EXAMPLES, 1), 2, "int32"), tokens[:, :-1]], axis=1)
    if kind == "generator":
        condition = rng.integers(0, CONDITIONS, size=(EXAMPLES,)).astype("int32")
        return {"condition": condition, "target_in": target_in}, tokens
    return {"source": tokens[:, ::-1].copy(), "target_in": target_in}, tokens


def load_data(config, data_dir=None):
    if config.kind not in MODELS:
        raise ValueError(f"kind must be one of {sorted(MODELS)}. Received: kind={config.kind!r}")
    rng = np.random.default_rng(config.seed)
    splits = [tf.data.Dataset.from_tensor_slices(_examples(config.kind, rng))
              .batch(config.batch_size) for _ in range(3)]
    return Data(*splits)


def build_model(config, data):
    spec = dict(config.model or MODELS[config.kind])
    model = zoo.create_model(spec.pop("name"), **spec)
    if config.kind == "classifier":
        model.compile(keras.optimizers.Adam(config.learning_rate),
                      "sparse_categorical_crossentropy")
    else:
        model.compile(keras.optimizers.Adam(config.learning_rate),
                      losses.SequenceLoss(ignore_class=0))
    return model


def evaluate(model, data, config):
    return {"loss": float(model.evaluate(data.test, verbose=0, return_dict=True)["loss"])}


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Sunspots: forecast next year's sunspot number from the 24 years before it.

Many-to-one regression over yearly sunspot numbers 1700-2008
(``sunspots/next_value``): a window of 24 years in, the next year out.
Splits are chronological (train targets up to 1928, validation 1929-1968,
test 1969-2008); values are standardised with training statistics only.
Evaluated by the mean absolute error in sunspot numbers on the test years,
beside the persistence baseline (next year = this year).

Run: ``zoo train sunspots`` or ``python -m recipes.sunspots``.
"""

import dataclasses

import numpy as np

from recipes import base
from zoo.recipe import BaseConfig, Data, main_for

NAME = "sunspots"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 150
    batch_size: int = 16
    learning_rate: float = 3e-3
    patience: int = 30
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "gru", "units": 32, "dropout": 0.1})


TINY = {"epochs": 1, "model": {"name": "many_to_one", "cell": "gru", "units": 4}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 8, "max": 64, "step": 8, "default": 32},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_loss", "min")


def load_data(config, data_dir=None):
    import zoo.data
    from zoo.data import normalization, pipelines

    raw = {s: zoo.data.load("sunspots/next_value", s, data_dir=data_dir)
           for s in ("train", "validation", "test")}
    normalizer = normalization.adapt_normalization(raw["train"].map(lambda ex: ex["target"]))

    def batches(split):
        ds = pipelines.regression(raw[split], input_key="window", target_key="target",
                                  normalizer=normalizer, batch_size=config.batch_size,
                                  training=split == "train", seed=config.seed)
        return ds.map(lambda x, y: (x, y[:, None]))

    test = [(ex["window"][:, 0], float(ex["target"])) for ex in raw["test"].as_numpy_iterator()]
    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"input_dim": 1, "output_dim": 1},
        # The target is standardised with the window's statistics: the export's predict
        # maps the model's output back to sunspot numbers ("serving", docs/recipes.md).
        artifacts={"normalizer": normalization.normalization_config(normalizer),
                   "serving": {"denormalize_output": True}},
        extras={"test_windows": test},
    )


def build_model(config, data):
    model = base.create_model(config, data)
    return base.compile_model(model, config, loss="mse", metrics=["mae"])


def evaluate(model, data, config):
    from zoo.data import normalization

    stats = data.artifacts["normalizer"]
    windows = np.stack([w for w, _ in data.extras["test_windows"]])
    targets = np.array([t for _, t in data.extras["test_windows"]])
    scaled = normalization.normalization_from_config(stats)(windows[..., None].astype("float32"))
    # Back to sunspot numbers (original units) with the inverted layer.
    denormalize = normalization.normalization_from_config(stats, invert=True)
    predicted = np.asarray(denormalize(model.predict({"features": np.asarray(scaled)},
                                                     verbose=0)))[:, 0]
    return {"mae": float(np.mean(np.abs(predicted - targets))),
            "persistence_mae": float(np.mean(np.abs(windows[:, -1] - targets))),
            "test_years": len(targets)}


main = main_for(__name__)

if __name__ == "__main__":
    main()

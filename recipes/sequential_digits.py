"""Sequential digits: read an 8x8 handwritten digit row by row (or pixel by
pixel), then name it.

Many-to-one classification (10 digits) over 8 steps of 8 pixel intensities
(``sequential_digits``, scikit-learn's digits scaled to [0, 1]). All
sequences have the same length: no padding, no mask.

``--set reading=pixels`` reads the image one pixel per step instead, in
raster order: 64 steps of 1 feature, the small cousin of pixel-by-pixel
MNIST (784 steps; Le et al. 2015), where the class depends on what the
network kept from the first rows 60 steps earlier.

Run: ``zoo train sequential_digits`` or ``python -m recipes.sequential_digits``.
"""

import dataclasses


from recipes import base
from zoo.recipe import BaseConfig, Data, main_for

NAME = "sequential_digits"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 3e-3
    patience: int = 8
    reading: str = "rows"  # "rows": 8 steps x 8 pixels; "pixels": 64 steps x 1 pixel
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "lstm", "units": 64})


TINY = {"epochs": 1, "batch_size": 128, "model": {"name": "many_to_one", "cell": "lstm",
                                                  "units": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "lstm"},
    "units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 64},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_accuracy", "max")
READINGS = {"rows": (8, 8), "pixels": (64, 1)}  # reading -> (steps, features)


def _check_reading(config):
    if config.reading not in READINGS:
        raise ValueError(
            f"--set reading: must be one of {list(READINGS)} (8 steps of a row, or 64 steps of "
            f"one pixel). Received: reading={config.reading!r}")


def load_data(config, data_dir=None):
    import zoo.data
    from zoo.data import pipelines

    _check_reading(config)
    steps, features = READINGS[config.reading]

    def batches(split):
        ds = zoo.data.load("sequential_digits", split, data_dir=data_dir)
        if config.reading == "pixels":
            ds = ds.map(lambda ex: {**ex, "features": _reshape(ex["features"], steps, features)})
        return pipelines.sequence_classification(
            ds, features_key="features", label_key="label", batch_size=config.batch_size,
            training=split == "train", seed=config.seed)

    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"input_dim": features, "num_classes": 10},
        extras={"reading": config.reading, "steps": steps},
        artifacts={"vocabulary": {"classes": [str(d) for d in range(10)]}},
    )


def _reshape(image, steps, features):
    import tensorflow as tf

    return tf.reshape(image, (steps, features))


build_model = base.build_classifier  # (config, data) -> compiled classifier
evaluate = base.evaluate_classifier  # (model, data, config) -> test accuracy and loss


main = main_for(__name__)

if __name__ == "__main__":
    main()

"""Japanese vowels: name the speaker from a variable-length utterance.

Many-to-one classification (9 speakers) over 7 to 29 frames of 12 LPC
cepstrum coefficients (``japanese_vowels``). Features are standardised with
statistics of the training split; shorter utterances are padded with 0.0
and the model masks those steps (``mask_value=0.0``), so a padded step
changes neither the state nor the output. Published accuracies on this test
set are in the high 90s; the recipe aims for >= 95%.

Run: ``zoo train japanese_vowels`` or ``python -m recipes.japanese_vowels``.
"""

import dataclasses


from recipes import base
from zoo.recipe import BaseConfig, Data, main_for

NAME = "japanese_vowels"
PAD_VALUE = 0.0
MAX_FRAMES = 29  # the longest utterance; every batch is padded to it (one traced shape)


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 40
    batch_size: int = 16
    learning_rate: float = 3e-3
    patience: int = 10
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "gru", "units": 64, "dropout": 0.2})


TINY = {"epochs": 1, "batch_size": 64, "model": {"name": "many_to_one", "cell": "gru", "units": 8}}
SEARCH_SPACE = {
    "cell": {"type": "choice", "values": ["simple", "gru", "lstm"], "default": "gru"},
    "units": {"type": "int", "min": 16, "max": 128, "step": 16, "default": 64},
    "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1, "default": 0.2},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 3e-3},
}
OBJECTIVE = ("val_accuracy", "max")


def load_data(config, data_dir=None):
    import zoo.data
    from zoo.data import normalization, pipelines

    raw = {s: zoo.data.load("japanese_vowels", s, data_dir=data_dir)
           for s in ("train", "validation", "test")}
    normalizer = normalization.adapt_normalization(raw["train"].map(lambda ex: ex["features"]))

    def batches(split):
        # One padded_batch to MAX_FRAMES steps: every batch has one traced shape.
        return pipelines.sequence_classification(
            raw[split], features_key="features", label_key="speaker", normalizer=normalizer,
            pad_value=PAD_VALUE, max_steps=MAX_FRAMES, batch_size=config.batch_size,
            training=split == "train", seed=config.seed)

    return Data(
        train=batches("train"), validation=batches("validation"), test=batches("test"),
        model_kwargs={"input_dim": 12, "mask_value": PAD_VALUE, "num_classes": 9},
        artifacts={"normalizer": normalization.normalization_config(normalizer),
                   "vocabulary": {"classes": [f"speaker {i + 1}" for i in range(9)]}},
    )


build_model = base.build_classifier  # (config, data) -> compiled classifier
evaluate = base.evaluate_classifier  # (model, data, config) -> test accuracy and loss


main = main_for(__name__)

if __name__ == "__main__":
    main()

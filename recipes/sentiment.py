"""Sentiment: positive or negative movie review (IMDB), a bidirectional LSTM.

Many-to-one over word ids (``imdb_reviews``: 25k train / 25k test reviews;
validation = the last 10% of train), lower-cased, the 20k most frequent
words, reviews cut to ``max_length`` words and bucketed by length; padding
is masked. Reference: the keras-io bidirectional LSTM reaches about 84%
validation accuracy; aim above.

Needs the ``imdb_reviews`` files (internet on first use, or prepared in
``--data-dir``). Run: ``zoo train sentiment``.
"""

import dataclasses


from recipes import _standard, base
from zoo.recipe import BaseConfig, main_for

NAME = "sentiment"


@dataclasses.dataclass
class Config(BaseConfig):
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    max_tokens: int = 20000
    max_length: int = 256
    patience: int = 2
    vocab_dir: str = ""
    model: dict = dataclasses.field(default_factory=lambda: {
        "name": "many_to_one", "cell": "lstm", "units": 64, "embedding_dim": 128,
        "bidirectional": True, "num_layers": 2, "dropout": 0.2})


TINY = {"epochs": 1, "batch_size": 4, "max_length": 12,
        "model": {"name": "many_to_one", "cell": "lstm", "units": 8, "embedding_dim": 8,
                  "bidirectional": True}}
SEARCH_SPACE = {
    "units": {"type": "int", "min": 32, "max": 128, "step": 32, "default": 64},
    "dropout": {"type": "float", "min": 0.0, "max": 0.5, "step": 0.1, "default": 0.2},
    "learning_rate": {"type": "float", "min": 1e-4, "max": 1e-2, "sampling": "log",
                      "default": 1e-3},
}
OBJECTIVE = ("val_accuracy", "max")


def load_data(config, data_dir=None):
    from zoo.data import standard

    data = standard.imdb_reviews(
        data_dir=data_dir, batch_size=config.batch_size, max_tokens=config.max_tokens,
        max_length=config.max_length, vocab_dir=_standard.vocab_dir(config), seed=config.seed)
    data.artifacts["vocabulary"]["classes"] = ["negative", "positive"]
    return data


def build_model(config, data):
    return base.build_classifier(config, data)


def evaluate(model, data, config):
    return {**base.evaluate_classifier(model, data), "reference_val_accuracy": 0.84}


main = main_for(__name__)

if __name__ == "__main__":
    main()

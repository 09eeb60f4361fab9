"""The recipes: one module per task, all shaped alike (see ``recipes/base.py``).

- ``list_recipes()``: the recipe names.
- ``get_recipe(name)``: the recipe module (a dotted module path also works,
  for a forked recipe outside this package).
- ``DEFAULT_BACKENDS``: the Keras backend ``zoo train`` picks for a recipe
  when ``KERAS_BACKEND`` is not set (measured; see docs/results.md).

Importing this package imports no Keras, so that a command can still choose
the backend.
"""

import importlib
import os

RECIPES = (
    "chorale_generation",
    "chorale_harmonization",
    "japanese_vowels",
    "sequential_digits",
    "dates",
    "g2p",
    "adding_problem",
    "sunspots",
    "sentiment",
    "translation",
    "ner",
    "char_lm",
)

DEFAULT_BACKENDS = {}

_HERE = os.path.dirname(os.path.abspath(__file__))


def list_recipes():
    """The names of the recipes present in this package, in teaching order."""
    return [name for name in RECIPES if os.path.exists(os.path.join(_HERE, name + ".py"))]


def get_recipe(name):
    """The recipe module ``recipes.<name>``, or the module at a dotted path.

    Raises:
        ValueError: unknown name; the message lists the known recipes.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A recipe name must be a non-empty string. Received: {name!r}")
    if "." in name:
        module = importlib.import_module(name)
        if module.__name__.startswith("recipes.") and module.__name__[8:] in list_recipes():
            return module
        for attr in ("Config", "load_data", "build_model", "evaluate"):
            if not hasattr(module, attr):
                raise ValueError(f"Module {name!r} is not a recipe: it has no `{attr}`.")
        return module
    if name not in list_recipes():
        raise ValueError(
            f"Unknown recipe {name!r}. Known recipes: {', '.join(list_recipes())}."
        )
    return importlib.import_module(f"recipes.{name}")


def default_backend(name):
    """The Keras backend a recipe trains on by default (``"tensorflow"`` unless measured)."""
    return DEFAULT_BACKENDS.get(name, "tensorflow")

"""This repository's recipes: one module per task, all shaped alike.

Each module follows the recipe contract of :mod:`zoo.recipe` (``Config``,
``TINY``, ``SEARCH_SPACE``, ``OBJECTIVE``, ``load_data``, ``build_model``,
``evaluate`` and optionally ``report``) and is registered under the
entry-point group ``zoo.recipes`` in ``pyproject.toml``; ``zoo list``,
``zoo train NAME`` and ``zoo tune NAME`` find them there, exactly as they
find any installed package's recipes. ``recipes.base`` holds the building
blocks most of them share. See docs/recipes.md.

Importing this package imports no Keras, so that a command can still choose
the backend.
"""

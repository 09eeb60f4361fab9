"""Checks of a run's configuration and options before the run writes anything.

Part of the recipe contract (:mod:`zoo.recipe`); standard library only. A
run that fails one of them leaves no run folder behind, so that the
corrected command starts cleanly::

    check_config(config)                      # ValueError: epochs: expected ...
    config = with_data(recipe, "text_classification", config, "reviews.csv")
"""

import dataclasses
import hashlib
import math
import os

# field -> (test, what is expected), for the fields every recipe's Config has.
_RANGES = {
    "epochs": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: _is_int(v) and v >= 1, "an integer >= 1"),
    "learning_rate": (lambda v: _is_number(v) and v > 0, "a finite number > 0"),
    "clipnorm": (lambda v: _is_number(v) and v >= 0, "a finite number >= 0 (0 disables)"),
    "patience": (lambda v: _is_int(v) and v >= 0, "an integer >= 0 (0 disables)"),
    "seed": (lambda v: _is_int(v), "an integer"),
    "mixed_precision": (lambda v: isinstance(v, bool), "true or false"),
    "jit": (lambda v: v == "auto" or isinstance(v, bool), "'auto', true or false"),
}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def check_config(config):
    """Refuse a configuration whose standard fields are out of range.

    Checks the :class:`zoo.recipe.BaseConfig` fields (``epochs >= 1``,
    ``batch_size >= 1``, ``learning_rate > 0``...) and that ``model`` is a
    dict naming its model under ``"name"``. The model's own arguments are
    checked when the model is built, which :func:`zoo.recipe.run` also does
    before it writes the run folder.

    Raises:
        ValueError: naming the field, what was expected and what was received,
            in the terms of ``--set`` (``--set epochs=0``...).
    """
    fields = {f.name for f in dataclasses.fields(config)}
    for name, (test, expected) in _RANGES.items():
        if name in fields and not test(getattr(config, name)):
            raise ValueError(f"--set {name}: expected {expected}. "
                             f"Received: {name}={getattr(config, name)!r}")
    model = getattr(config, "model", None)
    if "model" in fields and not (isinstance(model, dict) and isinstance(
            model.get("name"), str) and model["name"]):
        raise ValueError("The config's `model` must be a dict with the model's registry name "
                         f"under 'name'. Received: model={model!r}")
    return config


def _recipes_with_data():
    """The registered recipes whose Config has a ``data`` field (imports them; error path only)."""
    from zoo import recipe as contract

    found = []
    for name in contract.list_recipes():
        try:
            config = contract.get_recipe(name).Config
        except Exception:  # a recipe that cannot be imported here is not offered
            continue
        if "data" in {f.name for f in dataclasses.fields(config)}:
            found.append(name)
    return found


def with_data(recipe, name, config, path):
    """``config`` with its ``data`` field set to ``path`` (the ``--data`` option).

    The path is checked to exist, and recorded absolute, so that the run
    folder names the same file wherever ``zoo evaluate`` later runs from.
    When the Config also has a ``data_fingerprint`` field, it is set to
    :func:`data_fingerprint` of the path: a run trained on other contents of
    the same file then holds "another configuration", and the recipe's
    ``load_data`` can refuse a file that changed since the run (example:
    ``with_data(recipe, "text_classification", config, "reviews.csv").data_fingerprint``
    -> ``'3f2a...'``).

    Raises:
        ValueError: the recipe's Config has no ``data`` field (the recipes
            that take one are listed), or ``path`` is empty or missing.
    """
    fields = {f.name for f in dataclasses.fields(config)}
    if "data" not in fields:
        takers = _recipes_with_data()
        hint = (f" Recipes that train on your own file: {', '.join(takers)}." if takers else "")
        raise ValueError(f"recipe {name} takes no --data; it reads its own dataset (use "
                         f"--data-dir for the folder where its data is kept).{hint}")
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"--data: expected the path of a file or folder. Received: {path!r}")
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.exists(full):
        raise ValueError(f"--data: no such file or folder: {path!r} (looked for {full}).")
    changes = {"data": full}
    if "data_fingerprint" in fields:
        changes["data_fingerprint"] = data_fingerprint(full)
    return dataclasses.replace(config, **changes)


def data_fingerprint(path):
    """A sha256 (hex, 16 characters) of a data file's bytes, or of a folder's files.

    For a folder: the names and bytes of the files directly in it, in name
    order (names starting with "." left out). Used by :func:`with_data`.

    Example:
        >>> data_fingerprint("reviews.csv")   # doctest: +SKIP
        '3f2a9c0e5b7d1a64'
    """
    digest = hashlib.sha256()
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if not n.startswith(".")
                       and os.path.isfile(os.path.join(path, n)))
        files = [(n, os.path.join(path, n)) for n in names]
    else:
        files = [("", path)]
    for name, file in files:
        digest.update(f"{name}\0{os.path.getsize(file)}\0".encode("utf-8"))
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]

"""Checks of a run's configuration and options before the run writes anything.

Part of the recipe contract (:mod:`zoo.recipe`); standard library only. A
run that fails one of them leaves no run folder behind, so that the
corrected command starts cleanly::

    check_config(config)                      # ValueError: epochs: expected ...
    config = with_data(recipe, "text_classification", config, "reviews.csv")
    flag_overrides(args)                      # ["jit=false", ...] from --jit off
    check_export_dir("saved_models/x/1", "runs/x")  # ValueError: it exists already
"""

import dataclasses
import hashlib
import json
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
    dict: empty (``BaseConfig``'s default, for a recipe whose ``build_model``
    chooses the model itself) or naming its model under ``"name"``. The model's
    own arguments are checked when the model is built, which
    :func:`zoo.recipe.run` also does before it writes the run folder.

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
    if "model" in fields and not (isinstance(model, dict) and (not model or isinstance(
            model.get("name"), str) and model["name"])):
        raise ValueError("The config's `model` must be a dict with the model's registry name "
                         f"under 'name' (or empty). Received: model={model!r}")
    return config


def flag_overrides(args):
    """The ``--set`` overrides of parsed ``args``, with those ``--mixed-precision`` and
    ``--jit`` stand for appended (one mapping for ``zoo train`` and ``zoo tune``).

    Example:
        >>> import argparse
        >>> flag_overrides(argparse.Namespace(overrides=["epochs=2"], jit="off",
        ...                                   mixed_precision=True))
        ['epochs=2', 'mixed_precision=true', 'jit=false']
    """
    overrides = list(getattr(args, "overrides", None) or [])
    if getattr(args, "mixed_precision", False):
        overrides.append("mixed_precision=true")
    jit = getattr(args, "jit", None)
    if jit:
        overrides.append("jit=" + {"on": "true", "off": "false"}.get(jit, jit))
    return overrides


def check_export_dir(export_dir, run_dir):
    """Refuse an ``--export-dir`` that exists already, unless it is an export of ``run_dir``
    (recorded in its ``exports.json``; ``run_dir`` None: none is), before any training.

    Raises:
        ValueError: naming the folder and the way out.
    """
    if export_dir is None or not os.path.exists(export_dir):
        return
    full = os.path.abspath(export_dir)
    recorded = set()
    try:
        with open(os.path.join(run_dir, "exports.json"), encoding="utf-8") as file:
            recorded = {e.get("abspath") for e in json.load(file).get("exports", [])}
    except (OSError, TypeError, ValueError, AttributeError):  # no run (yet), or no record
        pass
    if full not in recorded:
        raise ValueError(f"--export-dir {export_dir}: the folder exists already (and is no "
                         f"export of the run {run_dir}). Pass a new folder, or remove it.")


def _class_fields(module_name, class_name, depth=2):
    """The annotated field names of ``class_name`` in ``module_name``'s source, with those
    of its bases (two levels: in the module, or in one it imports from), or None.

    Read from the source, never imported: a recipe module may import Keras,
    and this runs before the command has chosen its backend.
    """
    import ast
    import importlib.util

    try:
        spec = importlib.util.find_spec(module_name)
        with open(spec.origin, encoding="utf-8") as file:
            tree = ast.parse(file.read())
    except (ImportError, AttributeError, TypeError, ValueError, OSError, SyntaxError):
        return None
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            fields = {n.target.id for n in node.body
                      if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            for base in node.bases if depth else ():
                where = None
                if isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name) \
                        and base.value.id in imported:  # mod.Base, `from pkg import mod`
                    where = (imported[base.value.id], base.attr)
                elif isinstance(base, ast.Name) and base.id in imported:  # `from mod import Base`
                    where = tuple(imported[base.id].rsplit(".", 1))
                elif isinstance(base, ast.Name):  # a class of the same module
                    where = (module_name, base.id)
                if where and where[1] != class_name:
                    fields |= _class_fields(*where, depth - 1) or set()
            return fields
    return None


def _recipes_with_data():
    """The registered recipes whose Config has a ``data`` field (error path only).

    A recipe already imported is asked; any other is read from its source
    (:func:`_class_fields`), so that the hint costs no Keras import.
    """
    import sys

    from zoo import recipe as contract

    found = []
    for name, point in contract._entry_points().items():
        module = sys.modules.get(point.value)
        if module is not None and dataclasses.is_dataclass(getattr(module, "Config", None)):
            fields = {f.name for f in dataclasses.fields(module.Config)}
        else:
            fields = _class_fields(point.value, "Config") or set()
        if "data" in fields:
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

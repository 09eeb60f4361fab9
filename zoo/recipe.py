"""The recipe contract: what a recipe is, how it is found, configured and run.

A recipe is a module that defines

- ``Config``: a dataclass deriving from :class:`BaseConfig` (its ``model``
  dict holds the ``zoo.create_model`` arguments, the model's registry name
  under ``"name"``);
- ``TINY``: config fields of a seconds-long run (``--tiny``);
- ``SEARCH_SPACE`` and ``OBJECTIVE``: what ``zoo tune`` searches and the
  ``(metric, "min"|"max")`` that picks the best epoch and the best trial;
- ``load_data(config, data_dir=None) -> Data``;
- ``build_model(config, data) -> keras.Model`` (compiled);
- ``evaluate(model, data, config) -> dict`` (test metrics);
- optionally ``report(model, data, config, run_dir) -> dict`` (samples,
  figures) and ``BACKEND`` (the Keras backend ``zoo train`` picks when
  neither ``--backend`` nor ``KERAS_BACKEND`` says);
- ``main = zoo.recipe.main_for(__name__)``, for ``python -m <module>``.

Recipes are plugins: they are found through the entry-point group
``zoo.recipes`` (name -> module), which any installed package may extend::

    [project.entry-points."zoo.recipes"]
    my_task = "my_package.my_task"

:func:`run` wires a recipe into the one training path::

    config -> load_data -> build_model (in the strategy's scope) -> run folder written
           -> zoo.training.train -> evaluate -> report
           -> export (saved_models/<recipe>/<version>, unless these weights were exported)

Nothing is written until the config, the data and the model have passed;
``--tiny`` runs go to ``runs/<recipe>-tiny`` and export only when asked.

Config overrides are ``key=value`` strings (``epochs=3``, ``model.units=64``)
checked against the field types. This module imports only the standard
library, so that the ``zoo`` command lists and configures recipes without
loading TensorFlow or Keras. See docs/recipes.md.
"""

import contextlib
import dataclasses
import importlib
import os
import sys
import time
import typing
from importlib import metadata

from zoo._overrides import apply_overrides, make_config
from zoo._run_checks import check_config, check_export_dir

ENTRY_POINT_GROUP = "zoo.recipes"
CONTRACT = ("Config", "load_data", "build_model", "evaluate")
DEFAULT_RUNS = "runs"
DEFAULT_EXPORTS = "saved_models"
DEFAULT_BACKEND = "tensorflow"

__all__ = [
    "BaseConfig", "Data", "apply_overrides", "make_config", "list_recipes", "get_recipe",
    "recipe_name", "default_run_dir", "check_config", "run", "load_run", "evaluate_run",
    "export_run", "main_for", "EXPORT_FORMATS", "TINY_HELP", "add_shared_arguments",
    "add_backend_argument", "add_train_arguments", "config_from_args", "run_from_args",
]  # fmt: skip


@dataclasses.dataclass
class Data:
    """The datasets and data-derived facts a recipe trains on.

    Attributes:
        train, validation, test: batched ``tf.data.Dataset`` of
            ``(inputs, targets)``, inputs a dict keyed by the model's input
            names, each ``(batch, timesteps, features)`` (or token ids
            ``(batch, timesteps)``); ``validation`` or ``test`` may be None.
        model_kwargs: ``zoo.create_model`` arguments that come from the data
            (``vocab_size``, ``num_classes``, ``input_dim``...).
        artifacts: name -> JSON-serialisable object (vocabularies,
            normalisation statistics) that training writes to the run folder
            as ``<name>.json`` and the export records; passed explicitly,
            never found again by scanning a folder.
        extras: anything else the recipe's ``evaluate``/``report`` needs
            (raw test examples, label names); not saved.
    """

    train: typing.Any
    validation: typing.Any = None
    test: typing.Any = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    artifacts: dict = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BaseConfig:
    """Fields every recipe's ``Config`` has.

    Attributes:
        epochs: training epochs.
        batch_size: examples per batch (global, over all replicas).
        learning_rate: Adam's learning rate.
        seed: seeds Python, NumPy and the backend.
        clipnorm: clip each gradient to this L2 norm (0 disables).
        patience: early-stopping patience in epochs (0 disables).
        jit: ``"auto"`` (Keras decides), ``True`` or ``False`` (XLA).
        mixed_precision: float16 (GPU) / bfloat16 (CPU) compute.
        model: ``zoo.create_model`` arguments, its ``name`` under ``"name"``.
    """

    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 42
    clipnorm: float = 1.0
    patience: int = 0
    jit: typing.Union[bool, str] = "auto"
    mixed_precision: bool = False
    model: dict = dataclasses.field(default_factory=dict)


# --------------------------------------------------------------------------
# Finding recipes: the "zoo.recipes" entry points
# --------------------------------------------------------------------------


def _entry_points():
    """name -> entry point of every registered recipe, sorted by name.

    Entry points carry no order (setuptools writes them sorted), so the
    names are sorted here whatever the installer did.
    """
    found = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)  # the first distribution on the path wins
    return dict(sorted(found.items()))


def list_recipes():
    """The names of the registered recipes, sorted (no recipe module is imported)."""
    return list(_entry_points())


def _check_contract(module, name):
    for attr in CONTRACT:
        if not hasattr(module, attr):
            raise ValueError(f"Module {name!r} is not a recipe: it has no `{attr}`.")
    return module


def get_recipe(name):
    """The recipe module registered as ``name``, or the module at a dotted path.

    A dotted path (``my_package.my_task``) imports that module, for a recipe
    that is not registered (a fork being written).

    Raises:
        ValueError: unknown name (the message lists the registered recipes),
            a module that cannot be imported, or one missing part of the
            contract (``Config``, ``load_data``, ``build_model``, ``evaluate``).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"A recipe name must be a non-empty string. Received: {name!r}")
    points = _entry_points()
    if name in points:
        return _check_contract(points[name].load(), name)
    by_module = {ep.value: ep for ep in points.values()}
    if name in by_module:  # a registered recipe named by its module (recipe.json, workers)
        return _check_contract(by_module[name].load(), name)
    if "." in name:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            raise ValueError(f"Cannot import recipe module {name!r}: {err}") from err
        return _check_contract(module, name)
    known = ", ".join(points) or "none registered (see docs/recipes.md)"
    raise ValueError(f"Unknown recipe {name!r}. Known recipes: {known}.")


def recipe_name(recipe):
    """The short name of a recipe module: its ``NAME``, else the last part of its module name."""
    return getattr(recipe, "NAME", None) or module_name(recipe).rsplit(".", 1)[-1]


def module_name(recipe):
    """The importable name of a recipe module (``python -m`` runs it as ``__main__``)."""
    if recipe.__name__ == "__main__":
        spec = getattr(recipe, "__spec__", None)
        if spec is not None:
            return spec.name
    return recipe.__name__


def default_backend(recipe):
    """The Keras backend a recipe trains on by default: its ``BACKEND``, else TensorFlow."""
    return getattr(recipe, "BACKEND", None) or DEFAULT_BACKEND


def objective(recipe, data=None):
    """``(monitor, mode)`` from the recipe's ``OBJECTIVE`` (``val_`` dropped without validation)."""
    monitor, mode = getattr(recipe, "OBJECTIVE", ("val_loss", "min"))
    if data is not None and data.validation is None and monitor.startswith("val_"):
        monitor = monitor[len("val_"):]
    return monitor, mode


def next_version(root):
    """The next free integer version folder under ``root`` (1 when none)."""
    versions = [int(n) for n in os.listdir(root) if n.isdigit()] if os.path.isdir(root) else []
    return str(max(versions, default=0) + 1)


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def _check_data(data, recipe):
    if not isinstance(data, Data):
        raise ValueError(f"{module_name(recipe)}.load_data must return a zoo.recipe.Data. "
                         f"Received: {type(data).__name__}")
    if not isinstance(data.artifacts, dict):
        raise ValueError("Data.artifacts must be a dict name -> JSON object. "
                         f"Received: {type(data.artifacts).__name__}")
    return data


def default_run_dir(recipe, *, tiny=False):
    """``runs/<recipe>``, or ``runs/<recipe>-tiny`` for a ``--tiny`` run (kept apart)."""
    return os.path.join(DEFAULT_RUNS, recipe_name(recipe) + ("-tiny" if tiny else ""))


def run(recipe, config, *, data_dir=None, run_dir=None, overwrite=False, export=None,
        export_dir=None, tiny=False, verbose="auto", export_root=DEFAULT_EXPORTS):
    """Train, evaluate, report and export one recipe run.

    Nothing is written before the configuration has passed its checks
    (:func:`zoo._run_checks.check_config`), the run folder has been checked
    to hold no other configuration, the data has loaded and the model has
    been built: a rejected configuration leaves no run folder behind.

    Args:
        recipe: the recipe module.
        config: its ``Config``.
        data_dir: TFDS data folder (default: TFDS's own).
        run_dir: the run folder (default :func:`default_run_dir`:
            ``runs/<recipe>``, ``runs/<recipe>-tiny`` with ``tiny``); an
            existing one is resumed (or reused when finished) unless
            ``overwrite``.
        export: write a SavedModel after training; ``None`` (default): yes,
            unless ``tiny`` without an ``export_dir``. A finished run whose
            weights were already exported (its ``exports.json``) reports that
            export instead of writing a new version.
        export_dir: the export folder (default
            ``<export_root>/<recipe>/<next version>``); one that exists
            already is refused before training, unless it is an export of
            this run (its ``exports.json``).
        tiny: ``config`` is a ``--tiny`` one: it only changes the defaults of
            ``run_dir`` and ``export``.
        verbose: ``fit``'s verbosity.
        export_root: the root of the default export folders (``saved_models``).

    Returns:
        dict: the summary (metrics, epochs, seconds, paths), also printed as
        one line and stored in ``run_dir/metrics.json``.

    Raises:
        ValueError: a configuration out of range or that builds no model, a
            run folder holding another configuration, an ``export_dir`` that
            exists and is no export of this run.
        zoo.training.lock.RunFolderBusy: another process works in ``run_dir``
            (the chief holds the folder's lock for the whole run, export
            included).
    """
    from zoo.training import placement, runs

    check_config(config)
    run_dir = run_dir or default_run_dir(recipe, tiny=tiny)
    by_default = export is None
    if by_default:
        export = not tiny or export_dir is not None
    chief = placement.is_chief()
    if chief:  # before the lock, which creates the folder's parent
        runs.run_dir_state(run_dir, config, overwrite=overwrite)
        if export:
            check_export_dir(export_dir, None if overwrite else run_dir)
    with _run_lock(run_dir) if chief else contextlib.nullcontext():
        summary = _run(recipe, config, data_dir=data_dir, run_dir=run_dir, overwrite=overwrite,
                       export=export, export_dir=export_dir, verbose=verbose, chief=chief,
                       export_root=export_root)
    if not export:
        summary["no_export"] = "--tiny; pass --export to export" if by_default else ""
    print(summary_line(summary), flush=True)
    return summary


def _run_lock(run_dir):
    from zoo.training.lock import RunLock

    return RunLock(run_dir)


def _build_checked(recipe, config, data, strategy):
    """The recipe's model, built in ``strategy``'s scope (a ValueError when none builds)."""
    from zoo.training import placement

    try:
        with strategy.scope():
            return recipe.build_model(config, data)
    except (ValueError, TypeError) as err:
        placement.release(strategy)
        raise ValueError(f"The configuration of {recipe_name(recipe)} builds no model "
                         f"(check the --set model.* values): {err}") from err


def _run(recipe, config, *, data_dir, run_dir, overwrite, export, export_dir, verbose, chief,
         export_root=DEFAULT_EXPORTS):
    import keras

    from zoo.training import placement, runs, train

    name = recipe_name(recipe)
    start = time.perf_counter()
    # Checked again under the lock; it fails before any data is loaded.
    state = runs.run_dir_state(run_dir, config, overwrite=overwrite) if chief else "new"
    placement.join_cluster()  # JAX processes join before any computation, data loading included
    placement.configure(seed=config.seed, mixed_precision=config.mixed_precision)
    data = _check_data(recipe.load_data(config, data_dir=data_dir), recipe)
    # Seeded again: building a dataset the first time draws from the seeded
    # generators, and the model's initial weights must not depend on whether
    # the data was already built.
    placement.configure(seed=config.seed, mixed_precision=config.mixed_precision)
    monitor, mode = objective(recipe, data)
    strategy = placement.choose_strategy()
    # A finished run loads its model.keras; any other is built now, before the
    # folder is written, and trained as it is.
    model = None if state == "finished" else _build_checked(recipe, config, data, strategy)
    if chief:
        runs.prepare_run_dir(run_dir, config, overwrite=overwrite)
        runs.write_json(os.path.join(run_dir, runs.RUN_FILES["recipe"]), {
            "name": name, "module": module_name(recipe), "artifacts": sorted(data.artifacts)})
    result = train(
        model if model is not None else (lambda: recipe.build_model(config, data)), data,
        run_dir=run_dir, epochs=config.epochs, patience=config.patience, monitor=monitor,
        mode=mode, strategy=strategy, artifacts=data.artifacts, verbose=verbose)
    # Every worker evaluates (a distributed evaluation needs them all); only the
    # chief writes the run folder and exports.
    test = recipe.evaluate(result.model, data, config) or {}
    if chief:
        runs.update_metrics(run_dir, test, section="test")
    if chief and hasattr(recipe, "report"):
        report = recipe.report(result.model, data, config, run_dir) or {}
        runs.update_metrics(run_dir, report, section="report")
    summary = {
        "recipe": name,
        "status": result.status,
        "epochs": len(result.history.get("loss", [])),
        "train_seconds": round(result.train_seconds, 1),
        "test": test,
        "run_dir": run_dir,
        "backend": keras.backend.backend(),
    }
    if export and chief:
        summary.update(_export_once(name, run_dir, export_dir, result.model, data.artifacts,
                                    root=export_root))
    summary["total_seconds"] = round(time.perf_counter() - start, 1)
    if chief:
        runs.update_metrics(run_dir, summary, section="summary")
    return summary


def summary_line(summary):
    """The one line that ends a run: status, test metrics, epochs, paths."""
    metrics = " ".join(f"{k}={_fmt(v)}" for k, v in summary.get("test", {}).items())
    parts = [f"[{summary['recipe']}] {summary['status']}: {metrics}",
             f"{summary['epochs']} epochs, {summary['train_seconds']} s training"]
    parts.append(f"run {summary['run_dir']}")
    if summary.get("export") and summary.get("export_unchanged"):
        parts.append(f"export {summary['export']} (unchanged weights)")
    elif summary.get("export"):
        parts.append(f"SavedModel {summary['export']}")
    if summary.get("export_error"):
        parts.append("export FAILED (see above)")
    if "no_export" in summary:
        parts.append(f"no export ({summary['no_export']})" if summary["no_export"]
                     else "no export")
    return " | ".join(parts)


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _run_info(run_dir):
    from zoo.training import runs

    path = os.path.join(run_dir, runs.RUN_FILES["recipe"])
    info = runs.read_json(path)
    if info is None:
        raise ValueError(f"Not a run folder (no recipe.json). Received: run_dir={run_dir!r}")
    if not isinstance(info, dict) or not info.get("name"):
        raise runs.CorruptRunFile(path, "no recipe name in it", runs.way_out(path))
    return info


def load_run(run_dir):
    """(recipe module, config) of a run folder.

    Raises:
        ValueError: not a run folder (no ``recipe.json``).
        zoo.training.runs.CorruptRunFile: ``recipe.json`` or ``config.json``
            cannot be read (the message names the file and what to do).
    """
    from zoo.training import runs

    info = _run_info(run_dir)
    module = info.get("module")
    recipe = get_recipe(module if module and module != "__main__" else info["name"])
    path = os.path.join(run_dir, runs.RUN_FILES["config"])
    fields = runs.read_json(path)
    if fields is None:
        raise ValueError(f"The run folder {run_dir} has no config.json. Train into another "
                         "--run-dir, or start this one again with --overwrite.")
    if not isinstance(fields, dict):
        raise runs.CorruptRunFile(path, "no configuration in it", runs.way_out(path))
    known = {f.name for f in dataclasses.fields(recipe.Config)}
    config = recipe.Config(**{k: v for k, v in fields.items() if k in known})
    return recipe, config


def load_run_model(run_dir):
    """The trained ``model.keras`` of a run folder.

    Raises:
        ValueError: the run has no ``model.keras`` yet (unfinished).
        zoo.training.runs.CorruptRunFile: the file is there but truncated or
            damaged; the message says to rerun ``zoo train`` with the same
            command (it rebuilds the model from the run's checkpoints), or
            ``--overwrite``.
    """
    import zipfile

    import keras

    from zoo.training import runs

    path = os.path.join(run_dir, runs.RUN_FILES["model"])
    if not os.path.exists(path):
        raise ValueError(f"The run folder {run_dir} has no model.keras: the run has not "
                         "finished. Rerun `zoo train` with the same command to finish it.")
    way_out = ("Rerun `zoo train` with the same command to rebuild it from the run's "
               "checkpoints, or start again with --overwrite.")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise runs.CorruptRunFile(path, f"not a readable .keras archive: {err}", way_out) from None
    if bad is not None:
        raise runs.CorruptRunFile(path, f"member {bad} fails its checksum", way_out)
    try:
        return keras.models.load_model(path)
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise runs.CorruptRunFile(path, f"cannot be loaded: {err}", way_out) from None


def evaluate_run(run_dir, *, data_dir=None):
    """Evaluate a run folder's model on its recipe's test split again.

    The evaluation writes the test metrics into ``metrics.json``, so it holds
    the run folder's lock: it refuses (``RunFolderBusy``) while a training or
    an export works in the folder, and they refuse while it runs.
    """
    from zoo.training import placement, runs

    with _run_lock(run_dir):
        recipe, config = load_run(run_dir)
        placement.configure(seed=config.seed)
        data = recipe.load_data(config, data_dir=data_dir)
        model = load_run_model(run_dir)
        test = recipe.evaluate(model, data, config) or {}
        runs.update_metrics(run_dir, test, section="test")
    return test


def run_artifacts(run_dir):
    """name -> object of the artifacts a run recorded (the names listed in its recipe.json)."""
    from zoo.training import runs

    names = _run_info(run_dir).get("artifacts", [])
    found = {}
    for name in names:
        path = os.path.join(run_dir, f"{name}.json")
        if not os.path.exists(path):
            raise ValueError(
                f"The run folder {run_dir} has no {name}.json, an artifact its recipe.json "
                "lists. Rerun `zoo train` with the same command to write it again.")
        found[name] = runs.read_json(path)
    return found


# The export of a run folder and the command line of a recipe module live in their own
# modules (one concept per file); their public names are this module's too.
from zoo._recipe_cli import (  # noqa: E402
    TINY_HELP, add_backend_argument, add_shared_arguments, add_train_arguments,
    config_from_args, main_for, run_from_args,
)
from zoo._run_export import EXPORT_FORMATS, export_run  # noqa: E402
from zoo._run_export import _export_once, _main  # noqa: E402,F401

if __name__ == "__main__":
    sys.exit(_main())

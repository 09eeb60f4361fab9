"""What every recipe shares: its data holder, its config, and its run.

A recipe module (``recipes/<name>.py``) defines ``Config`` (a dataclass
deriving from :class:`BaseConfig`), ``TINY``, ``SEARCH_SPACE``,
``OBJECTIVE``, ``load_data``, ``build_model``, ``evaluate`` and
``main = base.main_for(__name__)``; it may define ``report(model, data,
config, run_dir) -> dict`` for task-specific outputs (samples, figures).
:func:`run` wires those into the one training path::

    config -> load_data -> build_model (in the strategy's scope) -> training.train
           -> evaluate -> report -> export (saved_models/<recipe>/<version>)

Config overrides use ``key=value`` strings (``epochs=3``,
``model.units=64``); values are checked against the field types.
"""

import argparse
import ast
import dataclasses
import json
import os
import subprocess
import sys
import time
import typing

DEFAULT_RUNS = "runs"
DEFAULT_EXPORTS = "saved_models"


@dataclasses.dataclass
class Data:
    """The datasets and data-derived facts a recipe trains on.

    Attributes:
        train, validation, test: batched ``tf.data.Dataset`` of
            ``(inputs, targets)``; ``validation`` or ``test`` may be None.
        model_kwargs: ``zoo.create_model`` arguments that come from the data
            (``vocab_size``, ``num_classes``, ``input_dim``...).
        extras: anything else (vocabularies, normalisation statistics, raw
            test examples); JSON-serialisable entries listed in
            ``artifacts`` are written to the run folder and the export.
        artifacts: names of ``extras`` entries to save as ``<name>.json``.
    """

    train: typing.Any
    validation: typing.Any = None
    test: typing.Any = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)
    artifacts: tuple = ()


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
# Overrides
# --------------------------------------------------------------------------

# ``jit``'s type. Compared with ``==``, never ``is``: typing caches
# subscriptions in a bounded LRU cache, so once enough other ``Union[...]``
# (or ``Optional[...]``) have been made (importing keras_tuner or every recipe
# does it), ``typing.Union[bool, str]`` is a new object, equal to the field's
# annotation but not identical to it.
_AUTO_OR_BOOL = typing.Union[bool, str]


def _type_name(tp):
    if tp == _AUTO_OR_BOOL:
        return "'auto', true or false"
    return getattr(tp, "__name__", str(tp))


def _parse(key, raw, tp):
    """Convert the string ``raw`` to ``tp`` or raise a ValueError naming ``key``."""
    text = raw.strip()
    low = text.lower()
    try:
        if tp is bool:
            if low in ("true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if tp == _AUTO_OR_BOOL:
            if low == "auto":
                return "auto"
            return _parse(key, raw, bool)
        if tp is int:
            return int(text)
        if tp is float:
            return float(text)
        if tp is str:
            return text
        if tp in (dict, list, tuple):
            value = ast.literal_eval(text)
            if not isinstance(value, tp):
                raise ValueError
            return value
        value = ast.literal_eval(text)
        return value
    except (ValueError, SyntaxError):
        raise ValueError(
            f"--set {key}: expected {_type_name(tp)}. Received: {key}={raw!r}"
        ) from None


def _literal(raw):
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def apply_overrides(config, overrides):
    """Return a copy of ``config`` with ``key=value`` overrides applied.

    ``model.<arg>=value`` sets a ``zoo.create_model`` argument: its type is
    that of the default when the recipe sets one, else the value is read as
    a Python literal (a bare word stays a string).

    Raises:
        ValueError: malformed item, unknown key (the known ones are listed)
            or a value of the wrong type (the expected type is named).
    """
    hints = typing.get_type_hints(type(config))
    fields = {f.name for f in dataclasses.fields(config)}
    changes, model = {}, dict(config.model)
    for item in overrides or ():
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE. Received: {item!r}")
        key, raw = (s.strip() for s in item.split("=", 1))
        if key.startswith("model."):
            arg = key[len("model."):]
            default = config.model.get(arg)
            if default is None or isinstance(default, (list, tuple, dict)):
                model[arg] = _literal(raw)
            else:
                model[arg] = _parse(key, raw, type(default))
            continue
        if key not in fields:
            raise ValueError(
                f"Unknown config key {key!r} for {type(config).__module__}. "
                f"Known keys: {', '.join(sorted(fields))} (and model.<create_model argument>)."
            )
        changes[key] = _parse(key, raw, hints[key])
    if model != config.model:
        changes["model"] = model
    return dataclasses.replace(config, **changes)


def make_config(recipe, *, tiny=False, overrides=(), epochs=None):
    """The recipe's ``Config``, with ``TINY`` then ``overrides`` then ``epochs`` applied."""
    config = recipe.Config()
    if tiny:
        config = dataclasses.replace(config, **getattr(recipe, "TINY", {}))
    config = apply_overrides(config, overrides)
    if epochs is not None:
        config = dataclasses.replace(config, epochs=int(epochs))
    return config


# --------------------------------------------------------------------------
# Building blocks for recipes
# --------------------------------------------------------------------------


def recipe_name(recipe):
    return getattr(recipe, "NAME", None) or recipe.__name__.rsplit(".", 1)[-1]


def create_model(config, data, **extra):
    """``zoo.create_model`` from ``config.model`` and the data-derived kwargs."""
    import zoo

    kwargs = dict(config.model)
    name = kwargs.pop("name")
    kwargs.update(data.model_kwargs)
    kwargs.update(extra)
    return zoo.create_model(name, **kwargs)


def compile_model(model, config, *, loss, metrics=()):
    """Compile with Adam (``config.learning_rate``, ``config.clipnorm``) and ``config.jit``."""
    from zoo import training

    model.compile(
        optimizer=training.make_optimizer(config),
        loss=loss,
        metrics=list(metrics),
        jit_compile=training.jit_compile(config),
    )
    return model


def build_classifier(config, data):
    """The model of a classification recipe, compiled with sparse cross-entropy on logits."""
    import keras

    model = create_model(config, data)
    return compile_model(
        model, config, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])


def build_sequence_model(config, data, metrics=()):
    """The model of a per-step (sequence) recipe, compiled with the zoo's
    SequenceLoss and TokenAccuracy, padding (id 0) ignored; `metrics` are added."""
    from zoo import losses

    model = create_model(config, data)
    return compile_model(model, config, loss=losses.SequenceLoss(ignore_class=0),
                         metrics=[losses.TokenAccuracy(ignore_class=0), *metrics])


def evaluate_classifier(model, data):
    """Test accuracy and loss of a model built by ``build_classifier``."""
    results = model.evaluate(data.test, verbose=0, return_dict=True)
    return {"accuracy": float(results["accuracy"]), "loss": float(results["loss"])}


def next_version(root):
    """The next free integer version folder under ``root`` (1 when none)."""
    versions = [int(n) for n in os.listdir(root) if n.isdigit()] if os.path.isdir(root) else []
    return str(max(versions, default=0) + 1)


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


def _artifacts(data):
    if isinstance(data.artifacts, dict):  # zoo.recipe.Data: name -> JSON object
        return dict(data.artifacts)
    return {name: data.extras[name] for name in data.artifacts if name in data.extras}


def run(recipe, config, *, data_dir=None, run_dir=None, overwrite=False, export=True,
        export_dir=None, verbose="auto"):
    """Train, evaluate, report and export one recipe run.

    Args:
        recipe: the recipe module.
        config: its ``Config``.
        data_dir: TFDS data folder (default: TFDS's own).
        run_dir: the run folder (default ``runs/<recipe>``); an existing one
            is resumed (or reused when finished) unless ``overwrite``.
        export: write a SavedModel after training.
        export_dir: the export folder (default
            ``saved_models/<recipe>/<next version>``).
        verbose: ``fit``'s verbosity.

    Returns:
        dict: the summary (metrics, epochs, seconds, paths), also printed as
        one line and stored in ``run_dir/metrics.json``.
    """
    import keras

    from zoo import placement, runs, training

    name = recipe_name(recipe)
    run_dir = run_dir or os.path.join(DEFAULT_RUNS, name)
    start = time.perf_counter()
    if placement.is_chief():  # fail before loading data if the folder holds another run
        runs.prepare_run_dir(run_dir, config, overwrite=overwrite)
    placement.configure(seed=config.seed, mixed_precision=config.mixed_precision)
    data = recipe.load_data(config, data_dir=data_dir)
    monitor, mode = getattr(recipe, "OBJECTIVE", ("val_loss", "min"))
    if data.validation is None and monitor.startswith("val_"):
        monitor = monitor[len("val_"):]
    result = training.train(
        lambda: recipe.build_model(config, data),
        data,
        config,
        run_dir,
        monitor=monitor,
        mode=mode,
        artifacts={"recipe": {"name": name, "module": _module_name(recipe)}, **_artifacts(data)},
        verbose=verbose,
    )
    test = recipe.evaluate(result.model, data, config) or {}
    runs.record_metrics(run_dir, "test", test)
    report = {}
    if hasattr(recipe, "report"):
        report = recipe.report(result.model, data, config, run_dir) or {}
        runs.record_metrics(run_dir, "report", report)
    summary = {
        "recipe": name,
        "status": result.status,
        "epochs": len(result.history.get("loss", [])),
        "train_seconds": round(result.train_seconds, 1),
        "test": test,
        "run_dir": run_dir,
        "backend": keras.backend.backend(),
    }
    if export:
        path = export_dir or os.path.join(DEFAULT_EXPORTS, name, next_version(
            os.path.join(DEFAULT_EXPORTS, name)))
        try:
            summary["export"] = str(export_run(run_dir, path, model=result.model))
        except Exception as err:  # the trained run stays usable: `zoo export RUN` retries
            summary["export_error"] = f"{type(err).__name__}: {err}"
            print(f"[{name}] export to {path} failed: {summary['export_error']}", flush=True)
    summary["total_seconds"] = round(time.perf_counter() - start, 1)
    runs.record_metrics(run_dir, "summary", summary)
    print(summary_line(summary), flush=True)
    return summary


def _module_name(recipe):
    """The importable name of a recipe module (``python -m`` runs it as ``__main__``)."""
    if recipe.__name__ == "__main__":
        spec = getattr(recipe, "__spec__", None)
        return spec.name if spec is not None else f"recipes.{recipe_name(recipe)}"
    return recipe.__name__


def summary_line(summary):
    metrics = " ".join(f"{k}={_fmt(v)}" for k, v in summary.get("test", {}).items())
    parts = [f"[{summary['recipe']}] {summary['status']}: {metrics}",
             f"{summary['epochs']} epochs, {summary['train_seconds']} s training"]
    parts.append(f"run {summary['run_dir']}")
    if summary.get("export"):
        parts.append(f"SavedModel {summary['export']}")
    if summary.get("export_error"):
        parts.append("export FAILED (see above)")
    return " | ".join(parts)


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def load_run(run_dir):
    """(recipe module, config) of a run folder."""
    from zoo import runs

    import recipes

    info = runs.read_json(os.path.join(run_dir, "recipe.json"))
    if info is None:
        raise ValueError(f"Not a run folder (no recipe.json): {run_dir}")
    recipe = recipes.get_recipe(info["module"])
    fields = runs.read_json(os.path.join(run_dir, runs.RUN_FILES["config"]))
    known = {f.name for f in dataclasses.fields(recipe.Config)}
    config = recipe.Config(**{k: v for k, v in fields.items() if k in known})
    return recipe, config


def evaluate_run(run_dir, *, data_dir=None):
    """Evaluate a run folder's model on its recipe's test split again."""
    import keras

    from zoo import placement, runs

    recipe, config = load_run(run_dir)
    placement.configure(seed=config.seed)
    data = recipe.load_data(config, data_dir=data_dir)
    model = keras.models.load_model(os.path.join(run_dir, runs.RUN_FILES["model"]))
    test = recipe.evaluate(model, data, config) or {}
    runs.record_metrics(run_dir, "test", test)
    return test


def export_run(run_dir, path, *, model=None, overwrite=False):
    """Export a run folder's model as a SavedModel at ``path``.

    The export records the recipe, config, metrics and vocabularies. On a
    backend other than TensorFlow the export runs in a TensorFlow-backend
    subprocess from the saved ``model.keras``.
    """
    import keras

    from zoo import runs

    if keras.backend.backend() != "tensorflow":
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        cmd = [sys.executable, "-m", "recipes.base", "export", run_dir, str(path)]
        if overwrite:
            cmd.append("--overwrite")
        subprocess.run(cmd, check=True, env=env)
        return path
    from zoo.export import export_saved_model

    if model is None:
        model = keras.models.load_model(os.path.join(run_dir, runs.RUN_FILES["model"]))
    metrics = runs.read_json(os.path.join(run_dir, runs.RUN_FILES["metrics"]), {})
    recipe = runs.read_json(os.path.join(run_dir, "recipe.json"), {})
    config = runs.read_json(os.path.join(run_dir, runs.RUN_FILES["config"]), {})
    extras = {}
    for fname in sorted(os.listdir(run_dir)):
        stem = fname[:-5]
        if fname.endswith(".json") and stem not in ("config", "metrics", "recipe"):
            extras[stem] = runs.read_json(os.path.join(run_dir, fname))
    metadata = {
        "recipe": recipe.get("name"),
        "config": config,
        "metrics": metrics.get("test", {}),
        "artifacts": extras,
        "run_dir": os.path.abspath(run_dir),
    }
    return export_saved_model(model, path, metadata=metadata, overwrite=overwrite)


# --------------------------------------------------------------------------
# Command line of a recipe module
# --------------------------------------------------------------------------


def add_train_arguments(parser):
    """The options shared by ``python -m recipes.<name>`` and ``zoo train``."""
    parser.add_argument("--epochs", type=int, help="override the number of epochs")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE",
                        help="override a config field (model.units=64 for a model argument)")
    parser.add_argument("--tiny", action="store_true", help="the seconds-long TINY config")
    parser.add_argument("--data-dir", help="TFDS data folder")
    parser.add_argument("--run-dir", help="run folder (default: runs/<recipe>)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start the run folder afresh instead of resuming it")
    parser.add_argument("--mixed-precision", action="store_true",
                        help="float16 (GPU) / bfloat16 (CPU) compute")
    parser.add_argument("--jit", choices=["auto", "on", "off"], help="XLA compilation")
    parser.add_argument("--no-export", action="store_true", help="skip the SavedModel export")
    parser.add_argument("--export-dir", help="export folder (default saved_models/<recipe>/<n>)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_from_args(recipe, args):
    """Build the config from parsed ``args`` and :func:`run` the recipe."""
    overrides = list(args.overrides)
    if args.mixed_precision:
        overrides.append("mixed_precision=true")
    if args.jit:
        overrides.append("jit=" + {"on": "true", "off": "false"}.get(args.jit, args.jit))
    config = make_config(recipe, tiny=args.tiny, overrides=overrides, epochs=args.epochs)
    return run(recipe, config, data_dir=args.data_dir, run_dir=args.run_dir,
               overwrite=args.overwrite, export=not args.no_export, export_dir=args.export_dir,
               verbose=2 if args.quiet else "auto")


def main_for(module_name):
    """A ``main(argv=None)`` for the recipe module ``module_name``."""

    def main(argv=None):
        recipe = sys.modules[module_name]
        parser = argparse.ArgumentParser(
            prog=f"python -m {_module_name(recipe)}",
            description=(recipe.__doc__ or "").strip().splitlines()[0] if recipe.__doc__ else None)
        add_train_arguments(parser)
        args = parser.parse_args(argv)
        try:
            return run_from_args(recipe, args)
        except ValueError as err:
            parser.exit(2, f"error: {err}\n")

    return main


def _main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m recipes.base")
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="export a run folder's model")
    exp.add_argument("run_dir")
    exp.add_argument("path")
    exp.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    exported = export_run(args.run_dir, args.path, overwrite=args.overwrite)
    print(json.dumps({"export": str(exported)}))


if __name__ == "__main__":
    _main()

"""Running a sweep: checks first, then keras-tuner, then the summary and the retrain."""

import contextlib
import dataclasses
import os

import keras
import keras_tuner

from zoo import metrics
from zoo.recipe import get_recipe, recipe_name
from zoo.training.lock import RunLock
from zoo.tuning import isolate, report, tuners
from zoo.tuning.hypermodel import HyperModel, model_name
from zoo.tuning.options import DEFAULT_DIRECTORY, DISTRIBUTED_TRIAL_TIMEOUT


def resolve_recipe(recipe):
    """A recipe module from a module or a name.

    A name goes through ``zoo.recipe.get_recipe``: a name registered under the
    ``zoo.recipes`` entry points (the message lists them when it is unknown),
    or a dotted module path (``mypackage.my_recipe``).
    """
    if not isinstance(recipe, str):
        return recipe
    return get_recipe(recipe)


def resolve_objective(recipe, objective=None):
    """``(name, direction)`` from `objective` or the recipe's ``OBJECTIVE``."""
    objective = objective or getattr(recipe, "OBJECTIVE", None) or ("val_loss", "min")
    if isinstance(objective, str):
        name, _, direction = objective.partition(":")
        direction = direction or metrics.direction(name)
        objective = (name, direction)
    name, direction = objective
    if direction not in ("min", "max"):
        raise ValueError(
            f"An objective's direction must be 'min' or 'max'. Received: {direction!r}"
        )
    return name, direction


def check_sweep_arguments(tuner, max_trials, executions_per_trial):
    if tuner not in tuners.TUNERS:
        raise ValueError(
            f"Unknown tuner. Expected one of {list(tuners.TUNERS)}. Received: tuner={tuner!r}"
        )
    for name, value in (("max_trials", max_trials), ("executions_per_trial", executions_per_trial)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1. Received: {name}={value!r}")


def check_objective(hypermodel, objective_name):
    """Raise ValueError unless the default model reports `objective_name`."""
    names = hypermodel.reported_metrics()
    keras.backend.clear_session()
    if objective_name not in names:
        raise ValueError(
            f"The objective {objective_name!r} is not a metric that recipe "
            f"{hypermodel.name!r} reports. Reported metrics: {names}."
        )
    return names


def sweep_callbacks(recipe, config, objective, patience=None):
    """``TerminateOnNaN``, ``EarlyStopping`` on the objective, and the recipe's own.

    `patience` defaults to the configuration's ``patience`` (3 when it has
    none); 0 disables early stopping. A recipe may add callbacks with a
    ``sweep_callbacks(config)`` function.
    """
    name, direction = objective
    if patience is None:
        patience = getattr(config, "patience", None)
        patience = 3 if patience is None else patience
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor=name, mode=direction, patience=patience)
        )
    extra = getattr(recipe, "sweep_callbacks", None)
    if callable(extra):
        callbacks += list(extra(config))
    return callbacks


def tune(
    recipe,
    *,
    tuner="random",
    max_trials=10,
    executions_per_trial=1,
    directory=DEFAULT_DIRECTORY,
    project_name=None,
    config=None,
    epochs=None,
    search_space=None,
    objective=None,
    data_dir=None,
    overwrite=False,
    seed=None,
    patience=None,
    trial_timeout=None,
    heartbeat_interval=5.0,
    hyperband_factor=3,
    retrain_best=False,
    tiny=False,
    export_dir="saved_models",
    export_path=None,
    isolate_trials=False,
    trials_per_process=None,
    verbose=1,
    fit_verbose=0,
):
    """Run a hyperparameter sweep of `recipe` and summarize it.

    Every check runs before the first trial: the tuner name, ``max_trials``
    and ``executions_per_trial``, the search space (names the model does not
    take, malformed specs) and the objective (built and evaluated once on the
    default model). A project folder that exists is resumed (trials that
    finished are kept, the interrupted one runs again) unless `overwrite`.

    In a distributed sweep (``KERASTUNER_ORACLE_IP``/``_PORT``/``_TUNER_ID``
    set, see ``zoo.tuning.cli``) the chief serves the oracle and writes the
    summary; workers run trials and return ``{"role": "worker"}``.

    Args:
        recipe: a recipe module or name.
        tuner: ``"random"``, ``"hyperband"`` or ``"bayesian"``.
        max_trials: most trials to run (a cap for Hyperband).
        executions_per_trial: trainings per trial, their metrics averaged.
        directory, project_name: the sweep lives in ``directory/project_name``
            (default project name: ``<recipe>_<tuner>``, ``<recipe>_<tuner>-tiny``
            with ``tiny``).
        config: the base configuration (default ``recipe.Config()``).
        epochs: epochs per trial (Hyperband: the most epochs of a trial).
        search_space: overrides ``recipe.SEARCH_SPACE``.
        objective: ``(name, "min"|"max")`` or ``"name[:dir]"``; default
            ``recipe.OBJECTIVE``.
        data_dir: passed to ``recipe.load_data``.
        overwrite: start afresh even if the project folder exists.
        seed: the oracle's seed.
        patience: early-stopping patience per trial (see ``sweep_callbacks``).
        trial_timeout: seconds of worker silence before its trial is requeued
            (distributed sweeps; default 120 there, off otherwise).
        heartbeat_interval: seconds between a worker's heartbeats.
        hyperband_factor: Hyperband's reduction factor.
        retrain_best: train the best configuration through ``zoo.training``
            and export it (see ``zoo.tuning.retrain.retrain_best``).
        tiny: ``config`` is a ``--tiny`` one: the sweep has its own default
            project folder, and the retrain exports only to ``export_path``.
        export_dir: root of the exports (``<export_dir>/<recipe>/<version>``).
        export_path: the export folder itself instead (``zoo tune --export-dir``,
            which means what it means for ``zoo train``).
        isolate_trials: run every trial in a fresh subprocess (this process
            serves the oracle on loopback); keeps memory flat on TensorFlow.
        trials_per_process: a worker leaves after this many trials.
        verbose: keras-tuner's progress output; fit_verbose: Keras's.

    Returns:
        The summary dict (also written as ``summary.json`` in the project).
    """
    check_sweep_arguments(tuner, max_trials, executions_per_trial)
    recipe = resolve_recipe(recipe)
    config = recipe.Config() if config is None else config
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer >= 1. Received: epochs={epochs!r}")
        config = dataclasses.replace(config, epochs=epochs)
    objective = resolve_objective(recipe, objective)
    hypermodel = HyperModel(
        recipe, config, search_space, data_dir=data_dir, fit_verbose=fit_verbose
    )
    hypermodel.check_model_arguments()
    check_objective(hypermodel, objective[0])

    name = recipe_name(recipe)
    project_name = project_name or f"{name}_{tuner}" + ("-tiny" if tiny else "")
    # A lone sweep or the chief holds the sweep folder's lock (zoo.training.lock) throughout.
    folder_lock = contextlib.nullcontext() if tuners.is_worker() else RunLock(
        os.path.join(directory, project_name))
    with folder_lock:
        if isolate_trials:
            if tuners.is_distributed():
                raise ValueError("isolate_trials runs its own workers: not with --distributed.")
            if search_space is not None:
                raise ValueError("isolate_trials takes the recipe's own SEARCH_SPACE only.")
            settings = {
                "--tuner": tuner, "--max-trials": max_trials,
                "--executions-per-trial": executions_per_trial, "--directory": directory,
                "--project-name": project_name, "--objective": ":".join(objective),
                "--seed": seed, "--patience": patience, "--data-dir": data_dir,
                "--heartbeat-interval": heartbeat_interval, "--trial-timeout": trial_timeout,
            }  # fmt: skip
            port = isolate.free_port()
            workers = isolate.TrialProcesses(isolate.worker_command(recipe, config, settings, port))
            with isolate.chief_environment(port):
                try:
                    summary = _run(locals(), abort_serving=lambda: workers.error, workers=workers)
                finally:
                    workers.stop()
            summary["trial_processes"] = list(workers.pids)
            return summary
        return _run(locals())


def _run(ctx, abort_serving=None, workers=None):
    """The sweep proper, with the arguments of :func:`tune` in `ctx`."""
    recipe, config, hypermodel, objective = (
        ctx["recipe"], ctx["config"], ctx["hypermodel"], ctx["objective"],
    )  # fmt: skip
    tuner, max_trials, executions_per_trial = (
        ctx["tuner"], ctx["max_trials"], ctx["executions_per_trial"],
    )  # fmt: skip
    name, project_name, verbose = ctx["name"], ctx["project_name"], ctx["verbose"]
    trial_timeout = ctx["trial_timeout"]
    if trial_timeout is None and tuners.is_distributed():
        trial_timeout = DISTRIBUTED_TRIAL_TIMEOUT
    oracle = tuners.make_oracle(
        tuner,
        keras_tuner.Objective(*objective),
        max_trials=max_trials,
        max_epochs=config.epochs,
        seed=ctx["seed"],
        trial_timeout=trial_timeout,
        hyperband_factor=ctx["hyperband_factor"],
    )
    sweep = tuners.make_tuner(
        tuner,
        hypermodel,
        oracle,
        executions_per_trial=executions_per_trial,
        directory=ctx["directory"],
        project_name=project_name,
        overwrite=ctx["overwrite"],
        heartbeat_interval=ctx["heartbeat_interval"],
        trials_per_process=ctx["trials_per_process"],
        abort_serving=abort_serving,
    )
    if workers is not None:
        workers.start()
    callbacks = sweep_callbacks(recipe, config, objective, ctx["patience"])
    sweep.search(epochs=config.epochs, callbacks=callbacks, verbose=verbose)
    if tuners.is_worker():
        return {"role": "worker", "tuner_id": os.environ.get("KERASTUNER_TUNER_ID")}

    meta = {
        "recipe": name,
        "model": model_name(config),
        "tuner": tuner,
        "objective": {"name": objective[0], "direction": objective[1]},
        "max_trials": max_trials,
        "executions_per_trial": executions_per_trial,
        "epochs": config.epochs,
        "search_space": hypermodel.space.specs,
        "project_dir": sweep.project_dir,
    }
    summary = report.write_summary(
        sweep.oracle,
        sweep.project_dir,
        meta=meta,
        executions_per_trial=executions_per_trial,
        printer=print if verbose else None,
    )
    if ctx["retrain_best"]:
        if summary["best"] is None:
            raise RuntimeError("No trial completed: there is no best configuration to retrain.")
        from zoo.tuning.retrain import retrain_best as _retrain

        summary["retrained"] = _retrain(
            hypermodel,
            summary["best"],
            objective=objective,
            run_dir=os.path.join(sweep.project_dir, "best_run"),
            export_dir=ctx["export_dir"],
            export_path=ctx["export_path"],
            tiny=ctx["tiny"],
            verbose=verbose,
        )
        report.write_json(os.path.join(sweep.project_dir, "summary.json"), summary)
    return summary

"""Retraining the best configuration of a sweep through the normal training path."""

import dataclasses
import importlib
import os
import re


def next_version(root):
    """The next integer version folder under `root` (1 when there is none)."""
    versions = [int(n) for n in os.listdir(root) if re.fullmatch(r"\d+", n)] if os.path.isdir(root) else []
    return max(versions, default=0) + 1


def _export(model, path, metadata):
    try:
        export = importlib.import_module("zoo.export")
    except ImportError:
        export = None
    if export is not None and hasattr(export, "export_saved_model"):
        export.export_saved_model(model, path, metadata=metadata)
        return path
    # Without zoo.export: Keras's own SavedModel export (serving endpoint only).
    from zoo.tuning.oracles import write_json_atomic

    model.export(path)
    write_json_atomic(os.path.join(path, "zoo_export.json"), metadata)
    return path


def retrain_best(hypermodel, best, *, objective, run_dir, export_dir="saved_models", verbose=1):
    """Train the best trial's configuration with ``zoo.training.train`` and export it.

    Args:
        hypermodel: the sweep's ``zoo.tuning.HyperModel``.
        best: the best trial's summary row (hyperparameter values among its keys).
        objective: ``(name, direction)``; the run's checkpoint and early
            stopping monitor it.
        run_dir: the run folder root; the run goes to
            ``run_dir/trial_<id>`` (resumed if it exists).
        export_dir: exports go to ``export_dir/<recipe>/<next version>``.

    Returns:
        dict with ``values``, ``run_dir``, ``test_metrics`` and ``export_path``.
    """
    training = importlib.import_module("zoo.training")
    recipe = hypermodel.recipe
    values = hypermodel.space.decode(best)
    config = hypermodel.configure(values)
    data = hypermodel.data_for(config)
    run_dir = os.path.join(run_dir, f"trial_{best['trial_id']}")
    result = training.train(
        lambda: recipe.build_model(config, data),
        data,
        config,
        run_dir,
        monitor=objective[0],
        mode=objective[1],
        verbose=verbose,
    )
    model = result.model
    test_metrics = {}
    if hasattr(recipe, "evaluate") and getattr(data, "test", None) is not None:
        test_metrics = recipe.evaluate(model, data, config) or {}
        training.record_metrics(run_dir, "test", test_metrics)
    name = hypermodel.name
    path = os.path.join(export_dir, name, str(next_version(os.path.join(export_dir, name))))
    metadata = {
        "recipe": name,
        "config": training.config_to_dict(config),
        "tuning": {"trial_id": best["trial_id"], "objective": list(objective), "values": values},
        "test_metrics": {k: float(v) for k, v in test_metrics.items()},
    }
    export_path = _export(model, path, metadata)
    if verbose:
        print(f"retrained trial {best['trial_id']} ({values}); exported to {export_path}")
    return {
        "values": values,
        "config": dataclasses.asdict(config),
        "run_dir": run_dir,
        "test_metrics": metadata["test_metrics"],
        "export_path": export_path,
    }

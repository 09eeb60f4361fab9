"""Retraining the best configuration of a sweep through the recipes' own training path."""

import dataclasses
import os

from zoo import recipe as recipe_contract


def retrain_best(hypermodel, best, *, objective, run_dir, export_dir="saved_models",
                 export_path=None, tiny=False, verbose=1):
    """Train the best trial's configuration exactly as ``zoo train`` would, and export it.

    The run goes through ``zoo.recipe.run`` (``zoo.training.train`` with the
    standard callbacks, evaluation on the test split, its artifacts such as
    vocabularies, and ``zoo.export``), so the export is the same as that of a
    ``zoo train`` run with the best hyperparameters given as ``--set``. As
    there, a rerun reports the export of the same weights instead of writing
    a new version, and a ``tiny`` run exports only to ``export_path``.

    Args:
        hypermodel: the sweep's ``zoo.tuning.HyperModel``.
        best: the best trial's summary row (hyperparameter values among its keys).
        objective: ``(name, direction)`` of the sweep (recorded in the result).
        run_dir: root of the run folders; the run goes to
            ``run_dir/trial_<id>`` and is resumed if it exists.
        export_dir: exports go to ``export_dir/<recipe>/<next version>``...
        export_path: ...unless this export folder is given.
        tiny: ``best`` comes from a ``--tiny`` sweep: no export unless
            ``export_path``.
        verbose: progress output.

    Returns:
        dict with ``values``, ``config``, ``run_dir``, ``test_metrics``,
        ``export_path`` (None when the export failed or none was made) and
        ``objective``.
    """
    values = hypermodel.space.decode(best)
    config = hypermodel.configure(values)
    summary = recipe_contract.run(
        hypermodel.recipe,
        config,
        data_dir=hypermodel.data_dir,
        run_dir=os.path.join(run_dir, f"trial_{best['trial_id']}"),
        export_dir=export_path,
        export_root=export_dir,
        tiny=tiny,
        verbose="auto" if verbose else 0,
    )
    return {
        "values": values,
        "config": dataclasses.asdict(config),
        "objective": list(objective),
        "run_dir": summary["run_dir"],
        "test_metrics": summary.get("test", {}),
        "export_path": summary.get("export"),
        "export_error": summary.get("export_error"),
    }

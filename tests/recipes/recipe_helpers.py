"""Run a recipe end to end on its TINY config and check what it left behind."""

import json
import os

from zoo import recipe as base


def run_tiny(recipe, tmp_path, data_dir, **overrides):
    config = base.make_config(recipe, tiny=True,
                              overrides=[f"{k}={v!r}" for k, v in overrides.items()])
    run_dir = str(tmp_path / "run")
    export_dir = str(tmp_path / "export")
    summary = base.run(recipe, config, data_dir=data_dir, run_dir=run_dir,
                       export_dir=export_dir, verbose=0)
    assert summary["status"] == "complete"
    assert summary["epochs"] == config.epochs
    for name in ("config.json", "metrics.json", "history.csv", "learning_curve.png",
                 "model.keras", "recipe.json"):
        assert os.path.isfile(os.path.join(run_dir, name)), name
    assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
    info = json.load(open(os.path.join(export_dir, "zoo_export.json")))
    assert info["recipe"] == base.recipe_name(recipe)
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["test"] == summary["test"]
    return summary, run_dir, export_dir, info

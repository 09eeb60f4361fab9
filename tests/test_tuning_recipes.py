"""zoo.tuning over the real recipes: defaults, a tiny sweep, the retrain and export."""

import json

import keras
import keras_tuner
import pytest

from zoo import recipe as base
from zoo.tuning import HyperModel
from zoo.tuning.cli import build_parser, main

STANDARD = ("sentiment", "translation", "ner", "char_lm")  # standard TFDS sets: mocked here
TUNABLE = [
    n for n in base.list_recipes() if getattr(base.get_recipe(n), "SEARCH_SPACE", None)
]
# Recipes whose data is embedded (no download): cheap enough for the default suite.
QUICK = ["sequential_digits", "japanese_vowels"]
# Recipes over your own file (--data): tests/recipes/test_text_folder_recipes.py checks them.
OWN_DATA = ("text_classification", "text_to_text")


def _defaults_match(name, data_dir):
    recipe = base.get_recipe(name)
    config = recipe.Config()
    data = recipe.load_data(config, data_dir=data_dir)
    hypermodel = HyperModel(recipe, config, data=data, data_dir=data_dir)
    keras.backend.clear_session()
    tuned = hypermodel.build(keras_tuner.HyperParameters())
    keras.backend.clear_session()
    default = recipe.build_model(config, data)
    assert tuned.get_config() == default.get_config()
    assert tuned.optimizer.get_config() == default.optimizer.get_config()
    # Every name in the space reaches the model or the configuration.
    assert set(hypermodel.space.names) <= set(config.model) | set(vars(config)) | set(
        hypermodel._factory_args
    )


@pytest.mark.parametrize("name", [n for n in QUICK if n in TUNABLE])
def test_empty_hyperparameters_build_the_recipe_default_model(name, tfds_dir):
    _defaults_match(name, tfds_dir)


# Exhaustive tier: each recipe's full data set is loaded (the chorales parsed, cmudict read:
# minutes). The default tier checks the same on the recipes with embedded data
# (test_empty_hyperparameters_build_the_recipe_default_model).
@pytest.mark.exhaustive
@pytest.mark.parametrize("name", [n for n in TUNABLE if n not in QUICK + list(OWN_DATA)])
def test_empty_hyperparameters_build_the_default_model_of_every_recipe(name, tfds_dir):
    if name in STANDARD:
        import tensorflow_datasets as tfds

        from tests.recipes.recipe_helpers import mock_conll2003

        mock = {"as_dataset_fn": mock_conll2003} if name == "ner" else {"num_examples": 16}
        with tfds.testing.mock_data(**mock):
            _defaults_match(name, None)
    else:
        _defaults_match(name, tfds_dir)


@pytest.mark.slow
def test_zoo_tune_on_a_real_recipe(tmp_path, tfds_dir):
    args = build_parser().parse_args([
        "sequential_digits", "--tiny", "--max-trials", "1", "--quiet",
        "--directory", str(tmp_path), "--data-dir", tfds_dir,
    ])  # fmt: skip
    summary = main(args)
    assert summary["completed"] == 1 and summary["objective"]["name"] == "val_accuracy"
    row = summary["trials"][0]
    assert row["cell"] in ("simple", "gru", "lstm") and 16 <= row["units"] <= 128


@pytest.mark.slow  # trains the best again and verifies the export in a fresh process
def test_retrain_best_trains_like_zoo_train_and_exports(tmp_path, tfds_dir):
    export_dir = tmp_path / "saved_models"
    args = build_parser().parse_args([
        "sequential_digits", "--tiny", "--max-trials", "2", "--quiet", "--retrain-best",
        "--directory", str(tmp_path / "sweep"), "--data-dir", tfds_dir,
        "--export-dir", str(export_dir / "sequential_digits" / "1"),  # the folder itself
    ])  # fmt: skip
    summary = main(args)
    best, retrained = summary["best"], summary["retrained"]
    assert retrained["values"] == {k: best[k] for k in ("cell", "units", "learning_rate")}
    assert retrained["config"]["model"]["units"] == best["units"]
    assert retrained["export_error"] is None
    assert retrained["export_path"] == str(export_dir / "sequential_digits" / "1")
    info = json.loads((export_dir / "sequential_digits" / "1" / "zoo_export.json").read_text())
    assert info["config"]["model"]["units"] == best["units"]
    run = json.loads((tmp_path / "sweep" / "sequential_digits_random-tiny" / "best_run" /
                      f"trial_{best['trial_id']}" / "metrics.json").read_text())  # fmt: skip
    assert run["test"] == pytest.approx(retrained["test_metrics"])
    assert base.recipe_name(base.get_recipe("sequential_digits")) == summary["recipe"]

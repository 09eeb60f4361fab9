"""zoo.tuning: search spaces, the HyperModel, sweeps of each tuner type, bad input."""

import csv
import dataclasses
import json
import os
import warnings

import keras
import keras_tuner
import pytest

from tests import tuning_recipe_fixture as fixture
from zoo.tuning import HyperModel, SearchSpace, tune
from zoo.tuning.cli import build_parser, config_from_args, configure_distributed


def _tiny_config(**changes):
    return dataclasses.replace(fixture.Config(), **{**fixture.TINY, **changes})


def _layer_types(model):
    names = []
    for layer in model.layers:
        inner = getattr(layer, "forward_layer", None)
        names.append(type(inner or layer).__name__)
    return names


# -- search spaces -----------------------------------------------------------


def test_space_defaults_come_from_the_config_then_the_spec():
    space = SearchSpace(
        {
            "units": {"type": "int", "min": 4, "max": 64, "step": 4, "default": 8},
            "attention": {
                "type": "choice",
                "values": [None, "bahdanau", "luong"],
                "default": "luong",
            },
            "dropout": {"type": "float", "min": 0.0, "max": 0.5, "default": 0.1},
        },
        defaults={"units": 32, "attention": None},
    )
    assert space.defaults() == {"units": 32, "attention": None, "dropout": 0.1}
    # Empty hyperparameters give the defaults, None round-trips through "none".
    hp = keras_tuner.HyperParameters()
    assert space.register(hp) == {"units": 32, "attention": None, "dropout": 0.1}
    assert hp.values["attention"] == "none"
    hp.values["attention"] = "bahdanau"
    assert space.register(hp)["attention"] == "bahdanau"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "integer", "min": 1, "max": 2, "default": 1}, "Unknown type"),
        ({"type": "int", "min": 8, "max": 4, "default": 4}, "`min` must be <= `max`"),
        ({"type": "int", "min": 1, "max": 8}, "has no default"),
        ({"type": "int", "min": 1, "max": 8, "default": 9}, "outside its range"),
        ({"type": "choice", "values": [], "default": 1}, "non-empty list"),
        ({"type": "choice", "values": ["gru"], "default": "lstm"}, "not one of its values"),
        ({"type": "float", "min": 0.0, "max": 1.0, "sampling": "log", "default": 0.5}, "min > 0"),
        ({"type": "int", "min": 1, "max": 8, "default": 2, "stride": 2}, "Unknown keys"),
        ("int", "must be a dict"),
    ],
)
def test_space_rejects_bad_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace({"units": spec})


GATED = {"cell": {"type": "choice", "values": ["simple", "gru"], "default": "simple"},
         "chrono_init": {"type": "choice", "values": [100, 1000], "default": 100,
                         "when": {"cell": ["gru"]}}}


def test_a_conditional_hyperparameter_is_none_unless_its_parent_allows_it(tmp_path):
    space = SearchSpace(GATED)
    defaults = space.register(keras_tuner.HyperParameters())
    assert defaults == {"cell": "simple", "chrono_init": None}
    # The trials a tuner draws: chrono_init takes its values only with the gated cell.
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=50, seed=1)
    oracle._set_project_dir(str(tmp_path), "random")
    space.register(oracle.hyperparameters)
    seen = set()
    for trial_id in range(30):
        values = oracle.populate_space(str(trial_id))["values"]
        if values is None:
            break
        hp = oracle.get_space()
        hp.values = dict(values)
        chosen = space.register(hp)
        seen.add((chosen["cell"], chosen["chrono_init"]))
    assert seen == {("simple", None), ("gru", 100), ("gru", 1000)}
    # Retraining the best trial reads its values the same way.
    assert space.decode({"cell": "simple", "chrono_init": 1000}) == {"cell": "simple",
                                                                     "chrono_init": None}
    assert space.decode({"cell": "gru", "chrono_init": 1000})["chrono_init"] == 1000


def test_a_conditional_choice_the_configuration_leaves_unset_starts_at_its_first_value():
    """The docs' example: the factories' chrono_init is None, which the choice does not
    hold; the search starts from its first value where it is active."""
    spec = {"cell": GATED["cell"], "chrono_init": {"type": "choice", "values": [100, 1000],
                                                   "when": {"cell": ["gru"]}}}
    space = SearchSpace(spec, defaults={"cell": "gru", "chrono_init": None})
    assert space.defaults() == {"cell": "gru", "chrono_init": 100}
    assert space.register(keras_tuner.HyperParameters()) == {"cell": "gru", "chrono_init": 100}


@pytest.mark.parametrize("when, message", [
    ({"unit": ["gru"]}, "declared before it"),
    ({"cell": ["lstm"]}, "must list values of 'cell'"),
    ({"cell": "gru"}, "must list values"),
    ("cell", "one-entry dict"),
])
def test_space_rejects_bad_conditions(when, message):
    with pytest.raises(ValueError, match=message):
        SearchSpace({"cell": GATED["cell"], "chrono_init": {**GATED["chrono_init"], "when": when}})


# -- HyperModel ----------------------------------------------------------------


def test_build_with_empty_hyperparameters_gives_the_recipe_default_model():
    config = fixture.Config()
    hypermodel = HyperModel(fixture, config)
    keras.backend.clear_session()
    tuned = hypermodel.build(keras_tuner.HyperParameters())
    keras.backend.clear_session()
    default = fixture.build_model(config, fixture.load_data(config))
    assert tuned.get_config() == default.get_config()
    assert tuned.optimizer.get_config() == default.optimizer.get_config()


def test_build_maps_hyperparameters_to_model_arguments_and_learning_rate():
    hypermodel = HyperModel(fixture, fixture.Config())
    hp = keras_tuner.HyperParameters()
    hypermodel.values(hp)
    hp.values.update(units=12, cell="lstm", bidirectional=True, learning_rate=0.02)
    model = hypermodel.build(hp)
    rnn = model.layers[1]
    assert type(rnn).__name__ == "Bidirectional"
    assert type(rnn.forward_layer).__name__ == "LSTM" and rnn.forward_layer.units == 12
    assert float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)) == pytest.approx(0.02)
    # The configuration itself is not changed.
    assert hypermodel.config.model["units"] == 8


def test_fit_reloads_the_data_with_a_tuned_batch_size():
    space = dict(fixture.SEARCH_SPACE, batch_size={"type": "choice", "values": [8, 16]})
    hypermodel = HyperModel(fixture, _tiny_config(), search_space=space)
    hp = keras_tuner.HyperParameters()
    hypermodel.values(hp)
    hp.values["batch_size"] = 8
    model = hypermodel.build(hp)
    seen = []

    class Sizes(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    hypermodel.fit(hp, model, callbacks=[Sizes()])
    assert len(seen) == 32 // 8  # TINY: 32 training examples
    assert (
        next(iter(hypermodel.data_for(hypermodel.configure({"batch_size": 8})).train))[0].shape[0]
        == 8
    )


def test_search_space_naming_an_argument_the_model_does_not_take():
    space = dict(
        fixture.SEARCH_SPACE, kernel_size={"type": "int", "min": 1, "max": 3, "default": 2}
    )
    hypermodel = HyperModel(fixture, _tiny_config(), search_space=space)
    with pytest.raises(ValueError, match="kernel_size.*does not take"):
        hypermodel.check_model_arguments()


def test_registry_signature_rejects_unknown_names_at_construction():
    pytest.importorskip("zoo.models")
    from zoo.models.registry import list_models

    if "many_to_one" not in list_models():
        pytest.skip("the many_to_one factory is not registered")
    config = dataclasses.replace(fixture.Config(), model={"name": "many_to_one", "units": 8})
    with pytest.raises(ValueError, match=r"\['kernel_size'\].*Accepted model arguments"):
        HyperModel(fixture, config, search_space={"kernel_size": {"type": "fixed", "value": 3}})


# -- sweeps ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["random", "hyperband", "bayesian"])
@pytest.mark.slow
def test_tiny_sweep_of_each_tuner(kind, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = tune(
            fixture,
            tuner=kind,
            max_trials=2,
            config=_tiny_config(epochs=2),
            directory=str(tmp_path),
            seed=3,
            verbose=0,
        )
    # The pipelines shuffle, so no trial's fit is asked to (Keras warns that it ignores it).
    assert not [w for w in caught if "shuffle=True" in str(w.message)]
    project = tmp_path / f"tuning_fixture_{kind}"
    assert summary["completed"] == summary["num_trials"] == 2
    rows = summary["trials"]
    assert [r["trial_id"] for r in rows] == ["0", "1"]
    for row in rows:
        assert 0.0 <= row["objective"] <= 1.0
        assert 1 <= row["epochs"] <= 2 and row["seconds"] > 0
        assert set(fixture.SEARCH_SPACE) <= set(row)
    best = max(rows, key=lambda r: r["objective"])
    assert summary["best"]["objective"] == best["objective"]
    # The files agree with the returned summary.
    with open(project / "summary.csv") as f:
        table = list(csv.DictReader(f))
    assert [float(r["objective"]) for r in table] == [r["objective"] for r in rows]
    assert json.loads((project / "summary.json").read_text())["best"] == summary["best"]
    assert (project / "objective.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The oracle's own record matches.
    oracle = json.loads((project / "oracle.json").read_text())
    assert sorted(oracle["end_order"]) == ["0", "1"]
    if kind == "random":
        # Same folder, a higher cap: the finished trials are kept, one more runs.
        more = tune(
            fixture,
            tuner=kind,
            max_trials=3,
            config=_tiny_config(epochs=2),
            directory=str(tmp_path),
            seed=3,
            verbose=0,
        )
        assert more["trials"][:2] == rows and more["num_trials"] == more["completed"] == 3


@pytest.mark.slow  # three sweeps with a retrain, one real SavedModel export
def test_retrain_best_exports_once_and_a_tiny_sweep_keeps_apart(tmp_path, monkeypatch):
    from tests import own_data_fixture as recipe  # a whole recipe, which `zoo train` runs
    from zoo.recipe import make_config

    monkeypatch.chdir(tmp_path)
    kwargs = dict(max_trials=1, config=make_config(recipe, tiny=True), directory="tuning",
                  seed=3, verbose=0, retrain_best=True, export_dir="exports", search_space={
                      "learning_rate": {"type": "float", "min": 1e-3, "max": 1e-2}})
    # --tiny: its own sweep folder, and the retrain exports nothing unless told where.
    tiny = tune(recipe, tiny=True, **kwargs)
    assert tiny["project_dir"] == os.path.join("tuning", "own_data_fixture_random-tiny")
    assert tiny["retrained"]["export_path"] is None and not (tmp_path / "exports").exists()
    # A full sweep: the retrain exports; rerun, it reports the export of the same weights.
    first = tune(recipe, **kwargs)
    assert first["project_dir"] == os.path.join("tuning", "own_data_fixture_random")
    assert first["retrained"]["export_path"] == os.path.join("exports", "own_data_fixture", "1")
    again = tune(recipe, **kwargs)
    assert again["retrained"]["export_path"] == first["retrained"]["export_path"]
    assert os.listdir(tmp_path / "exports" / "own_data_fixture") == ["1"]


# -- bad input, all before any trial runs ----------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tuner": "grid"}, r"Unknown tuner.*'random', 'hyperband', 'bayesian'.*tuner='grid'"),
        ({"max_trials": 0}, r"max_trials must be an integer >= 1. Received: max_trials=0"),
        ({"executions_per_trial": 0}, r"executions_per_trial must be"),
        ({"objective": ("val_f1", "max")}, r"'val_f1'.*Reported metrics: \[.*'val_accuracy'"),
        (
            {"search_space": {"kernel_size": {"type": "int", "min": 1, "max": 3, "default": 2}}},
            r"'kernel_size'.*does not take",
        ),
        ({"epochs": 0}, r"epochs must be an integer >= 1"),
    ],
)
def test_bad_input_raises_before_any_trial(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        tune(fixture, config=_tiny_config(), directory=str(tmp_path), verbose=0, **kwargs)
    assert not any(tmp_path.iterdir())  # no project folder, no trial


# -- command line -----------------------------------------------------------------


def test_cli_parses_every_flag():
    args = build_parser().parse_args(
        "tests.tuning_recipe_fixture --tuner hyperband --max-trials 4 --executions-per-trial 2 "
        "--directory d --project-name p --epochs 3 --retrain-best --distributed worker "
        "--tuner-id 1 --oracle-ip 127.0.0.1 --oracle-port 9 --set model.units=4 "
        "--set learning_rate=0.1 --data-dir data".split()
    )
    assert (args.recipe, args.tuner, args.max_trials, args.executions_per_trial) == (
        "tests.tuning_recipe_fixture",
        "hyperband",
        4,
        2,
    )
    assert (args.directory, args.project_name, args.epochs, args.retrain_best) == (
        "d",
        "p",
        3,
        True,
    )
    assert args.overrides == ["model.units=4", "learning_rate=0.1"] and args.data_dir == "data"
    env = {}
    assert configure_distributed(args, env) == "worker"
    assert env == {
        "KERASTUNER_TUNER_ID": "tuner1",
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": "9",
    }


def test_cli_distributed_arguments_are_checked():
    parser = build_parser()
    with pytest.raises(ValueError, match="needs --tuner-id"):
        configure_distributed(parser.parse_args(["r", "--distributed", "worker"]), {})
    with pytest.raises(ValueError, match="needs --distributed worker"):
        configure_distributed(parser.parse_args(["r", "--tuner-id", "3"]), {})
    env = {}
    configure_distributed(
        parser.parse_args(["r", "--distributed", "chief", "--oracle-port", "7"]), env
    )
    assert env["KERASTUNER_TUNER_ID"] == "chief" and env["KERASTUNER_ORACLE_PORT"] == "7"


def test_tiny_and_set_build_the_configuration_like_zoo_train():
    args = build_parser().parse_args(
        [
            "tests.tuning_recipe_fixture",
            "--tiny",
            "--set",
            "model.units=4",
            "--set",
            "learning_rate=0.5",
        ]
    )
    config = config_from_args(fixture, args)
    assert config.train_size == fixture.TINY["train_size"] and config.epochs == 1
    assert config.model["units"] == 4 and config.learning_rate == 0.5
    args = build_parser().parse_args(["tests.tuning_recipe_fixture", "--set", "epochs=1.5"])
    with pytest.raises(ValueError, match="epochs"):
        config_from_args(fixture, args)


def test_tune_records_the_data_path_absolute_as_zoo_train(tmp_path, monkeypatch):
    from zoo.recipe import get_recipe

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reviews.csv").write_text("text,label\ngood,1\nbad,0\n")
    args = build_parser().parse_args(["text_classification", "--data", "reviews.csv"])
    config = config_from_args(get_recipe("text_classification"), args)
    assert config.data == str(tmp_path / "reviews.csv")
    args = build_parser().parse_args(["text_classification", "--data", "gone.csv"])
    with pytest.raises(ValueError, match="--data: no such file or folder: 'gone.csv'"):
        config_from_args(get_recipe("text_classification"), args)


@pytest.mark.slow
def test_python_m_zoo_tuning_runs_a_sweep(tmp_path, capsys):
    # `python -m zoo.tuning ARGS` is `sys.exit(zoo.tuning.cli.run(ARGS))`; --quiet prints
    # nothing on stdout.
    from zoo.tuning.cli import run

    assert run(["tests.tuning_recipe_fixture", "--tiny", "--max-trials", "1", "--directory",
                str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    # --tiny: the sweep has a folder of its own, apart from a full sweep's.
    summary = json.loads((tmp_path / "tuning_fixture_random-tiny" / "summary.json").read_text())
    assert summary["completed"] == 1 and not (tmp_path / "tuning_fixture_random").exists()

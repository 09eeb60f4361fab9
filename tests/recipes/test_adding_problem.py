import dataclasses
import json
import os
import warnings

import pytest

from recipes import _length_study, adding_problem
from recipes import base as base_recipes
from zoo import recipe as base

from tests.recipes.recipe_helpers import check_raw_predict, run_tiny

PNG = b"\x89PNG\r\n\x1a\n"


def _report(run_dir):
    return json.load(open(os.path.join(run_dir, "metrics.json")))["report"]


def check_study(run_dir, report, cells, lengths, score, figure):
    """One row per (cell, init, length) asked for, chrono rows for gated cells only,
    the figures PNGs, study.md one row per cell and init."""
    expected = [(cell, init, n) for n in lengths for cell in cells
                for init in (("default", "chrono") if cell in _length_study.GATED_CELLS
                             else ("default",))]
    assert [(r["cell"], r["init"], r["length"]) for r in report["study"]] == expected
    for row in report["study"]:
        assert set(row) == {"cell", "init", "length", score, "learned", "seconds"}
        assert isinstance(row["learned"], bool) and row["seconds"] >= 0
    for name in ("gradient_flow.png", figure):
        with open(os.path.join(run_dir, name), "rb") as f:
            assert f.read(8) == PNG, name
        assert os.path.getsize(os.path.join(run_dir, name)) > 1000
    table = open(os.path.join(run_dir, "study.md")).read().splitlines()
    rows = [line for line in table if line.startswith("| ") and not line.startswith("| cell")]
    assert len(rows) == len({(c, i) for c, i, _ in expected})
    assert table[2] == "| cell | init | " + " | ".join(f"T={n}" for n in lengths) + " |"
    assert set(report["gradient_ratio_first_to_last"]) == {
        _length_study.label(c, i) for c, i, _ in expected}


def test_study_cell_names_match_the_factories():
    from zoo.models import blocks

    assert _length_study.CELLS == blocks.CELLS
    assert _length_study.GATED_CELLS == blocks.GATED_CELLS
    assert adding_problem.Config().cells == blocks.CELLS


def test_set_lengths_and_cells_select_the_runs():
    config = base.make_config(adding_problem, overrides=["lengths=100,200", "cells=gru,lstm"])
    assert config.lengths == (100, 200) and config.cells == ("gru", "lstm")
    assert base.make_config(adding_problem, overrides=["cells=simple"]).cells == ("simple",)
    assert base.make_config(adding_problem, overrides=["cells=()"]).cells == ()
    assert _length_study.runs(config) == [("gru", "default"), ("gru", "chrono"),
                                          ("lstm", "default"), ("lstm", "chrono")]
    plain = base.make_config(adding_problem, overrides=["chrono=false", "cells=simple,indrnn"])
    assert _length_study.runs(plain) == [("simple", "default"), ("indrnn", "default")]


def _numpy_task(built):
    """A study task on random numbers (lengths 5 and 8) whose models record their
    arguments (the machinery is under test here, not the cells)."""
    import numpy as np
    import tensorflow as tf

    from zoo.recipe import Data

    def load(config, length, n):
        rng = np.random.default_rng(length)
        x = rng.normal(size=(16, length, 2)).astype("float32")
        y = x[:, :1, 0].copy()
        ds = tf.data.Dataset.from_tensor_slices(({"features": x}, y)).batch(8)
        return Data(train=ds, test=ds, model_kwargs={"input_dim": 2, "output_dim": 1})

    def build(config, data):
        built.append(dict(config.model, learning_rate=config.learning_rate))
        model = base_recipes.create_model(config, data)
        model.compile(optimizer="adam", loss="mse", run_eagerly=True)  # two updates: no graph
        return model

    def probe(data):
        x, y = next(iter(data.test))
        return x["features"], y

    return _length_study.Task(
        name="Numbers", lengths=(5, 8), score="test_mse", score_label="MSE",
        baseline=1.0, perfect=0.0, load=load, build=build,
        score_fn=lambda model, data: model.evaluate(data.test, verbose=0), probe=probe,
        loss="mse", check_cells=False)


@pytest.mark.slow
def test_the_study_runs_each_cell_and_init_at_each_length(tmp_path):
    built = []
    config = base.make_config(adding_problem, tiny=True, overrides=[
        "cells=gru,indrnn", "lengths=5,8", "study_updates=2", "study_units=4",
        "study_learning_rate=0.02"])
    report = _length_study.run(config, _numpy_task(built), str(tmp_path))
    check_study(str(tmp_path), report, ("gru", "indrnn"), (5, 8), "test_mse",
                "mse_by_length.png")
    assert [(b["cell"], b.get("chrono_init"), b.get("cell_options")) for b in built] == [
        (c, t if i == "chrono" else None, {"max_length": t, "activation": "relu"}
         if c == "indrnn" else None)
        for t in (5, 8) for c, i in (("gru", "default"), ("gru", "chrono"),
                                     ("indrnn", "default"))]
    assert {b["units"] for b in built} == {4} and {b["learning_rate"] for b in built} == {0.02}
    text = open(os.path.join(tmp_path, "study.md")).read()
    assert "| gru | chrono | " in text and "after 2 updates" in text


def test_every_study_run_starts_the_shuffled_order_from_the_same_epoch(tmp_path, monkeypatch):
    """Each run sees the same batches in the same order: the pipeline's shuffle order
    follows (seed, epoch), so the epoch is set back to 0 before every run's fit."""
    from zoo.data import pipelines

    events = []
    real_set_epoch = pipelines.set_epoch
    monkeypatch.setattr(pipelines, "set_epoch",
                        lambda epoch: (events.append(("epoch", epoch)), real_set_epoch(epoch)))
    built = []
    task = _numpy_task(built)
    build = task.build

    def recording_build(config, data):
        model = build(config, data)
        fit = model.fit
        model.fit = lambda *a, **k: (events.append(("fit", config.model["cell"])), fit(*a, **k))
        return model

    task = dataclasses.replace(task, build=recording_build)
    config = base.make_config(adding_problem, tiny=True, overrides=[
        "cells=gru,simple", "lengths=5", "study_updates=2", "study_units=4", "chrono=false"])
    _length_study.run(config, task, str(tmp_path))
    assert events == [("epoch", 0), ("fit", "gru"), ("epoch", 0), ("fit", "simple")]


def test_a_run_that_cannot_be_built_is_named_before_the_study_trains(monkeypatch):
    from zoo.models import blocks

    def make_cell(cell, units, chrono_init=None, cell_options=None, **kwargs):
        if chrono_init is not None:
            raise TypeError("Unrecognized keyword arguments: {'chrono_init'}")

    monkeypatch.setattr(blocks, "make_cell", make_cell)
    config = base.make_config(adding_problem, overrides=["cells=simple,lstm"])
    with pytest.raises(ValueError, match=r"The study's run lstm \(chrono\) cannot be built: "
                                         r"Unrecognized keyword arguments"):
        _length_study.check_cells(config, 50)
    _length_study.check_cells(base.apply_overrides(config, ["chrono=false"]), 50)


def test_every_run_of_the_study_is_configured_alike():
    config = adding_problem.Config()
    indrnn = _length_study.model_arguments(config, "indrnn", "default", 400)
    assert indrnn["cell_options"] == {"max_length": 400, "activation": "relu"}
    chrono = _length_study.model_arguments(config, "lstm", "chrono", 200)
    assert chrono["chrono_init"] == 200 and "cell_options" not in chrono
    for args in (indrnn, chrono):
        assert args["units"] == config.study_units and args["name"] == "many_to_one"


@pytest.mark.parametrize("override, message", [
    ("cells=gru,transformer", "--set cells: unknown cell(s) ['transformer']. Allowed: simple, "
                              "gru, lstm, indrnn, mingru, minlstm, lnlstm. Received: "
                              "cells=gru,transformer"),
    ("lengths=50,123", "--set lengths: the adding problem has no data for length(s) [123]. "
                       "Allowed: 50, 100, 200, 400, 1000. Received: lengths=50,123"),
    ("study_updates=0", "--set study_updates: expected an integer >= 1"),
])
def test_a_bad_study_is_refused_before_any_training(tmp_path, tfds_dir, capsys, override,
                                                    message):
    from zoo import cli

    run_dir = tmp_path / "run"
    code = cli.main(["train", "adding_problem", "--tiny", "--set", override, "--run-dir",
                     str(run_dir), "--data-dir", tfds_dir, "--no-export", "--quiet"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()  # refused before the run folder was written


@pytest.mark.slow
def test_adding_problem_tiny_end_to_end(tmp_path, tfds_dir):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary, run_dir, export_dir, info = run_tiny(adding_problem, tmp_path, tfds_dir)
    # The study's own fits do not ask Keras to shuffle a dataset (it would warn).
    assert not [w for w in caught if "shuffle=True" in str(w.message)]
    assert set(summary["test"]) == {"mse", "mae", "baseline_mse"}
    assert info["signatures"]["serve"]["inputs"]["features"]["shape"] == [None, None, 2]
    check_study(run_dir, _report(run_dir), adding_problem.TINY["cells"], (50,), "test_mse",
                "mse_by_length.png")
    # predict: raw (value, marker) steps in, the sum out (no normaliser: raw = model input).
    data = adding_problem.load_data(adding_problem.Config(train_examples=128, length=50,
                                                          batch_size=4), data_dir=tfds_dir)
    inputs, _ = next(iter(data.test))
    out = check_raw_predict(run_dir, export_dir, {"features": inputs["features"].numpy()},
                            inputs)
    assert len(out["value"]) == 4

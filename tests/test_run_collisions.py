"""Runs that don't collide: --tiny apart, nothing written before the checks, no re-export.

`zoo train` runs in the test's own folder (``runs/`` and ``saved_models/``
are relative to it) on ``tests.own_data_fixture``, a seconds-long recipe with
a ``data`` field. One real `zoo train` process checks what a user sees; the
rest call ``zoo.cli.main`` in this process. The export-once story is told
twice: quickly with a stand-in for the SavedModel writer (what the run
decides), and, marked slow, with real exports (what lands on disk).
"""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import subprocess_env
from zoo import cli
from zoo import recipe as base

FIXTURE = "tests.own_data_fixture"
NAME = "own_data_fixture"


def _train(capsys, *args):
    """``zoo train FIXTURE ARGS --quiet`` here: (exit status, last stdout line, stderr)."""
    status = cli.main(["train", FIXTURE, *args, "--quiet"])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return status, lines[-1] if lines else "", captured.err


def _versions(folder):
    root = os.path.join(folder, "saved_models", NAME)
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


@pytest.fixture
def fake_export(monkeypatch):
    """A stand-in for the SavedModel writer under ``zoo.recipe.export_run`` (which still
    records the export): writes ``saved_model.pb`` only, logs each call."""
    calls = []

    def export_run(run_dir, path, **kwargs):
        os.makedirs(path)
        open(os.path.join(path, "saved_model.pb"), "w").close()
        calls.append(str(path))
        return path

    from zoo import _run_export

    monkeypatch.setattr(_run_export, "_export_run", export_run)
    return calls


# Exhaustive tier: the same refusal through a real `zoo` process (a TensorFlow start);
# test_a_rejected_configuration_writes_nothing_and_the_retry_runs checks it in-process.
@pytest.mark.exhaustive
def test_zoo_train_refuses_an_unknown_model_argument_before_writing(tmp_path):
    # The real command, as a user meets it: a model argument that does not exist.
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "train", FIXTURE, "--tiny", "--set", "model.unit=32",
         "--quiet"], capture_output=True, text=True, cwd=str(tmp_path), env=subprocess_env(),
        timeout=300)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    assert (f"The configuration of {NAME} builds no model (check the --set model.* values): "
            "Unknown keyword arguments for model 'many_to_one': ['unit']") in proc.stderr
    assert not (tmp_path / "runs" / f"{NAME}-tiny").exists()


@pytest.mark.slow
def test_a_rejected_configuration_writes_nothing_and_the_retry_runs(
        tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for bad, message in [
            (["--set", "model.unit=32"], "Unknown keyword arguments for model 'many_to_one': "
                                         "['unit']"),
            (["--set", "model.units=-3"], "builds no model (check the --set model.* values): "
                                          "`units` must be an integer >= 1. Received: units=-3"),
            (["--epochs", "0"], "--set epochs: expected an integer >= 1. Received: epochs=0"),
            (["--set", "learning_rate=-1"], "--set learning_rate: expected a finite number > 0"),
            (["--data", "missing.csv"], "--data: no such file or folder: 'missing.csv'"),
            (["--no-export", "--export-dir", "e"], "--no-export and --export-dir contradict")]:
        status, _, err = _train(capsys, "--tiny", *bad)
        assert status == 2 and message in err, (bad, err)
        assert not (tmp_path / "runs" / f"{NAME}-tiny").exists(), bad
    # The corrected command starts cleanly: nothing of the rejected ones is in the way.
    status, last, _ = _train(capsys, "--tiny", "--set", "model.units=2")
    assert status == 0 and last.startswith(f"[{NAME}] complete: ")
    saved = json.loads((tmp_path / "runs" / f"{NAME}-tiny" / "config.json").read_text())
    assert saved["model"] == {"name": "many_to_one", "cell": "gru", "units": 2}


@pytest.mark.slow
def test_tiny_runs_apart_and_a_finished_run_is_not_exported_twice(
        tmp_path, capsys, monkeypatch, fake_export):
    monkeypatch.chdir(tmp_path)
    status, last, _ = _train(capsys, "--tiny")
    assert status == 0
    assert last.endswith(f"| run runs/{NAME}-tiny | no export (--tiny; pass --export to export)")
    assert fake_export == [] and not (tmp_path / "saved_models").exists()

    # The plain run has its own folder (the tiny one is not "another configuration").
    status, last, _ = _train(capsys)
    assert status == 0 and last.startswith(f"[{NAME}] complete: ")
    assert last.endswith(f"| run runs/{NAME} | SavedModel saved_models/{NAME}/1")
    record = json.loads((tmp_path / "runs" / NAME / "exports.json").read_text())
    [entry] = record["exports"]
    assert entry["path"] == f"saved_models/{NAME}/1" and len(entry["weights_sha256"]) == 64

    # Again: the finished run reports its export of the same weights.
    status, last, _ = _train(capsys)
    assert status == 0 and last.startswith(f"[{NAME}] already_complete: ")
    assert last.endswith(f"| export saved_models/{NAME}/1 (unchanged weights)")
    assert fake_export == [f"saved_models/{NAME}/1"]

    # More epochs change the weights: a new version.
    status, last, _ = _train(capsys, "--epochs", "3")
    assert status == 0 and last.endswith(f"| SavedModel saved_models/{NAME}/2")
    # The export is gone: the same weights are exported again.
    os.remove(tmp_path / "saved_models" / NAME / "2" / "saved_model.pb")
    status, last, _ = _train(capsys, "--epochs", "3")
    assert status == 0 and last.endswith(f"| SavedModel saved_models/{NAME}/3")

    # The tiny run exports when asked, and an explicit --export-dir is honoured.
    status, last, _ = _train(capsys, "--tiny", "--export")
    assert status == 0 and last.endswith(f"| SavedModel saved_models/{NAME}/4")
    status, last, _ = _train(capsys, "--tiny", "--export-dir", "elsewhere")
    assert status == 0 and last.endswith("| SavedModel elsewhere")
    status, last, _ = _train(capsys, "--tiny", "--export-dir", "elsewhere")
    assert status == 0 and last.endswith("| export elsewhere (unchanged weights)")
    assert len(fake_export) == 5 and _versions(str(tmp_path)) == ["1", "2", "3", "4"]


@pytest.mark.slow
def test_zoo_export_is_recorded_and_an_existing_export_dir_is_refused_before_training(
        tmp_path, capsys, monkeypatch, fake_export):
    monkeypatch.chdir(tmp_path)
    status, _, _ = _train(capsys, "--tiny")
    assert status == 0 and fake_export == []
    # `zoo export RUN` records its export: `zoo train --export` then reports it.
    assert cli.main(["export", f"runs/{NAME}-tiny"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"SavedModel saved_models/{NAME}/1")
    status, last, _ = _train(capsys, "--tiny", "--export")
    assert status == 0 and last.endswith(f"| export saved_models/{NAME}/1 (unchanged weights)")
    assert fake_export == [f"saved_models/{NAME}/1"]

    # A folder that is there and is no export of the run: refused before any training.
    os.makedirs("taken")
    status, _, err = _train(capsys, "--tiny", "--run-dir", "runs/other", "--export-dir",
                            "taken")
    assert status == 2 and "--export-dir taken: the folder exists already" in err, err
    assert not os.path.exists("runs/other") and os.listdir("taken") == []
    # The run's own recorded export is no such folder: it is reported again.
    status, last, _ = _train(capsys, "--tiny", "--export-dir", f"saved_models/{NAME}/1")
    assert status == 0 and last.endswith("(unchanged weights)")
    assert fake_export == [f"saved_models/{NAME}/1"]


def test_data_sets_the_config_field_and_is_refused_by_a_recipe_without_one(
        tmp_path, capsys, monkeypatch):
    import numpy as np

    monkeypatch.chdir(tmp_path)
    rows = np.random.default_rng(1).normal(size=(20, 9))
    rows[:, -1] = rows[:, 0] > 0
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",")
    status, last, _ = _train(capsys, "--tiny", "--data", "rows.csv", "--no-export")
    assert status == 0 and last.startswith(f"[{NAME}] complete: ")
    run = tmp_path / "runs" / f"{NAME}-tiny"
    assert json.loads((run / "config.json").read_text())["data"] == str(tmp_path / "rows.csv")
    assert json.loads((run / "rows.json").read_text()) == {"train": 20}

    assert cli.main(["train", "sunspots", "--tiny", "--data", "rows.csv"]) == 2
    err = capsys.readouterr().err
    assert "recipe sunspots takes no --data; it reads its own dataset (use --data-dir" in err
    assert not (tmp_path / "runs" / "sunspots-tiny").exists()


def test_default_run_dirs_keep_tiny_runs_apart():
    from recipes import sunspots

    assert base.default_run_dir(sunspots) == os.path.join("runs", "sunspots")
    assert base.default_run_dir(sunspots, tiny=True) == os.path.join("runs", "sunspots-tiny")


@pytest.mark.slow
def test_rerunning_a_finished_run_writes_no_new_export_version(tmp_path, monkeypatch):
    # As `bash scripts/main.sh` twice: the tiny config, exported, through the Python API.
    from tests import own_data_fixture as fixture

    monkeypatch.chdir(tmp_path)
    config = base.make_config(fixture, tiny=True)
    first = base.run(fixture, config, tiny=True, export=True, verbose=0)
    assert first["export"] == f"saved_models/{NAME}/1" and not first["export_unchanged"]
    again = base.run(fixture, config, tiny=True, export=True, verbose=0)
    assert again["status"] == "already_complete"
    assert again["export"] == f"saved_models/{NAME}/1" and again["export_unchanged"]
    assert _versions(str(tmp_path)) == ["1"]
    more = base.run(fixture, base.make_config(fixture, tiny=True, epochs=2), tiny=True,
                    export=True, verbose=0)
    assert more["status"] == "complete" and more["export"] == f"saved_models/{NAME}/2"
    assert _versions(str(tmp_path)) == ["1", "2"]
    info = json.loads((tmp_path / "saved_models" / NAME / "2" / "zoo_export.json").read_text())
    assert info["config"]["epochs"] == 2


def test_check_config_takes_an_empty_model_and_refuses_one_without_a_name():
    import dataclasses

    from zoo._run_checks import check_config
    from zoo.recipe import BaseConfig

    @dataclasses.dataclass
    class Config(BaseConfig):
        pass

    assert check_config(Config()).model == {}  # BaseConfig's default: build_model chooses
    assert check_config(Config(model={"name": "many_to_one"})).model["name"] == "many_to_one"
    for bad in ({"units": 3}, {"name": ""}, "many_to_one"):
        with pytest.raises(ValueError, match=r"registry name under 'name' \(or empty\)\. "
                                             r"Received: model="):
            check_config(Config(model=bad))

"""Corrupt or truncated files of the trainer: recovered from where a good copy
exists, refused with a message naming the file and the way out otherwise.

Faults are injected the way disks and kills make them: a file cut to half
its size, or overwritten with garbage. The first tests exercise the backup
in this process; the slow ones run the ``zoo`` command on copies of a run
killed for real with SIGKILL after a backup (and of one that finished), in
this process through ``zoo.cli.main``, and check its output: the notice or the
error, never a traceback.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests.helpers import zoo_main
from zoo.training import backup, runs
from zoo.training.runs import CorruptRunFile


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONPATH = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))


def truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)


def garble(path):
    with open(path, "wb") as f:
        f.write(b"not an HDF5 file\x00" * 64)


def _model():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.GRU(3, dropout=0.5),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def _two_backups(tmp_path):
    """A backup folder holding the states after epochs 1 and 2, and the weights of each."""
    model = _model()
    x, y = np.ones((8, 4, 2), "float32"), np.ones((8, 1), "float32")
    folder = str(tmp_path / "backup")
    saved = {}
    for epoch in (1, 2):
        model.fit(x, y, epochs=1, verbose=0)
        backup.save(model, folder, epoch)
        saved[epoch] = [w.copy() for w in model.get_weights()]
    return folder, saved


@pytest.mark.jax
def test_backup_keeps_the_current_and_the_previous_state(tmp_path):
    folder, saved = _two_backups(tmp_path)
    assert sorted(os.listdir(folder)) == ["epoch-00001.weights.h5", "epoch-00002.weights.h5",
                                          "state.json"]
    state = json.load(open(os.path.join(folder, "state.json")))
    assert (state["current"]["epoch"], state["previous"]["epoch"]) == (2, 1)
    model = _model()
    assert backup.restore(model, folder)["epoch"] == 2
    for a, b in zip(model.get_weights(), saved[2]):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == 2
    # The dropout generator's state comes back too (save_weights leaves it out).
    seeds = backup.seed_states(model)
    assert seeds and [v.numpy().tolist() for v in seeds] == state["current"]["seeds"]


@pytest.mark.jax
@pytest.mark.parametrize("fault", [truncate, garble])
@pytest.mark.slow
def test_unreadable_latest_weights_fall_back_to_the_previous_state(tmp_path, capsys, fault):
    folder, saved = _two_backups(tmp_path)
    latest = os.path.join(folder, "epoch-00002.weights.h5")
    fault(latest)
    model = _model()
    assert backup.restore(model, folder)["epoch"] == 1
    for a, b in zip(model.get_weights(), saved[1]):
        np.testing.assert_array_equal(a, b)
    err = capsys.readouterr().err
    assert re.fullmatch(
        rf"Notice: {re.escape(latest)} cannot be read \(.+\); resuming from the previous "
        rf"backup, {re.escape(os.path.join(folder, 'epoch-00001.weights.h5'))}: epoch 2 is "
        r"trained again.\n", err), err


@pytest.mark.jax
def test_both_weights_unreadable_is_refused_naming_both(tmp_path):
    folder, _ = _two_backups(tmp_path)
    latest = os.path.join(folder, "epoch-00002.weights.h5")
    previous = os.path.join(folder, "epoch-00001.weights.h5")
    truncate(latest)
    garble(previous)
    with pytest.raises(CorruptRunFile) as info:
        backup.restore(_model(), folder)
    assert info.value.path == latest
    assert "truncated file" in info.value.problem
    assert re.fullmatch(
        rf"{re.escape(latest)} is corrupt \(.*truncated file.*\)\. Its previous copy "
        rf"{re.escape(previous)} cannot be read either \(.*file signature not found.*\), so "
        r"the 2 finished epochs cannot be resumed\. Run again with --overwrite "
        r"\(overwrite=True\) to train from epoch 0\.", str(info.value)), str(info.value)


@pytest.mark.jax
def test_garbage_state_is_refused(tmp_path):
    folder, _ = _two_backups(tmp_path)
    state = os.path.join(folder, "state.json")
    truncate(state)
    with pytest.raises(CorruptRunFile, match=(
            rf"^{re.escape(state)} is corrupt \(not JSON: [^;]+\)\. The run cannot be "
            r"resumed; run it again with --overwrite \(overwrite=True\) to train from "
            r"epoch 0\.$")):
        backup.restore(_model(), folder)
    with open(state, "w") as f:
        json.dump({"epoch": 3}, f)
    with pytest.raises(CorruptRunFile, match=r"is corrupt \(no 'current' state in it\)"):
        backup.restore(_model(), folder)


@pytest.mark.jax
@pytest.mark.parametrize("body, problem", [
    ({"current": {"epoch": 2}}, "no 'current' state in it"),
    ({"current": {"epoch": "2", "weights": "epoch-00002.weights.h5"}},
     "no 'current' state in it"),
    ({"current": {"epoch": 2, "weights": "epoch-00002.weights.h5", "callbacks": [3]}},
     "no 'current' state in it"),
    ({"current": {"epoch": 2, "weights": "epoch-00002.weights.h5"}, "previous": [1]},
     "its 'previous' state is malformed"),
])
def test_a_state_that_parses_but_is_malformed_is_refused_naming_it(tmp_path, body, problem):
    folder, _ = _two_backups(tmp_path)
    state = os.path.join(folder, "state.json")
    with open(state, "w") as f:
        json.dump(body, f)
    with pytest.raises(CorruptRunFile, match=rf"^{re.escape(state)} is corrupt \({problem}\)"):
        backup.restore(_model(), folder)


@pytest.mark.jax
def test_an_epoch_trained_again_after_a_fallback_keeps_the_state_before_it(tmp_path, capsys):
    folder, saved = _two_backups(tmp_path)
    truncate(os.path.join(folder, "epoch-00002.weights.h5"))
    model = _model()
    assert backup.restore(model, folder)["epoch"] == 1
    model.fit(np.ones((8, 4, 2), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
    backup.save(model, folder, 2)  # epoch 2 trained again
    state = json.load(open(os.path.join(folder, "state.json")))
    assert (state["current"]["epoch"], state["previous"]["epoch"]) == (2, 1)
    assert sorted(os.listdir(folder)) == ["epoch-00001.weights.h5", "epoch-00002.weights.h5",
                                          "state.json"]
    garble(os.path.join(folder, "epoch-00002.weights.h5"))  # the fallback is still there
    model = _model()
    assert backup.restore(model, folder)["epoch"] == 1
    for a, b in zip(model.get_weights(), saved[1]):
        np.testing.assert_array_equal(a, b)


# -- the zoo command: one run killed for real, the rest in this process ------------

ARGS = ["adding_problem", "--tiny", "--set", "cells=()", "--set", "epochs=4",
        "--no-export", "--quiet"]

# `zoo train` whose backup dies with SIGKILL right after writing the state of epoch 3.
KILLED_AFTER_EPOCH_3 = textwrap.dedent(
    """
    import os, signal, sys
    from zoo import cli
    from zoo.training import backup

    save = backup.save

    def save_then_die(model, folder, epoch, **kw):
        save(model, folder, epoch, **kw)
        if epoch == 3:
            os.kill(os.getpid(), signal.SIGKILL)

    backup.save = save_then_die
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def _zoo(data, run, *, code=None):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=PYTHONPATH,
               CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    head = ["-c", code] if code else ["-m", "zoo.cli"]
    return subprocess.run(
        [sys.executable, *head, "train", *ARGS, "--run-dir", run, "--data-dir", data],
        capture_output=True, text=True, env=env, cwd=os.path.dirname(run), timeout=300)


def _train(folders, run, capsys):
    """`zoo train` of the same run in this process: (exit status, stdout, stderr)."""
    return zoo_main(["train", *ARGS, "--run-dir", run, "--data-dir", folders["tfds"]], capsys)


def _build_folders(folder):
    # Build the data first: a run that builds it draws from the seeded generators
    # before building its model, and would not start from the same weights.
    import zoo.data

    data = str(folder / "tfds")
    zoo.data.load("adding_problem/length_50", "train[:1]", data_dir=data)
    done = _zoo(data, str(folder / "straight"))
    assert done.returncode == 0, done.stderr[-3000:]
    dead = _zoo(data, str(folder / "killed"), code=KILLED_AFTER_EPOCH_3)
    assert dead.returncode == -signal.SIGKILL, dead.stderr[-3000:]


@pytest.fixture(scope="session")
def folders(built_once):
    """An uninterrupted run, and the same run killed after the backup of epoch 3, each
    in a real process (built once; the tests copy them), and their data folder."""
    folder = built_once("trainer_faults", _build_folders)
    return {name: str(folder / name) for name in ("straight", "killed", "tfds")}


def _copy(folders, name, tmp_path):
    target = str(tmp_path / name)
    shutil.copytree(folders[name], target)
    return target


def _no_traceback(out, err):
    assert "Traceback" not in out + err, err[-3000:]


@pytest.mark.slow
def test_cli_resumes_from_the_previous_backup_when_the_latest_is_cut(folders, tmp_path,
                                                                     capsys):
    run = _copy(folders, "killed", tmp_path)
    latest = os.path.join(run, "backup", "epoch-00003.weights.h5")
    truncate(latest)
    code, out, err = _train(folders, run, capsys)
    assert code == 0, err[-3000:]
    _no_traceback(out, err)
    assert f"Notice: {latest} cannot be read (" in err
    assert "epoch-00002.weights.h5: epoch 3 is trained again." in err
    got, want = runs.read_history(run), runs.read_history(folders["straight"])
    assert len(got["loss"]) == len(want["loss"]) == 4
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)


@pytest.mark.slow
def test_cli_refuses_when_both_backups_are_unreadable(folders, tmp_path, capsys):
    run = _copy(folders, "killed", tmp_path)
    latest = os.path.join(run, "backup", "epoch-00003.weights.h5")
    previous = os.path.join(run, "backup", "epoch-00002.weights.h5")
    truncate(latest)
    garble(previous)
    code, out, err = _train(folders, run, capsys)
    assert code == 2 and err.count("\n") == 1, err[-3000:]
    _no_traceback(out, err)
    assert re.fullmatch(
        rf"zoo train: error: {re.escape(latest)} is corrupt \(.*truncated file.*\)\. Its "
        rf"previous copy {re.escape(previous)} cannot be read either \(.*\), so the 3 "
        r"finished epochs cannot be resumed\. Run again with --overwrite \(overwrite=True\) "
        r"to train from epoch 0\.", err.strip()), err[-3000:]


@pytest.mark.slow
def test_cli_refuses_a_cut_best_checkpoint_before_training(folders, tmp_path, capsys):
    run = _copy(folders, "killed", tmp_path)
    best = os.path.join(run, "checkpoints", "best.weights.h5")
    truncate(best)
    before = runs.read_history(run)
    code, out, err = _train(folders, run, capsys)
    assert code == 2 and err.count("\n") == 1, err[-3000:]
    _no_traceback(out, err)
    assert re.fullmatch(
        rf"zoo train: error: {re.escape(best)} is corrupt \(.*truncated file.*\)\. It holds "
        r"the weights of the best epoch, which only training again can rebuild: run again "
        rf"with --overwrite \(overwrite=True\), or delete {re.escape(best)} to keep the last "
        r"epoch's weights instead\.", err.strip()), err[-3000:]
    assert runs.read_history(run) == before  # refused before any epoch was trained


@pytest.mark.slow
def test_cli_rebuilds_a_cut_model_from_the_best_checkpoint(folders, tmp_path, capsys):
    run = _copy(folders, "straight", tmp_path)
    model_path = os.path.join(run, "model.keras")
    reference = keras.models.load_model(model_path).get_weights()
    truncate(model_path)
    code, out, err = _train(folders, run, capsys)
    assert code == 0, err[-3000:]
    _no_traceback(out, err)
    assert f"Notice: {model_path} cannot be read (" in err
    assert "rebuilt from the best checkpoint" in err
    assert "already_complete" in out.strip().splitlines()[-1]
    for a, b in zip(keras.models.load_model(model_path).get_weights(), reference):
        np.testing.assert_array_equal(a, b)

    garble(model_path)
    best = os.path.join(run, "checkpoints", "best.weights.h5")
    truncate(best)
    code, out, err = _train(folders, run, capsys)
    assert code == 2 and err.count("\n") == 1, err[-3000:]
    _no_traceback(out, err)
    assert re.fullmatch(
        rf"zoo train: error: {re.escape(model_path)} is corrupt \(.+\)\. The best checkpoint "
        rf"{re.escape(best)} cannot be read either \(.*truncated file.*\); run again with "
        r"--overwrite \(overwrite=True\) to train it again\.",
        err.strip()), err[-3000:]

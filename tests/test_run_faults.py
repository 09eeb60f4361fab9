"""Faults injected into a real run folder: corrupt files, torn rows, killed exports.

Each test damages a folder that a real run wrote (truncated JSON, a torn
``history.csv`` row, a truncated ``model.keras``, an export killed with
SIGKILL) and checks that the next command either recovers on its own or
stops with a message that names the file and the way out, exit status 2 and
no traceback.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, subprocess_env, zoo_main
from zoo import recipe as base
from zoo.export import LEFTOVER_MAX_AGE, read_export_info, remove_leftovers
from zoo.training import runs

RECIPE = "tests.run_folder_recipe"


@pytest.fixture
def run_dir(finished_run, tmp_path):
    copy = str(tmp_path / "run")
    shutil.copytree(finished_run, copy)
    return copy


def truncate(path, keep=0.5):
    with open(path, "rb") as f:
        data = f.read()
    with open(path, "wb") as f:
        f.write(data[: int(len(data) * keep)])


def history_lines(run_dir):
    with open(os.path.join(run_dir, "history.csv"), newline="") as f:
        return f.read().splitlines()


# --------------------------------------------------------------------------- JSON files


@pytest.mark.parametrize("name, reader", [
    ("recipe.json", "load_run"),
    ("config.json", "load_run"),
    ("labels.json", "export_run"),
    ("metrics.json", "export_run"),
    ("metrics.json", "evaluate_run"),
])
def test_a_truncated_json_file_of_a_run_names_itself_and_the_way_out(run_dir, tmp_path, name,
                                                                     reader):
    path = os.path.join(run_dir, name)
    truncate(path)
    call = {
        "load_run": lambda: base.load_run(run_dir),
        "export_run": lambda: base.export_run(run_dir, str(tmp_path / "exports" / "1")),
        "evaluate_run": lambda: base.evaluate_run(run_dir),
    }[reader]
    with pytest.raises(runs.CorruptRunFile) as info:
        call()
    assert info.value.path == path
    assert str(info.value) == f"{path} is corrupt ({info.value.problem}). {runs.way_out(path)}"
    assert info.value.problem.startswith("not JSON: ")
    assert not os.path.exists(tmp_path / "exports" / "1")


def test_json_files_that_parse_but_hold_the_wrong_thing_are_named_corrupt(run_dir):
    for name, text, problem in (("recipe.json", "[]", "no recipe name in it"),
                                ("config.json", '"epochs"', "no configuration in it")):
        path = os.path.join(run_dir, name)
        original = open(path).read()
        with open(path, "w") as f:
            f.write(text)
        with pytest.raises(runs.CorruptRunFile) as info:
            base.load_run(run_dir)
        assert str(info.value) == f"{path} is corrupt ({problem}). {runs.way_out(path)}"
        with open(path, "w") as f:
            f.write(original)
    os.remove(os.path.join(run_dir, "config.json"))
    with pytest.raises(ValueError, match=f"The run folder {run_dir} has no config.json. "):
        base.load_run(run_dir)


def test_zoo_train_on_a_run_with_a_corrupt_config_exits_2_naming_it(run_dir, capsys):
    path = os.path.join(run_dir, "config.json")
    truncate(path)
    code, _, err = zoo_main(["train", RECIPE, "--run-dir", run_dir, "--no-export", "--quiet"],
                            capsys)
    assert code == 2 and "Traceback" not in err, err
    assert err.startswith(f"zoo train: error: {path} is corrupt (not JSON: ") and \
        err.count("\n") == 1, err
    assert "start the run again with --overwrite, or train into another --run-dir." in err
    code, _, err = zoo_main(["train", RECIPE, "--run-dir", run_dir, "--no-export", "--quiet",
                             "--overwrite"], capsys)
    assert code == 0, err
    assert runs.read_json(path)["epochs"] == 2


# --------------------------------------------------------------------------- history.csv


def test_a_torn_history_row_is_dropped_and_its_epoch_runs_again(run_dir, capsys):
    # A run trained further (2 -> 4 epochs) and killed while CSVLogger wrote epoch 2's row.
    path = os.path.join(run_dir, "history.csv")
    with open(path, "a", newline="") as f:
        f.write("2,")
    code, _, err = zoo_main(["train", RECIPE, "--run-dir", run_dir, "--no-export", "--quiet",
                             "--epochs", "4"], capsys)
    assert code == 0, err
    assert f"notice: {path}: line 4 ('2,') is dropped (no line end: cut short " \
           "while being written); its epoch runs again." in err
    lines = history_lines(run_dir)
    assert [line.split(",")[0] for line in lines] == ["epoch", "0", "1", "2", "3"]
    assert all(len(line.split(",")) == 5 for line in lines)
    history = runs.read_history(run_dir, repair=False)
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["status"] == "complete" and metrics["epochs_done"] == 4
    assert metrics["history"] == history and len(history["loss"]) == 4


# --------------------------------------------------------------------------- model.keras


def test_a_truncated_model_keras_is_named_corrupt_not_missing(run_dir, tmp_path):
    path = os.path.join(run_dir, "model.keras")
    truncate(path, keep=0.6)
    for call in (lambda: base.load_run_model(run_dir),
                 lambda: base.export_run(run_dir, str(tmp_path / "exports" / "1")),
                 lambda: base.evaluate_run(run_dir)):
        with pytest.raises(runs.CorruptRunFile) as info:
            call()
        assert info.value.path == path
        assert str(info.value).startswith(f"{path} is corrupt (not a readable .keras archive: ")
        assert str(info.value).endswith(
            "Rerun `zoo train` with the same command to rebuild it from the run's checkpoints, "
            "or start again with --overwrite.")
    os.remove(path)
    with pytest.raises(ValueError, match="has no model.keras: the run has not finished"):
        base.load_run_model(run_dir)


def test_zoo_export_and_evaluate_of_a_truncated_model_exit_2_naming_it(run_dir, tmp_path,
                                                                       capsys):
    path = os.path.join(run_dir, "model.keras")
    truncate(path, keep=0.6)
    for args in (["export", run_dir, "--to", str(tmp_path / "exports" / "1")],
                 ["evaluate", run_dir]):
        code, _, err = zoo_main(args, capsys)
        assert code == 2 and "Traceback" not in err, err
        assert err.startswith(f"zoo {args[0]}: error: {path} is corrupt (not a readable "
                              ".keras archive") and err.count("\n") == 1, err
        assert "File not found" not in err
        assert "Rerun `zoo train` with the same command to rebuild it" in err


# --------------------------------------------------------------------------- export leftovers

EXPORT = """
import sys
from zoo import recipe
recipe.export_run(sys.argv[1], sys.argv[2])
"""


def leftovers(folder):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(folder, ".*")))


@pytest.mark.slow
def test_an_export_killed_midway_leaves_debris_that_the_next_export_removes(run_dir, tmp_path):
    exports = str(tmp_path / "exports")
    target = os.path.join(exports, "1")
    proc = subprocess.Popen([sys.executable, "-c", EXPORT, run_dir, target], cwd=ROOT,
                            env=subprocess_env(), start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        # Killed during verification: the SavedModel and the cases file are both written.
        while not (glob.glob(os.path.join(exports, ".1.partial-*"))
                   and glob.glob(os.path.join(exports, ".1.cases-*.npz"))):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the export never reached its verification"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)  # the export and its verifier, as a kill -9 would
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    debris = leftovers(exports)
    assert any(name.startswith(".1.partial-") for name in debris)
    assert any(name.startswith(".1.cases-") for name in debris)
    assert not os.path.exists(target)
    # The next export into that folder: the dead export's debris goes, the new one is valid.
    path = base.export_run(run_dir, target)
    assert leftovers(exports) == []
    info = read_export_info(path)
    assert info["verification"]["cases"] and info["recipe"] == "run_folder_fixture"
    assert os.path.exists(os.path.join(target, "saved_model.pb"))


def test_remove_leftovers_keeps_a_live_export_s_files_and_removes_dead_and_old_ones(tmp_path):
    from zoo.export import leftovers

    host = leftovers._host()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    live = str(os.getpid())
    names = {
        f".1.partial-{host}-{dead}-0123abcd": "removed",  # a killed export's
        f".1.cases-{host}-{dead}-4567abcd.npz": "removed",
        f".2.partial-{host}-{live}-89abcdef": "kept",  # a live concurrent export's
        f".2.cases-{host}-{live}-01234567.npz": "kept",
        f".3.partial-other-host-{dead}-0123abcd": "kept",  # another host's, recent
        ".4.partial-0123abcd": "kept",  # an older zoo's (no owner), recent
        ".5.old-89abcdef": "removed",  # an older zoo's, two days old (5 is there)
        "5": "kept",
        f".6.old-{host}-{dead}-0123abcd": "restored",  # moved aside, never replaced: 6 is back
        ".hidden": "kept",  # not an export's
        "7": "kept",
    }
    for name in names:
        if name.endswith(".npz") or name == ".hidden":
            (tmp_path / name).write_bytes(b"x")
        else:
            (tmp_path / name).mkdir()
            (tmp_path / name / "saved_model.pb").write_bytes(b"x")
    two_days = time.time() - 2 * 24 * 3600
    os.utime(tmp_path / ".5.old-89abcdef", (two_days, two_days))
    removed = remove_leftovers(tmp_path)
    assert sorted(os.path.basename(p) for p in removed) == sorted(
        n for n, fate in names.items() if fate == "removed")
    assert sorted(os.listdir(tmp_path)) == sorted(
        [n for n, f in names.items() if f == "kept"] + ["6"])
    assert (tmp_path / "6" / "saved_model.pb").read_bytes() == b"x"
    later = time.time() + LEFTOVER_MAX_AGE + 60  # a day on, nobody's files are young
    assert sorted(os.path.basename(p) for p in remove_leftovers(tmp_path, now=later)) == sorted(
        [f".2.partial-{host}-{live}-89abcdef", f".2.cases-{host}-{live}-01234567.npz",
         f".3.partial-other-host-{dead}-0123abcd", ".4.partial-0123abcd"])


@pytest.mark.slow  # a TensorFlow subprocess exports and verifies (20-60 s here)
def test_the_export_subprocess_answers_this_process_not_the_user(
        run_dir, tmp_path, monkeypatch, capfd):
    # Off TensorFlow, export runs `python -m zoo.recipe export`; its JSON answer line is read
    # here and not printed on the user's stdout.
    import keras

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    target = str(tmp_path / "export")
    from zoo import _run_export

    exported = _run_export._export_run(run_dir, target, model=None, artifacts=None,
                                       overwrite=False, environ=subprocess_env())
    assert exported == target
    assert read_export_info(target)["recipe"] == runs.read_json(
        os.path.join(run_dir, "recipe.json"))["name"]
    out = capfd.readouterr().out
    assert '{"export"' not in out, out

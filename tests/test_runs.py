"""Tests for zoo.training.runs: the run folder's files."""

import json
import os

import pytest

from zoo.training import runs


def test_read_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    (tmp_path / "history.csv").write_text(
        "epoch,loss,val_loss\n0,3.0,3.5\n1,2.0,2.5\n1,1.5,2.2\n2,1.0,1.1\n")
    assert runs.read_history(str(tmp_path)) == {
        "loss": [3.0, 1.5, 1.0], "val_loss": [3.5, 2.2, 1.1]}


def test_update_metrics_is_the_one_writer_and_merges(tmp_path):
    import json

    import numpy as np

    run = str(tmp_path)
    runs.update_metrics(run, {"status": "running", "epochs_done": 1})
    runs.update_metrics(run, {"accuracy": np.float32(0.5)}, section="test")
    runs.update_metrics(run, {"loss": 1.25}, section="test")
    merged = runs.update_metrics(run, {"status": "complete", "epochs_done": 2})
    on_disk = json.load(open(tmp_path / "metrics.json"))
    assert on_disk == merged == {"status": "complete", "epochs_done": 2,
                                 "test": {"accuracy": 0.5, "loss": 1.25}}


def test_write_json_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import json
    import os

    import pytest

    path = tmp_path / "sub" / "state.json"
    runs.write_json(str(path), {"a": 1})
    assert json.load(open(path)) == {"a": 1}

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        runs.write_json(str(path), {"a": 2})
    assert json.load(open(path)) == {"a": 1}  # the old file is intact
    assert sorted(os.listdir(path.parent)) == ["state.json"]


def test_write_json_strict_refuses_what_json_cannot_hold(tmp_path):
    import numpy as np

    path = tmp_path / "state.json"
    runs.write_json(str(path), {"x": np.float32(1.5)})
    assert json.loads(path.read_text()) == {"x": 1.5}
    with pytest.raises(TypeError, match="not JSON serializable"):
        runs.write_json(str(path), {"x": object()}, strict=True)
    assert json.loads(path.read_text()) == {"x": 1.5}  # the old file is kept


def test_corrupt_run_file_names_the_file_the_problem_and_the_way_out():
    import pickle

    err = runs.CorruptRunFile("/r/metrics.json", "it is empty", "Delete it.")
    assert isinstance(err, ValueError)
    assert str(err) == "/r/metrics.json is corrupt (it is empty). Delete it."
    assert (err.path, err.problem, err.way_out) == ("/r/metrics.json", "it is empty", "Delete it.")
    assert str(pickle.loads(pickle.dumps(err))) == str(err)


@pytest.mark.parametrize("name, way_out", [
    ("config.json", "The configuration cannot be rebuilt from the run folder: start the run "
                    "again with --overwrite, or train into another --run-dir."),
    ("metrics.json", "Delete it and rerun `zoo train` with the same command to rebuild it (an "
                     "unfinished run resumes from its backup; a finished one trains again), or "
                     "start again with --overwrite."),
    ("recipe.json", "Rerun `zoo train` with the same command to write it again (training "
                    "resumes where it stopped), or start again with --overwrite."),
    ("vocabulary.json", "Rerun `zoo train` with the same command to write it again (a finished "
                        "run is not trained again), or start again with --overwrite."),
])
def test_read_json_of_a_truncated_file_names_it_and_the_way_out(tmp_path, name, way_out):
    path = tmp_path / name
    runs.write_json(path, {"epochs": 3, "model": {"name": "many_to_one", "units": 8}})
    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(runs.CorruptRunFile) as info:
        runs.read_json(str(path))
    assert str(info.value).startswith(f"{path} is corrupt (not JSON: ")
    assert str(info.value).endswith(way_out)
    path.write_text("")
    with pytest.raises(runs.CorruptRunFile, match=r"is corrupt \(it is empty\)\. "):
        runs.read_json(str(path), {})
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(runs.CorruptRunFile, match="not JSON"):
        runs.read_json(str(path))


def test_a_corrupt_metrics_or_config_file_stops_the_writers_that_read_it(tmp_path):
    (tmp_path / "metrics.json").write_text('{"status": "runn')
    with pytest.raises(runs.CorruptRunFile, match="metrics.json is corrupt"):
        runs.update_metrics(str(tmp_path), {"status": "complete"})
    assert (tmp_path / "metrics.json").read_text() == '{"status": "runn'  # not replaced
    (tmp_path / "config.json").write_text('{"epochs": 2, "mo')
    with pytest.raises(runs.CorruptRunFile, match="config.json is corrupt.*--overwrite"):
        runs.prepare_run_dir(str(tmp_path), {"epochs": 2})
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(runs.CorruptRunFile, match=r"config.json is corrupt \(a list, not a "):
        runs.prepare_run_dir(str(tmp_path), {"epochs": 2})
    assert runs.prepare_run_dir(str(tmp_path), {"epochs": 2}, overwrite=True) == "new"


HEADER = "epoch,accuracy,loss,val_accuracy,val_loss\r\n"
ROW0 = "0,0.5,0.75,0.4,0.8\r\n"
ROW1 = "1,0.6,0.65,0.5,0.7\r\n"


@pytest.mark.parametrize("text, line, reason", [
    (HEADER + ROW0 + "1,", "line 3 ('1,')", "no line end: cut short while being written"),
    (HEADER + ROW0 + "1,0.6,0.65,0.5,0.7", "line 3 ('1,0.6,0.65,0.5,0.7')",
     "no line end: cut short while being written"),
    (HEADER + ROW0 + "1,0.6\r\n", "line 3 ('1,0.6')", "2 values for 5 columns"),
    (HEADER + ROW0 + "1,0.6,0.65,0.5,\r\n", "line 3 ('1,0.6,0.65,0.5,')",
     "a missing or unreadable value"),
    (HEADER + ROW0 + "1,0.6,0.6x,0.5,0.7\r\n", "line 3 ('1,0.6,0.6x,0.5,0.7')",
     "a missing or unreadable value"),
    (HEADER + ROW0 + HEADER, "line 3 ('epoch,accuracy,loss,val_accuracy,val_loss')",
     "a repeated header"),
])
def test_read_history_drops_a_torn_or_unreadable_row_and_rewrites_the_file(
        tmp_path, capsys, text, line, reason):
    path = tmp_path / "history.csv"
    path.write_bytes(text.encode())
    assert runs.read_history(str(tmp_path), repair=True) == {
        "accuracy": [0.5], "loss": [0.75], "val_accuracy": [0.4], "val_loss": [0.8]}
    assert capsys.readouterr().err == (
        f"notice: {path}: {line} is dropped ({reason}); its epoch runs again.\n")
    assert path.read_bytes() == (HEADER + ROW0).encode()  # CSVLogger appends to a clean file
    with open(path, "a", newline="") as f:
        f.write(ROW1)
    assert runs.read_history(str(tmp_path))["loss"] == [0.75, 0.65]
    assert capsys.readouterr().err == ""


def test_read_history_without_repair_leaves_the_file_alone(tmp_path, capsys):
    path = tmp_path / "history.csv"
    path.write_bytes((HEADER + ROW0 + "1,").encode())
    assert runs.read_history(str(tmp_path), repair=False)["loss"] == [0.75]
    assert path.read_bytes() == (HEADER + ROW0 + "1,").encode()
    assert "line 3 ('1,') is dropped" in capsys.readouterr().err


def test_a_history_with_a_repeated_header_between_runs_keeps_both_runs_rows(tmp_path, capsys):
    # An older zoo let two processes append to one history.csv: a header in the middle.
    path = tmp_path / "history.csv"
    path.write_bytes((HEADER + ROW0 + HEADER + ROW0 + ROW1).encode())
    assert runs.read_history(str(tmp_path), repair=True)["loss"] == [0.75, 0.65]
    assert "a repeated header" in capsys.readouterr().err
    assert path.read_bytes() == (HEADER + ROW0 + ROW0 + ROW1).encode()


@pytest.mark.parametrize("text", ["epo", "epoch,loss,val_lo", "epoch,loss,loss\r\n0,1,1\r\n",
                                  "loss,epoch\r\n"])
def test_a_history_with_a_torn_header_holds_no_epoch_and_is_removed(tmp_path, capsys, text):
    path = tmp_path / "history.csv"
    path.write_text(text)
    assert runs.read_history(str(tmp_path), repair=True) == {}
    assert not path.exists()
    assert "has a torn header" in capsys.readouterr().err


def test_run_dir_state_says_what_prepare_would_do_and_writes_nothing(tmp_path):
    run = str(tmp_path / "run")
    assert runs.run_dir_state(run, {"epochs": 2}) == "new"
    assert not (tmp_path / "run").exists()
    runs.prepare_run_dir(run, {"epochs": 2, "seed": 1})
    assert runs.run_dir_state(run, {"epochs": 3, "seed": 1}) == "resume"
    with pytest.raises(ValueError, match=r"another configuration \(seed: saved 1, now 2\)"):
        runs.run_dir_state(run, {"epochs": 2, "seed": 2})
    assert runs.run_dir_state(run, {"epochs": 2, "seed": 2}, overwrite=True) == "new"
    runs.update_metrics(run, {"status": "complete"})
    assert runs.run_dir_state(run, {"epochs": 2, "seed": 1}) == "resume"  # no model.keras
    (tmp_path / "run" / "model.keras").write_bytes(b"")
    assert runs.run_dir_state(run, {"epochs": 2, "seed": 1}) == "finished"
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {"epochs": 2, "seed": 1}
    (tmp_path / "file").write_text("")
    for check in (runs.run_dir_state, runs.prepare_run_dir):
        with pytest.raises(ValueError, match="file, not a folder. Pass another --run-dir"):
            check(str(tmp_path / "file"), {"epochs": 2})


def test_recorded_export_is_the_latest_of_the_same_weights_that_still_exists(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = str(tmp_path / "run")
    assert runs.recorded_export(run, "aa") is None
    for version, fingerprint in (("1", "aa"), ("2", "bb"), ("3", "aa")):
        (tmp_path / "exports" / version).mkdir(parents=True)
        (tmp_path / "exports" / version / "saved_model.pb").write_bytes(b"")
        runs.record_export(run, os.path.join("exports", version), fingerprint)
    assert runs.recorded_export(run, "aa") == os.path.join("exports", "3")
    assert runs.recorded_export(run, "bb") == os.path.join("exports", "2")
    assert runs.recorded_export(run, "cc") is None
    os.remove(tmp_path / "exports" / "3" / "saved_model.pb")
    assert runs.recorded_export(run, "aa") == os.path.join("exports", "1")
    monkeypatch.chdir(tmp_path / "exports")  # from elsewhere, the absolute path
    assert runs.recorded_export(run, "bb") == str(tmp_path / "exports" / "2")
    entries = json.loads((tmp_path / "run" / "exports.json").read_text())["exports"]
    assert [e["weights_sha256"] for e in entries] == ["aa", "bb", "aa"]


def test_weights_fingerprint_survives_a_save_and_load_and_sees_a_changed_weight(tmp_path):
    import keras
    import numpy as np

    inputs = keras.Input((3, 2))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GRU(2)(inputs)))
    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    assert runs.weights_fingerprint(loaded) == runs.weights_fingerprint(model)
    kernel = model.weights[0]
    kernel.assign(np.asarray(kernel.numpy()) + 1e-6)
    assert runs.weights_fingerprint(loaded) != runs.weights_fingerprint(model)

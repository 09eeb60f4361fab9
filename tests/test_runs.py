"""Tests for zoo.training.runs: the run folder's files."""

import json

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

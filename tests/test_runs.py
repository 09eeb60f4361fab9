"""Tests for zoo.runs: the run folder's files."""

from zoo import runs


def test_read_history_keeps_the_last_row_of_a_repeated_epoch(tmp_path):
    (tmp_path / "history.csv").write_text(
        "epoch,loss,val_loss\n0,3.0,3.5\n1,2.0,2.5\n1,1.5,2.2\n2,1.0,1.1\n")
    assert runs.read_history(str(tmp_path)) == {
        "loss": [3.0, 1.5, 1.0], "val_loss": [3.5, 2.2, 1.1]}

import json
import os

import pytest

from recipes import copy_memory

from tests.recipes.test_adding_problem import check_study


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tfds_dir):
    """One `zoo train copy_memory --tiny` through the real command line, its study's cells
    chosen with --set (in another order than TINY's)."""
    from zoo import cli

    root = tmp_path_factory.mktemp("copy_memory")
    run_dir, export_dir = str(root / "run"), str(root / "export")
    assert cli.main(["train", "copy_memory", "--tiny", "--set", "cells=indrnn,simple",
                     "--set", "lengths=50", "--run-dir", run_dir,
                     "--export-dir", export_dir, "--data-dir", tfds_dir, "--quiet"]) == 0
    return run_dir, export_dir


@pytest.mark.slow
def test_copy_memory_tiny_end_to_end(tiny_run):
    run_dir, export_dir = tiny_run
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    test = metrics["test"]
    assert set(test) == {"recall_accuracy", "token_accuracy", "loss", "baseline_recall_accuracy",
                         "most_common_recall_accuracy", "baseline_loss"}
    assert 0.0 <= test["recall_accuracy"] <= 1.0
    assert test["baseline_recall_accuracy"] == 1 / 8 and test["most_common_recall_accuracy"] == 0
    check_study(run_dir, metrics["report"], ("indrnn", "simple"), (50,), "recall_accuracy",
                "accuracy_by_length.png")
    assert os.path.isfile(os.path.join(export_dir, "saved_model.pb"))


def test_recall_accuracy_counts_the_last_ten_steps_only():
    import numpy as np
    import tensorflow as tf

    targets = np.full((2, 25), 9, np.int32)
    targets[:, -10:] = np.arange(1, 11) % 8 + 1

    class Echo:  # predicts the targets on the recall steps, delimiters elsewhere
        def predict_on_batch(self, inputs):
            logits = np.zeros((2, 25, 11), np.float32)
            logits[..., 10] = 1.0
            logits[:, -10:][np.arange(2)[:, None], np.arange(10), targets[:, -10:]] = 2.0
            logits[0, -1, :] = 0.0
            logits[0, -1, 1] = 5.0  # one wrong recall step (its target is 3)
            return logits

    ds = tf.data.Dataset.from_tensor_slices(({"tokens": targets}, targets)).batch(2)
    assert copy_memory.recall_accuracy(Echo(), ds) == pytest.approx(19 / 20)


@pytest.mark.parametrize("override, message", [
    ("cells=lstm,gru2", "--set cells: unknown cell(s) ['gru2']. Allowed: simple, gru, lstm, "
                        "indrnn, mingru, minlstm, lnlstm. Received: cells=lstm,gru2"),
    ("lengths=1000", "--set lengths: the copy memory has no data for length(s) [1000]. "
                     "Allowed: 50, 100, 200, 400. Received: lengths=1000"),
])
def test_a_bad_study_is_refused_before_any_training(tmp_path, tfds_dir, capsys, override,
                                                    message):
    from zoo import cli

    run_dir = tmp_path / "run"
    assert cli.main(["train", "copy_memory", "--tiny", "--set", override, "--run-dir",
                     str(run_dir), "--data-dir", tfds_dir, "--no-export", "--quiet"]) == 2
    assert message in capsys.readouterr().err
    assert not run_dir.exists()


def test_the_study_sets_chrono_and_the_bound_to_the_whole_sequence():
    """The longest dependency of copy memory at delay T spans its T + 20 steps."""
    from recipes import _length_study

    task = copy_memory._task(None)
    assert task.span(100) == 120
    config = copy_memory.Config()
    assert _length_study.model_arguments(config, "lstm", "chrono", task.span(50))[
        "chrono_init"] == 70

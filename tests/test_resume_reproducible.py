"""A run killed at any moment and resumed ends exactly as an uninterrupted one.

The training script runs in real processes killed with SIGKILL at chosen
moments (in the middle of an epoch, between the epoch's history row and its
backup, between the backup's weights and its state, just after a backup),
each resumed in a fresh process. The resumed run must reach the same stop
epoch (early stopping), the same per-epoch metrics and learning rates
(ReduceLROnPlateau) and the same weights as a run never interrupted: that
needs the optimizer, the dropout generators, the callbacks' states and the
data order to carry across processes.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from zoo.data import pipelines
from zoo.training import backup, runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONPATH = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))

SCRIPT = textwrap.dedent(
    """
    import json, os, signal, sys
    import numpy as np, tensorflow as tf, keras
    import zoo
    from zoo import training
    from zoo.data import pipelines
    from zoo.recipe import Data
    from zoo.training import backup, placement

    run_dir, kill = sys.argv[1], sys.argv[2]
    where, _, at = kill.partition(":")
    at = int(at or -1)
    placement.configure(seed=7)
    rng = np.random.default_rng(0)

    def split(n, training):
        # Random labels: the model overfits and early stopping ends the run early.
        x = rng.normal(size=(n, 6, 3)).astype("float32")
        y = rng.integers(0, 4, size=n).astype("int32")
        ds = tf.data.Dataset.from_tensor_slices(({"features": x}, y))
        return pipelines.batch(ds, batch_size=16, training=training, seed=11)

    data = Data(train=split(96, True), validation=split(48, False))

    def build():
        model = zoo.create_model("many_to_one", cell="gru", units=16, dropout=0.3,
                                 input_dim=3, num_classes=4)
        model.compile(optimizer=training.make_optimizer(learning_rate=2e-2, clipnorm=1.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        return model

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Kill(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
            if where == "begin" and epoch == at:  # just after the backup of epoch at - 1
                die()

        def on_train_batch_end(self, batch, logs=None):
            if where == "batch" and self.epoch == at and batch == 2:  # mid-epoch
                die()

        def on_epoch_end(self, epoch, logs=None):
            if where == "end" and epoch == at:  # history row written, backup not
                die()

    if where == "commit":  # weights of epoch `at` written, state.json not
        write_json = backup.write_json

        def write_then_die(path, obj, **kw):
            if obj["current"]["epoch"] == at + 1:
                die()
            write_json(path, obj, **kw)

        backup.write_json = write_then_die

    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1)
    result = training.train(build, data, run_dir=run_dir, epochs=30, patience=4,
                            config={"epochs": 30}, callbacks=[Kill(), plateau],
                            tensorboard=False, verbose=0)
    optimizer = result.model.optimizer
    print(json.dumps({"initial_epoch": result.initial_epoch,
                      "learning_rate": float(optimizer.learning_rate),
                      "iterations": int(optimizer.iterations),
                      "weights": [w.tolist() for w in result.model.get_weights()]}))
    """
)


def _run(tmp_path, run_dir, kill="none", backend="tensorflow"):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=PYTHONPATH,
               CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, str(script), run_dir, kill],
                          capture_output=True, text=True, env=env, timeout=300)


def _rows(run_dir):
    return runs.read_history(run_dir)


# CI kills the TensorFlow run four ways; the exhaustive tier the JAX run too (the same
# kills, twelve more processes).
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow",
                                     pytest.param("jax", marks=pytest.mark.exhaustive)])
def test_killed_four_ways_and_resumed_equals_an_uninterrupted_run(tmp_path, backend):
    straight_dir = str(tmp_path / "straight")
    straight = _run(tmp_path, straight_dir, backend=backend)
    assert straight.returncode == 0, straight.stderr[-3000:]
    reference = _rows(straight_dir)
    stop = len(reference["loss"])
    want = json.loads(straight.stdout.splitlines()[-1])
    # Early stopping ends the run well before its 30 epochs but after every kill
    # below (the last at the start of epoch 5), and the plateau callback has
    # lowered the learning rate by then.
    assert 6 <= stop < 30, reference
    assert want["learning_rate"] < 2e-2

    run_dir = str(tmp_path / "killed")
    for kill in ("batch:1", "end:2", "commit:3", "begin:5"):
        killed = _run(tmp_path, run_dir, kill, backend=backend)
        assert killed.returncode == -signal.SIGKILL, (kill, killed.stderr[-3000:])
    resumed = _run(tmp_path, run_dir, backend=backend)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = json.loads(resumed.stdout.splitlines()[-1])
    assert got["initial_epoch"] == 5

    history = _rows(run_dir)
    assert sorted(history) == sorted(reference)
    assert len(history["loss"]) == stop
    for key in reference:
        np.testing.assert_allclose(history[key], reference[key], rtol=1e-5, err_msg=key)
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    ref_metrics = json.load(open(os.path.join(straight_dir, "metrics.json")))
    assert metrics["epochs_done"] == ref_metrics["epochs_done"] == stop
    assert metrics["best_val_loss"] == pytest.approx(ref_metrics["best_val_loss"], rel=1e-5)
    # The optimizer (steps, learning rate lowered by the plateau callback) and the weights.
    # (the model returned holds the best epoch's checkpoint, optimizer included).
    assert got["iterations"] == want["iterations"]
    assert got["learning_rate"] == pytest.approx(want["learning_rate"], rel=1e-6)
    for a, b in zip(got["weights"], want["weights"]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-5, atol=1e-6)
    assert not os.path.exists(os.path.join(run_dir, "backup"))


def _order(ds):
    return [int(v) for b in ds for v in np.ravel(b.numpy())]


def test_shuffled_order_is_a_function_of_seed_and_epoch():
    ds = pipelines.shuffle(tf.data.Dataset.range(20).cache(), 20, seed=3).batch(5)
    assert ds.cardinality() == 4
    pipelines.set_epoch(0)
    epochs = [_order(ds) for _ in range(3)]
    assert all(sorted(o) == list(range(20)) for o in epochs)
    assert epochs[0] != epochs[1] != epochs[2]
    # A fresh pipeline told it is at epoch 2 (a resumed run) sees epoch 2's order.
    pipelines.set_epoch(2)
    again = pipelines.shuffle(tf.data.Dataset.range(20).cache(), 20, seed=3).batch(5)
    assert _order(again) == epochs[2]
    pipelines.set_epoch(1)
    assert _order(ds) == epochs[1]
    pipelines.set_epoch(1)
    assert _order(pipelines.shuffle(tf.data.Dataset.range(20), 20, seed=4)) != epochs[1]
    with pytest.raises(ValueError, match=r"epoch must be an integer >= 0. Received: epoch=-1"):
        pipelines.set_epoch(-1)
    with pytest.raises(ValueError, match=r"seed must be an integer. Received: seed='3'"):
        pipelines.shuffle(tf.data.Dataset.range(3), 3, seed="3")


@pytest.mark.slow
def test_order_of_a_resumed_epoch_matches_across_processes():
    code = textwrap.dedent(
        """
        import json, sys, keras, tensorflow as tf
        from zoo.data import pipelines
        keras.utils.set_random_seed(5)
        ds = pipelines.batch(tf.data.Dataset.range(40), batch_size=8, training=True, seed=9)
        start = int(sys.argv[1])
        pipelines.set_epoch(start)
        orders = [[int(v) for b in ds for v in b.numpy()] for _ in range(3 - start)]
        print(json.dumps(orders))
        """
    )
    env = dict(os.environ, PYTHONPATH=PYTHONPATH, CUDA_VISIBLE_DEVICES="")
    outs = [json.loads(subprocess.run([sys.executable, "-c", code, str(start)], check=True,
                                      capture_output=True, text=True, env=env
                                      ).stdout.splitlines()[-1]) for start in (0, 2)]
    assert outs[1] == outs[0][2:]
    assert outs[0][0] != outs[0][1]


@pytest.mark.jax
def test_callback_states_round_trip_through_json():
    import keras

    stop = keras.callbacks.EarlyStopping(patience=3)
    stop.wait, stop.best, stop.best_epoch, stop.stopped_epoch = 2, np.float32(0.5), 4, 0
    plateau = keras.callbacks.ReduceLROnPlateau(patience=2)
    plateau.wait, plateau.cooldown_counter, plateau.best = 1, 0, 0.25
    states = [json.loads(json.dumps(backup.callback_state(c))) for c in (stop, plateau)]
    assert states == [{"wait": 2, "stopped_epoch": 0, "best": 0.5, "best_epoch": 4},
                      {"wait": 1, "cooldown_counter": 0, "best": 0.25}]
    fresh_stop, fresh_plateau = keras.callbacks.EarlyStopping(), keras.callbacks.ReduceLROnPlateau()
    fresh_stop.on_train_begin()
    fresh_plateau.on_train_begin()
    backup.set_callback_state(fresh_stop, states[0])
    backup.set_callback_state(fresh_plateau, states[1])
    assert (fresh_stop.wait, fresh_stop.best, fresh_stop.best_epoch) == (2, 0.5, 4)
    assert (fresh_plateau.wait, fresh_plateau.best) == (1, 0.25)
    assert backup.callback_state(keras.callbacks.TerminateOnNaN()) is None

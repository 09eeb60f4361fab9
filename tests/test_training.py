"""Tests for zoo.training.trainer: train (run folder, resume, strategies) and callbacks."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo import training
from zoo.training import runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONPATH = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None].astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    return types.SimpleNamespace(train=ds, validation=ds, test=ds)


def _build(lr=1e-2):
    model = keras.Sequential(
        [keras.Input((5, 3)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)]
    )
    model.compile(optimizer=training.make_optimizer(learning_rate=lr, clipnorm=1.0), loss="mse")
    return model


def test_train_writes_the_run_folder(tmp_path):
    run = str(tmp_path / "run")
    data = _data()
    result = training.train(
        _build, data, run_dir=run, epochs=3, config={"epochs": 3, "learning_rate": 1e-2},
        artifacts={"vocabulary": ["<pad>", "a"]}, verbose=0,
    )
    assert result.status == "complete"
    assert result.initial_epoch == 0
    for name in ("config.json", "history.csv", "metrics.json", "learning_curve.png",
                 "model.keras", "vocabulary.json"):
        assert os.path.isfile(os.path.join(run, name)), name
    assert os.path.isdir(os.path.join(run, "logs"))
    # The backup is gone once the run has finished.
    assert not os.path.exists(os.path.join(run, "backup"))
    with open(os.path.join(run, "learning_curve.png"), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    metrics = json.load(open(os.path.join(run, "metrics.json")))
    assert metrics["status"] == "complete"
    assert len(metrics["history"]["loss"]) == 3 == metrics["epochs_done"]
    assert metrics["best_val_loss"] == min(metrics["history"]["val_loss"])
    assert json.load(open(os.path.join(run, "config.json")))["epochs"] == 3
    assert json.load(open(os.path.join(run, "vocabulary.json"))) == ["<pad>", "a"]
    # The saved model is the best checkpoint and reloads to the same outputs.
    x = next(iter(data.train))[0]
    reloaded = keras.models.load_model(os.path.join(run, "model.keras"))
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), result.model.predict(x, verbose=0),
                               rtol=1e-5)
    best = min(range(3), key=lambda i: metrics["history"]["val_loss"][i])
    assert reloaded.evaluate(data.validation, verbose=0) == pytest.approx(
        metrics["history"]["val_loss"][best], rel=1e-4)


@pytest.mark.slow
def test_existing_run_is_resumed_never_overwritten(tmp_path):
    run = str(tmp_path / "run")
    cfg = {"epochs": 2, "learning_rate": 1e-2}
    first = training.train(_build, _data(), run_dir=run, epochs=2, config=cfg, verbose=0)
    again = training.train(_build, _data(), run_dir=run, epochs=2, config=cfg, verbose=0)
    assert again.status == "already_complete"
    assert again.history == first.history
    with pytest.raises(ValueError, match=r"learning_rate: saved 0.01, now 0.1.*overwrite"):
        training.train(_build, _data(), run_dir=run, epochs=2,
                       config={"epochs": 2, "learning_rate": 0.1}, verbose=0)
    # More epochs continue the finished run from where it stopped.
    longer = training.train(_build, _data(), run_dir=run, epochs=3,
                            config={"epochs": 3, "learning_rate": 1e-2}, verbose=0)
    assert longer.initial_epoch == 2
    assert longer.history["loss"][:2] == first.history["loss"]
    assert len(longer.history["loss"]) == 3
    fresh = training.train(_build, _data(), run_dir=run, epochs=1,
                           config={"epochs": 1, "learning_rate": 0.1}, overwrite=True, verbose=0)
    assert len(fresh.history["loss"]) == 1


def test_resumable_early_stopping_counts_epochs_before_a_restart():
    model = _build()
    stop = training.ResumableEarlyStopping(
        monitor="loss", mode="min", patience=2, previous=[5.0, 4.0, 4.5])
    stop.set_model(model)
    stop.on_train_begin()
    assert stop.best == 4.0 and stop.wait == 1
    stop.on_epoch_end(3, {"loss": 4.2})
    assert model.stop_training


def test_resolve_mode():
    assert training.resolve_mode("val_loss") == "min"
    assert training.resolve_mode("val_accuracy") == "max"
    assert training.resolve_mode("val_exact_match") == "max"
    assert training.resolve_mode("val_accuracy", "min") == "min"
    with pytest.raises(ValueError, match="Received: mode='best'"):
        training.resolve_mode("loss", "best")


def test_optimizer_clips_and_validates():
    opt = training.make_optimizer(learning_rate=0.5, clipnorm=2.0)
    assert opt.clipnorm == 2.0
    assert float(opt.learning_rate) == pytest.approx(0.5)
    assert training.make_optimizer(learning_rate=0.1).clipnorm is None
    assert training.make_optimizer(learning_rate=0.1, clipnorm=0.0).clipnorm is None
    with pytest.raises(ValueError, match="Received: learning_rate=0.0"):
        training.make_optimizer(learning_rate=0.0)
    with pytest.raises(ValueError, match="Received: jit='yes'"):
        training.jit_compile("yes")
    assert training.jit_compile(False) is False


def test_train_takes_explicit_arguments(tmp_path):
    with pytest.raises(ValueError, match="Received: epochs=0"):
        training.train(_build, _data(), run_dir=str(tmp_path / "r"), epochs=0, config={})
    # Without config the caller has prepared the folder; a missing one is refused.
    with pytest.raises(ValueError, match="prepare_run_dir"):
        training.train(_build, _data(), run_dir=str(tmp_path / "missing"), epochs=1)
    run = str(tmp_path / "prepared")
    assert runs.prepare_run_dir(run, {"epochs": 2, "patience": 1}) == "new"
    result = training.train(_build, _data(), run_dir=run, epochs=2, patience=1, verbose=0)
    assert result.status == "complete" and len(result.history["loss"]) == 2


# -- subprocess tests ------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import json, os, signal, sys, types
    import numpy as np, tensorflow as tf, keras
    from zoo import training
    from zoo.training import placement

    def run(run_dir, kill_at):
        keras.backend.clear_session()
        placement.configure(seed=3)
        return train_once(run_dir, kill_at)

    def train_once(run_dir, kill_at):
        rng = np.random.default_rng(0)
        x = rng.normal(size=(64, 5, 3)).astype("float32")
        y = x.sum(axis=(1, 2))[:, None].astype("float32")
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
        data = types.SimpleNamespace(train=ds, validation=ds)

        def build():
            model = keras.Sequential(
                [keras.Input((5, 3)), keras.layers.SimpleRNN(4), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
            return model

        class Kill(keras.callbacks.Callback):
            # SIGKILL in the middle of epoch `kill_at` (no clean-up can run).
            def on_epoch_begin(self, epoch, logs=None):
                self.epoch = epoch
            def on_train_batch_end(self, batch, logs=None):
                if self.epoch == kill_at and batch == 1:
                    os.kill(os.getpid(), signal.SIGKILL)

        result = training.train(build, data, run_dir=run_dir, epochs=5, config={"epochs": 5},
                                callbacks=[Kill()], verbose=0)
        return {"initial_epoch": result.initial_epoch,
                "weights": [w.tolist() for w in result.model.get_weights()]}

    # Pairs of (run folder, epoch to be killed in, or -1), one after the other.
    for run_dir, kill_at in zip(sys.argv[1::2], sys.argv[2::2]):
        print(json.dumps(run(run_dir, int(kill_at))), flush=True)
    """
)


def _run_child(tmp_path, *runs):
    """One process trains each (run folder, epoch to kill it in or -1) in turn."""
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", PYTHONPATH=PYTHONPATH,
               CUDA_VISIBLE_DEVICES="")
    return subprocess.run([sys.executable, str(script), *[str(a) for r in runs for a in r]],
                          capture_output=True, text=True, env=env, timeout=240)


@pytest.mark.slow
def test_resume_after_sigkill_loses_nothing(tmp_path):
    run = str(tmp_path / "killed")
    killed = _run_child(tmp_path, (run, 2))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    # Two epochs finished and were backed up before the kill.
    assert len(runs.read_history(run)["loss"]) == 2
    assert os.path.exists(os.path.join(run, "backup", "state.json"))
    assert not os.path.exists(os.path.join(run, "model.keras"))

    # Resumed, then a run never interrupted, in a second process.
    both = _run_child(tmp_path, (run, -1), (str(tmp_path / "straight"), -1))
    assert both.returncode == 0, both.stderr[-2000:]
    out, ref = [json.loads(line) for line in both.stdout.strip().splitlines()[-2:]]
    assert out["initial_epoch"] == 2
    # Same epochs, same losses, same final weights (optimizer state included)
    # as a run that was never interrupted.
    h_resumed = runs.read_history(run)
    h_straight = runs.read_history(str(tmp_path / "straight"))
    assert len(h_resumed["loss"]) == 5
    np.testing.assert_allclose(h_resumed["loss"], h_straight["loss"], rtol=1e-4)
    for a, b in zip(out["weights"], ref["weights"]):
        np.testing.assert_allclose(np.array(a), np.array(b), rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    code = f"""
    import json, types
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from zoo import training
    from zoo.training import placement
    assert placement.choose_strategy("auto").num_replicas_in_sync == 1
    strategy = placement.choose_strategy("mirrored")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(16)
    def build():
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
        return m
    r = training.train(build, types.SimpleNamespace(train=ds, validation=ds), epochs=2,
                       config={{"epochs": 2}}, run_dir={str(tmp_path / "run")!r},
                       strategy=strategy, verbose=0)
    print(json.dumps({{"replicas": strategy.num_replicas_in_sync,
                      "kind": type(strategy).__name__,
                      "vars": type(r.model.weights[0].value).__name__,
                      "loss": r.history["loss"]}}))
    """
    from tests.helpers import run_python

    out = json.loads(run_python(code, env={"KERAS_BACKEND": "tensorflow"}).strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["kind"] == "MirroredStrategy"
    assert out["loss"][1] < out["loss"][0]
    metrics = json.load(open(tmp_path / "run" / "metrics.json"))
    assert metrics["replicas"] == 2


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_multi_worker_on_two_local_processes(tmp_path):
    ports = [_free_port(), _free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    code = textwrap.dedent(
        """
        import json, sys, types
        import numpy as np, tensorflow as tf
        from zoo import training
        from zoo.training import placement
        strategy = placement.choose_strategy()
        import keras
        x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
        ds = tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(16)
        def build():
            m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            m.compile(optimizer="sgd", loss="mse")
            return m
        r = training.train(build, types.SimpleNamespace(train=ds, validation=None),
                           run_dir=sys.argv[1], epochs=2, config={"epochs": 2},
                           strategy=strategy, verbose=0, tensorboard=False)
        mw = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        print(json.dumps({"multi_worker": mw, "chief": placement.is_chief(),
                          "run_dir": r.run_dir,
                          "replicas": strategy.num_replicas_in_sync, "loss": r.history["loss"]}))
        """
    )
    script = tmp_path / "worker.py"
    script.write_text(code)
    run = str(tmp_path / "run")
    procs = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), KERAS_BACKEND="tensorflow",
                   PYTHONPATH=PYTHONPATH, CUDA_VISIBLE_DEVICES="")
        procs.append(subprocess.Popen([sys.executable, str(script), run], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0, stderr[-3000:]
        outs.append(json.loads(stdout.strip().splitlines()[-1]))
    chief, worker = outs
    assert chief["multi_worker"] and worker["multi_worker"]
    assert chief["replicas"] == worker["replicas"] == 2
    assert chief["chief"] and not worker["chief"]
    assert chief["run_dir"] == run and worker["run_dir"] is None
    # Both workers took the same synchronous steps.
    np.testing.assert_allclose(chief["loss"], worker["loss"], rtol=1e-5)
    assert json.load(open(os.path.join(run, "metrics.json")))["replicas"] == 2


class _Interrupt(Exception):
    pass


class _InterruptAtEpochEnd(keras.callbacks.Callback):
    """Raises at the end of epoch ``epoch``: after the progress write, before the backup."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise _Interrupt(epoch)


@pytest.mark.slow
def test_a_finished_run_trained_further_and_interrupted_resumes_where_it_was(tmp_path):
    # The finished run's backup was removed; an interruption in the first new
    # epoch (after metrics.json says "running") must not restart it from epoch 0.
    run, data = str(tmp_path / "run"), _data()
    training.train(_build, data, run_dir=run, epochs=2, config={"epochs": 2}, verbose=0)
    first = runs.read_history(run)
    with pytest.raises(_Interrupt):
        training.train(_build, data, run_dir=run, epochs=4, config={"epochs": 4}, verbose=0,
                       callbacks=[_InterruptAtEpochEnd(2)])
    assert json.load(open(os.path.join(run, "metrics.json")))["status"] == "running"
    result = training.train(_build, data, run_dir=run, epochs=4, config={"epochs": 4},
                            verbose=0, callbacks=[_InterruptAtEpochEnd(-1)])
    assert result.initial_epoch == 2
    history = runs.read_history(run)
    assert len(history["loss"]) == 4
    assert history["loss"][:2] == first["loss"]  # the finished epochs were kept, not retrained


@pytest.mark.slow
def test_the_best_checkpoint_is_never_left_half_written(tmp_path, monkeypatch):
    run, data = str(tmp_path / "run"), _data()
    training.train(_build, data, run_dir=run, epochs=1, config={"epochs": 3}, verbose=0)
    best = os.path.join(run, "checkpoints", "best.weights.h5")
    good = open(best, "rb").read()
    save_weights = keras.Model.save_weights

    def cut_short(self, path, *args, **kwargs):  # a kill in the middle of the checkpoint write
        if str(path).endswith("best.weights.h5"):
            with open(path, "wb") as f:
                f.write(good[: len(good) // 2])
            raise _Interrupt(path)
        return save_weights(self, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", cut_short)
    with pytest.raises(_Interrupt):
        training.train(_build, data, run_dir=run, epochs=3, config={"epochs": 3}, verbose=0)
    assert open(best, "rb").read() == good
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    result = training.train(_build, data, run_dir=run, epochs=3, config={"epochs": 3}, verbose=0)
    assert result.status == "complete" and len(result.history["loss"]) == 3
    assert os.listdir(os.path.join(run, "checkpoints")) == ["best.weights.h5"]


def test_a_backup_of_the_earlier_format_is_refused_with_the_way_out(tmp_path):
    run = str(tmp_path / "run")
    runs.prepare_run_dir(run, {"epochs": 2})
    os.makedirs(os.path.join(run, "backup"))
    open(os.path.join(run, "backup", "training_metadata.json"), "w").write('{"epoch": 0}')
    with pytest.raises(ValueError, match=(
            r"The backup in .*backup \(training_metadata.json\) was written by an earlier "
            r"version of the zoo, whose runs cannot be resumed exactly\. Finish it with that "
            r"version, or start it again with --overwrite \(overwrite=True\)\.")):
        training.train(_build, _data(), run_dir=run, epochs=2, verbose=0)

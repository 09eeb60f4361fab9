"""Training: the optimizer, callbacks, and the training loop.

One function trains every recipe: :func:`train`. Around it:

- :func:`make_optimizer` builds the optimizer with gradient clipping.
- :func:`make_callbacks` builds the callbacks: ``CSVLogger``,
  ``BackupAndRestore`` (a run killed, even with SIGKILL, resumes from its last
  finished epoch), ``ModelCheckpoint`` (best weights), ``EarlyStopping``,
  ``TerminateOnNaN`` and ``TensorBoard``.

Where the model trains and in which dtype (strategies, the chief, seeds,
mixed precision) is :mod:`zoo.placement`; everything a run writes goes into
its run folder (layout, resume and overwrite rules: :mod:`zoo.runs`).

This module is TensorFlow-aware (``tf.distribute``, ``tf.data`` options) but
imports TensorFlow only where the TensorFlow backend or a dataset needs it.
"""

import dataclasses
import math
import os
import shutil
import tempfile
import time

import keras

from zoo.metrics import direction
from zoo.placement import choose_strategy, is_chief
from zoo.runs import (
    RUN_FILES,
    config_to_dict,
    plot_learning_curves,
    prepare_run_dir,
    read_history,
    read_json,
    write_json,
)


# --------------------------------------------------------------------------
# Optimizer and compilation
# --------------------------------------------------------------------------


def make_optimizer(config):
    """Adam with the config's learning rate and gradient clipping.

    Reads ``config.learning_rate`` and, when present and positive,
    ``config.clipnorm`` (clip each gradient to that L2 norm).
    """
    lr = float(config.learning_rate)
    if not lr > 0:
        raise ValueError(f"learning_rate must be > 0. Received: learning_rate={lr}")
    clipnorm = getattr(config, "clipnorm", None) or None
    return keras.optimizers.Adam(learning_rate=lr, clipnorm=clipnorm)


def jit_compile(config):
    """The ``jit_compile`` argument for ``model.compile`` from ``config.jit``."""
    value = getattr(config, "jit", "auto")
    if value not in ("auto", True, False):
        raise ValueError(f"jit must be 'auto', True or False. Received: jit={value!r}")
    return value


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------


def resolve_mode(monitor, mode="auto"):
    """``"min"`` or ``"max"`` for ``monitor``: :func:`zoo.metrics.direction`."""
    return direction(monitor, mode)


def _better(a, b, mode):
    return b is None or (a > b if mode == "max" else a < b)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that remembers the epochs of an interrupted run.

    Args:
        previous: list of the monitored values of epochs finished before a
            restart; replayed at the start of training so that ``patience``
            counts across restarts.
        **kwargs: as ``keras.callbacks.EarlyStopping``; ``mode`` must be
            ``"min"`` or ``"max"`` (see :func:`resolve_mode`).
    """

    def __init__(self, *, previous=None, **kwargs):
        super().__init__(**kwargs)
        self.previous = list(previous or [])

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        for value in self.previous:
            if _better(value, self.best, self.mode):
                self.best, self.wait = value, 0
            else:
                self.wait += 1


class _RunClock(keras.callbacks.Callback):
    """Adds this process's training seconds to those of earlier processes."""

    def __init__(self, earlier_seconds=0.0):
        super().__init__()
        self.earlier_seconds = earlier_seconds
        self.start = None
        self.first_epoch = None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch

    @property
    def seconds(self):
        return self.earlier_seconds + (time.perf_counter() - self.start if self.start else 0.0)


class _Progress(keras.callbacks.Callback):
    """Keeps ``metrics.json`` current at every epoch end (status "running")."""

    def __init__(self, run_dir, clock):
        super().__init__()
        self.run_dir = run_dir
        self.clock = clock

    def on_epoch_end(self, epoch, logs=None):
        path = os.path.join(self.run_dir, RUN_FILES["metrics"])
        metrics = read_json(path, {}) or {}
        metrics.update(status="running", train_seconds=self.clock.seconds, epochs_done=epoch + 1)
        write_json(path, metrics)


def make_callbacks(
    run_dir,
    *,
    monitor="val_loss",
    mode="auto",
    patience=None,
    tensorboard=True,
    previous_history=None,
):
    """The standard callbacks of a run, writing into ``run_dir``.

    Args:
        run_dir: the run folder.
        monitor: the metric that picks the best checkpoint and early stopping.
        mode: ``"auto"``, ``"min"`` or ``"max"`` for ``monitor``.
        patience: epochs without improvement before stopping; ``None`` or 0
            disables early stopping.
        tensorboard: write TensorBoard logs under ``run_dir/logs``.
        previous_history: history of epochs finished before a restart (as
            returned by :func:`zoo.runs.read_history`), so that the best
            checkpoint and early stopping carry on where they were.

    Returns:
        A list of callbacks. ``CSVLogger`` comes before ``BackupAndRestore``:
        a kill between the two repeats an epoch (its row is replaced) rather
        than losing one.
    """
    previous = (previous_history or {}).get(monitor, [])
    mode = resolve_mode(monitor, mode)
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    checkpoint = keras.callbacks.ModelCheckpoint(
        os.path.join(run_dir, RUN_FILES["checkpoint"]),
        monitor=monitor,
        mode=mode,
        save_best_only=True,
        save_weights_only=True,
    )
    for value in previous:
        if _better(value, checkpoint.best, mode):
            checkpoint.best = value
    callbacks = [
        keras.callbacks.TerminateOnNaN(),
        keras.callbacks.CSVLogger(os.path.join(run_dir, RUN_FILES["history"]), append=True),
        checkpoint,
    ]
    if patience:
        callbacks.append(
            ResumableEarlyStopping(monitor=monitor, mode=mode, patience=patience, previous=previous)
        )
    if tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, RUN_FILES["logs"])))
    callbacks.append(
        keras.callbacks.BackupAndRestore(
            os.path.join(run_dir, RUN_FILES["backup"]), double_checkpoint=True
        )
    )
    return callbacks


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


@dataclasses.dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        model: the trained model (best weights when a checkpoint was kept).
        history: dict metric -> per-epoch values over the whole run,
            including epochs finished before a restart.
        run_dir: the run folder written (``None`` on non-chief workers,
            whose scratch folder is removed at the end).
        initial_epoch: the epoch this process started from (0 for a fresh
            run, > 0 after a resume).
        train_seconds: training wall time over all processes of the run.
        status: ``"complete"``, ``"stopped_nan"`` or ``"already_complete"``.
    """

    model: object
    history: dict
    run_dir: str
    initial_epoch: int
    train_seconds: float
    status: str


def _is_multi_worker(strategy):
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def _shard_by_data(dataset):
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _adapt_to_multi_worker(model, strategy, dataset):
    """Work around keras-team/keras#20585 (Keras 3 with MultiWorkerMirroredStrategy).

    Two steps of ``fit`` fail under the multi-worker strategy:

    - the symbolic build reduces the first distributed batch with
      ``strategy.reduce``, which cannot take a nested batch: build from a
      local (undistributed) batch instead, which has the same shapes;
    - the step's logs are reduced across workers with ``axis=0``, which a
      scalar does not have: give each logged value a leading axis of 1 (the
      mean over that axis and the workers is the same number).
    """
    import tensorflow as tf

    def build(iterator=None, data_batch=None):
        with strategy.scope():
            model._symbolic_build(data_batch=next(iter(dataset)))

    def with_axis(step):
        def wrapped(data):
            return {k: tf.reshape(v, [1]) for k, v in step(data).items()}

        return wrapped

    model._maybe_symbolic_build = build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)


def _save_model(model, path):
    tmp = path + ".partial.keras"
    model.save(tmp)
    os.replace(tmp, path)


def train(
    model,
    data,
    config,
    run_dir,
    *,
    strategy=None,
    overwrite=False,
    monitor=None,
    mode="auto",
    callbacks=(),
    artifacts=None,
    tensorboard=True,
    verbose="auto",
):
    """Train ``model`` on ``data`` into the run folder ``run_dir``.

    Args:
        model: a compiled ``keras.Model``, or a callable returning one (it is
            then called inside the strategy's scope, as distributed training
            requires).
        data: an object with ``.train`` and ``.validation`` datasets
            (``recipes.base.Data``); ``.validation`` may be ``None``.
        config: a dataclass or dict with ``epochs`` and optionally
            ``patience`` (early stopping).
        run_dir: the run folder; an existing one is resumed.
        strategy: from :func:`zoo.placement.choose_strategy`; chosen
            automatically if None.
        overwrite: wipe an existing run folder first.
        monitor: metric for the best checkpoint and early stopping; defaults
            to ``"val_loss"`` (``"loss"`` without validation data).
        mode: ``"auto"``, ``"min"`` or ``"max"``.
        callbacks: extra callbacks, run after the standard ones.
        artifacts: dict name -> JSON-serialisable object (vocabularies...),
            written as ``run_dir/<name>.json``.
        tensorboard: write TensorBoard logs.
        verbose: passed to ``fit`` (progress bars by default).

    Returns:
        A :class:`TrainResult`.
    """
    cfg = config_to_dict(config)
    epochs = int(cfg.get("epochs", 1))
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1. Received: epochs={epochs}")
    chief = is_chief()
    if chief:
        prepare_run_dir(run_dir, cfg, overwrite=overwrite)
    else:
        run_dir = tempfile.mkdtemp(prefix="zoo-worker-")
    strategy = strategy or choose_strategy()
    multi_worker = _is_multi_worker(strategy)
    previous = read_history(run_dir)
    done = len(next(iter(previous.values()), []))
    metrics = read_json(os.path.join(run_dir, RUN_FILES["metrics"]), {}) or {}
    model_path = os.path.join(run_dir, RUN_FILES["model"])
    finished_before = metrics.get("status") in ("complete", "already_complete")
    if finished_before and os.path.exists(model_path):
        with strategy.scope():
            model = keras.models.load_model(model_path)
    elif callable(model) and not isinstance(model, keras.Model):
        with strategy.scope():
            model = model()
    if monitor is None:
        monitor = "val_loss" if getattr(data, "validation", None) is not None else "loss"

    clock = _RunClock(float(metrics.get("train_seconds", 0.0)))
    status = "already_complete"
    initial_epoch = done
    if not (finished_before and done >= epochs):
        train_ds, val_ds = data.train, getattr(data, "validation", None)
        if multi_worker:
            _adapt_to_multi_worker(model, strategy, train_ds)
            train_ds = _shard_by_data(train_ds)
            val_ds = _shard_by_data(val_ds) if val_ds is not None else None
        cbs = make_callbacks(
            run_dir,
            monitor=monitor,
            mode=mode,
            patience=cfg.get("patience"),
            tensorboard=tensorboard,
            previous_history=previous,
        )
        cbs += [clock, _Progress(run_dir, clock), *callbacks]
        fit_kwargs = {"initial_epoch": done} if finished_before else {}
        model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            callbacks=cbs,
            verbose=verbose,
            **fit_kwargs,
        )
        status = "complete"
        initial_epoch = clock.first_epoch if clock.first_epoch is not None else done
        best = os.path.join(run_dir, RUN_FILES["checkpoint"])
        history = read_history(run_dir)
        if any(math.isnan(v) for v in history.get("loss", [])):
            status = "stopped_nan"
        elif os.path.exists(best):
            model.load_weights(best)
    history = read_history(run_dir)
    _save_model(model, model_path)
    for name, value in (artifacts or {}).items():
        write_json(os.path.join(run_dir, f"{name}.json"), value)
    metrics.update(
        status=status,
        epochs_done=len(history.get("loss", [])),
        train_seconds=(clock.seconds if status != "already_complete"
                       else metrics.get("train_seconds", 0.0)),
        history=history,
        monitor=monitor,
        backend=keras.backend.backend(),
        replicas=getattr(strategy, "num_replicas_in_sync", 1),
        dtype_policy=keras.config.dtype_policy().name,
    )
    if monitor in history and history[monitor]:
        values = history[monitor]
        pick = max if resolve_mode(monitor, mode) == "max" else min
        metrics["best_" + monitor] = pick(values)
    write_json(os.path.join(run_dir, RUN_FILES["metrics"]), metrics)
    if chief and history:
        plot_learning_curves(history, os.path.join(run_dir, RUN_FILES["curve"]))
    if not chief:
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir = None
    return TrainResult(
        model=model,
        history=history,
        run_dir=run_dir,
        initial_epoch=initial_epoch,
        train_seconds=metrics["train_seconds"],
        status=status,
    )

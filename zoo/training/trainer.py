"""Training: the optimizer, callbacks, and the training loop.

One function trains every recipe: :func:`train`. Around it:

- :func:`make_optimizer` builds the optimizer with gradient clipping.
- :func:`make_callbacks` builds the callbacks: ``CSVLogger``,
  ``ModelCheckpoint`` (best weights), ``EarlyStopping``, ``TerminateOnNaN``,
  ``TensorBoard`` and, last, the run's backup (:mod:`zoo.training.backup`):
  a run killed at any moment, even with SIGKILL, resumes from its last
  finished epoch and ends as an uninterrupted run would.

A trainer file that cannot be read (a truncated backup, best checkpoint or
``model.keras``) is recovered from a good copy where one exists, with a
notice, and otherwise refused with a
:class:`~zoo.training.runs.CorruptRunFile` naming the file and the way out.

Where the model trains and in which dtype (strategies, the chief, seeds,
mixed precision) is :mod:`zoo.training.placement`; everything a run writes
goes into its run folder (layout, resume and overwrite rules, the one writer
of ``metrics.json``: :mod:`zoo.training.runs`).

The trainer takes explicit arguments (epochs, patience, monitor...): it reads
no recipe configuration and calls back into no recipe code but the
``build_model`` callable it is given.

This module is TensorFlow-aware (``tf.distribute``, ``tf.data`` options) but
imports TensorFlow only where the TensorFlow backend or a dataset needs it.
"""

import collections.abc
import dataclasses
import math
import os
import shutil
import sys
import tempfile
import time
import zipfile

import keras

from zoo.metrics import direction
from zoo.training import backup
from zoo.training._multi_worker import prepare_multi_worker
from zoo.training.placement import choose_strategy, describe, is_chief, release
from zoo.training.runs import (
    RUN_FILES,
    CorruptRunFile,
    plot_learning_curves,
    prepare_run_dir,
    read_history,
    read_json,
    update_metrics,
    write_json,
)


# --------------------------------------------------------------------------
# Optimizer and compilation
# --------------------------------------------------------------------------


def make_optimizer(*, learning_rate, clipnorm=None):
    """Adam with gradient clipping.

    Args:
        learning_rate: float > 0.
        clipnorm: clip each gradient to this L2 norm; ``None`` or 0 disables.
    """
    lr = float(learning_rate)
    if not lr > 0:
        raise ValueError(f"learning_rate must be > 0. Received: learning_rate={lr}")
    return keras.optimizers.Adam(learning_rate=lr, clipnorm=clipnorm or None)


def jit_compile(jit="auto"):
    """The ``jit_compile`` argument of ``model.compile``: ``"auto"``, True or False, checked."""
    if jit not in ("auto", True, False):
        raise ValueError(f"jit must be 'auto', True or False. Received: jit={jit!r}")
    return jit


# --------------------------------------------------------------------------
# Callbacks
# --------------------------------------------------------------------------


def resolve_mode(monitor, mode="auto"):
    """``"min"`` or ``"max"`` for ``monitor``: :func:`zoo.metrics.direction`."""
    return direction(monitor, mode)


def _better(a, b, mode):
    return b is None or (a > b if mode == "max" else a < b)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that remembers the epochs of a finished run trained further.

    (An interrupted run needs no replay: its early-stopping state comes back
    exactly from the backup, :mod:`zoo.training.backup`.)

    Args:
        previous: list of the monitored values of the epochs finished
            before; replayed at the start of training so that ``patience``
            counts across them.
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


class _DataEpoch(keras.callbacks.Callback):
    """Gives the input pipelines the epoch, so the data order is that of an uninterrupted run.

    Only pipelines shuffled by :func:`zoo.data.pipelines.shuffle` read it; when
    that module was never imported, no dataset of this process does.
    """

    def on_epoch_begin(self, epoch, logs=None):
        pipelines = sys.modules.get("zoo.data.pipelines")
        if pipelines is not None:
            pipelines.set_epoch(epoch)


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
        update_metrics(self.run_dir, {"status": "running", "train_seconds": self.clock.seconds,
                                      "epochs_done": epoch + 1})


class _AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` whose file is never seen half written.

    Keras writes the weights file in place, so a kill during the write
    leaves a truncated best checkpoint. This one lets Keras write a
    temporary file beside it, then flushes it and renames it over the
    checkpoint.
    """

    def __init__(self, filepath, **kwargs):
        self.final_path = filepath
        folder, name = os.path.split(filepath)
        super().__init__(os.path.join(folder, ".partial-" + name), **kwargs)
        if os.path.exists(self.filepath):  # left by a process killed while writing it
            os.remove(self.filepath)

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if os.path.exists(self.filepath):  # written this epoch: a new best
            with open(self.filepath, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(self.filepath, self.final_path)


def make_callbacks(
    run_dir,
    *,
    monitor="val_loss",
    mode="auto",
    patience=None,
    tensorboard=True,
    previous_history=None,
    extra=(),
    restored=None,
    save_at_begin=None,
):
    """The standard callbacks of a run, writing into ``run_dir``.

    They write the resume state into ``run_dir/backup``, which :func:`train`
    reads back (:func:`zoo.training.backup.restore`); a plain
    ``model.fit(callbacks=make_callbacks(d))`` writes it but does not resume.

    Args:
        run_dir: the run folder.
        monitor: the metric that picks the best checkpoint and early stopping.
        mode: ``"auto"``, ``"min"`` or ``"max"`` for ``monitor``.
        patience: epochs without improvement before stopping; ``None`` or 0
            disables early stopping.
        tensorboard: write TensorBoard logs under ``run_dir/logs``.
        previous_history: history of the epochs of a finished run trained
            further (as returned by :func:`zoo.training.runs.read_history`),
            so that the best checkpoint and early stopping carry on where they
            were.
        extra: more callbacks, run after the standard ones and before the backup.
        restored: the resume state of an unfinished run
            (:func:`zoo.training.backup.restore`): the callbacks' states are
            set back to it when training begins.
        save_at_begin: the finished epochs of a finished run trained further,
            saved as its resume state when training begins.

    Returns:
        A list of callbacks. ``CSVLogger`` comes before the backup
        (:class:`zoo.training.backup.RunBackup`), which comes last: a kill
        between the two repeats an epoch (its row is replaced) rather than
        losing one, and the backup saves the state every other callback has
        reached at the end of the epoch.
    """
    previous = (previous_history or {}).get(monitor, [])
    mode = resolve_mode(monitor, mode)
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    checkpoint = _AtomicModelCheckpoint(
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
        _DataEpoch(),
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
    callbacks += list(extra)
    callbacks.append(backup.RunBackup(os.path.join(run_dir, RUN_FILES["backup"]),
                                      callbacks, restored=restored,
                                      save_at_begin=save_at_begin))
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


def _is_builder(build_model):
    return callable(build_model) and not isinstance(build_model, keras.Model)


def _fit(model, data, strategy, *, epochs, initial_epoch, callbacks, verbose):
    train_ds, val_ds = data.train, getattr(data, "validation", None)
    if _is_multi_worker(strategy):
        prepare_multi_worker(model, strategy, train_ds)
        train_ds = _shard_by_data(train_ds)
        val_ds = _shard_by_data(val_ds) if val_ds is not None else None
    # A dataset is shuffled by its pipeline (zoo.data.pipelines.shuffle); only arrays by fit.
    model.fit(train_ds, validation_data=val_ds, epochs=epochs, initial_epoch=initial_epoch,
              callbacks=callbacks, verbose=verbose, shuffle=fit_shuffles(train_ds))


def fit_shuffles(data):
    """Whether ``fit`` should shuffle ``data``: arrays yes; a ``tf.data.Dataset`` or an
    iterator no (Keras ignores ``shuffle`` for them, with a warning)."""
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(data, tf.data.Dataset):
        return False
    return not isinstance(data, collections.abc.Iterator)


def _best_way_out(path):
    return (f"It holds the weights of the best epoch, which only training again can rebuild: "
            f"run again with --overwrite (overwrite=True), or delete {path} to keep the last "
            "epoch's weights instead.")


def _check_best(path):
    """Refuse, before training further, a best checkpoint that cannot be read."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: item[()] if isinstance(item, h5py.Dataset) else None)
    except backup.UNREADABLE as err:
        raise CorruptRunFile(path, backup.describe_error(err), _best_way_out(path)) from None


def _load_best(model, path):
    try:
        backup.load_weights(model, path)
    except backup.UNREADABLE as err:
        raise CorruptRunFile(path, backup.describe_error(err), _best_way_out(path)) from None


def _load_finished_model(path, build_model, best):
    """The model of a finished run: ``model.keras``, else rebuilt from the best checkpoint."""
    try:
        return keras.models.load_model(path)
    except (*backup.UNREADABLE, zipfile.BadZipFile) as err:
        problem = backup.describe_error(err)
    if not (_is_builder(build_model) and os.path.exists(best)):
        raise CorruptRunFile(path, problem, (
            "The run's best weights are not there to rebuild it from; run again with "
            "--overwrite (overwrite=True) to train it again.")) from None
    model = build_model()
    try:
        backup.load_weights(model, best)
    except backup.UNREADABLE as err:
        raise CorruptRunFile(path, problem, (
            f"The best checkpoint {best} cannot be read either "
            f"({backup.describe_error(err)}); run again "
            "with --overwrite (overwrite=True) to train it again.")) from None
    print(f"Notice: {path} cannot be read ({problem}); rebuilt from the best checkpoint "
          f"{best}, and saved again.", file=sys.stderr, flush=True)
    return model


def _save_model(model, path):
    tmp = path + ".partial.keras"
    model.save(tmp)
    os.replace(tmp, path)


def train(
    build_model,
    data,
    *,
    run_dir,
    epochs,
    patience=0,
    monitor=None,
    mode="auto",
    config=None,
    strategy=None,
    overwrite=False,
    callbacks=(),
    artifacts=None,
    tensorboard=True,
    verbose="auto",
):
    """Train the model of ``build_model`` on ``data`` into the run folder ``run_dir``.

    Args:
        build_model: a compiled ``keras.Model``, or a callable returning one
            (it is then called inside the strategy's scope, as distributed
            training requires). The model takes ``(batch, timesteps,
            features)`` inputs, or a dict of them, as the datasets give.
        data: an object with ``.train`` and ``.validation`` datasets
            (``zoo.recipe.Data``); ``.validation`` may be ``None``.
        run_dir: the run folder; an existing one is resumed.
        epochs: int >= 1, the epochs of the whole run (a resumed run trains
            only the missing ones).
        patience: epochs without improvement of ``monitor`` before stopping;
            0 or ``None`` disables early stopping.
        monitor: metric for the best checkpoint and early stopping; defaults
            to ``"val_loss"`` (``"loss"`` without validation data).
        mode: ``"auto"``, ``"min"`` or ``"max"`` (:func:`zoo.metrics.direction`).
        config: a dataclass or dict recorded as ``run_dir/config.json``: when
            given, the folder is prepared here
            (:func:`zoo.training.runs.prepare_run_dir`: created, resumed, or
            refused when it holds another configuration); when ``None`` the
            caller has prepared it (as ``zoo.recipe.run`` does, before it
            loads any data).
        strategy: from :func:`zoo.training.placement.choose_strategy`;
            chosen automatically if None.
        overwrite: wipe an existing run folder first (with ``config``).
        callbacks: extra callbacks, run after the standard ones.
        artifacts: dict name -> JSON-serialisable object (vocabularies,
            statistics), written as ``run_dir/<name>.json``.
        tensorboard: write TensorBoard logs.
        verbose: passed to ``fit`` (progress bars by default).

    Returns:
        A :class:`TrainResult`.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an integer >= 1. Received: epochs={epochs!r}")
    chief = is_chief()
    if not chief:
        run_dir = tempfile.mkdtemp(prefix="zoo-worker-")
    elif config is not None:
        prepare_run_dir(run_dir, config, overwrite=overwrite)
    elif not os.path.isdir(run_dir):
        raise ValueError(
            f"The run folder does not exist; prepare it with zoo.training.runs.prepare_run_dir "
            f"or pass config=. Received: run_dir={run_dir!r}"
        )
    strategy = strategy or choose_strategy()
    previous = read_history(run_dir, repair=True)  # before CSVLogger appends to it
    metrics = read_json(os.path.join(run_dir, RUN_FILES["metrics"]), {}) or {}
    model_path = os.path.join(run_dir, RUN_FILES["model"])
    best = os.path.join(run_dir, RUN_FILES["checkpoint"])
    backup_dir = os.path.join(run_dir, RUN_FILES["backup"])
    finished_before = metrics.get("status") in ("complete", "already_complete")
    restored = None
    with strategy.scope():
        if finished_before and os.path.exists(model_path):
            model = _load_finished_model(model_path, build_model, best)
        else:
            model = build_model() if _is_builder(build_model) else build_model
        if not finished_before:
            backup.refuse_older_format(backup_dir)
            restored = backup.restore(model, backup_dir)
    if finished_before:
        done = len(next(iter(previous.values()), []))
    else:  # the epochs the backup holds; later rows of history.csv are trained again
        done = restored["epoch"] if restored else 0
        if restored and os.path.exists(best):
            _check_best(best)
    stopped = bool(restored and restored.get("stopped"))
    if monitor is None:
        monitor = "val_loss" if getattr(data, "validation", None) is not None else "loss"

    clock = _RunClock(float(metrics.get("train_seconds", 0.0)))
    status = "already_complete"
    initial_epoch = done
    if not (finished_before and done >= epochs):
        if done < epochs and not stopped:
            try:
                _fit(model, data, strategy, epochs=epochs, initial_epoch=done,
                     callbacks=make_callbacks(
                         run_dir, monitor=monitor, mode=mode, patience=patience,
                         tensorboard=tensorboard, restored=restored,
                         previous_history=previous if finished_before else None,
                         save_at_begin=done if finished_before else None,
                         extra=[clock, _Progress(run_dir, clock), *callbacks]),
                     verbose=verbose)
            except BaseException:
                release(strategy)
                raise
        status = "complete"
        initial_epoch = clock.first_epoch if clock.first_epoch is not None else done
        history = read_history(run_dir)
        if any(math.isnan(v) for v in history.get("loss", [])):
            status = "stopped_nan"
        elif os.path.exists(best):
            _load_best(model, best)
    release(strategy)  # on one JAX process: evaluation afterwards sees every example
    history = read_history(run_dir)
    _save_model(model, model_path)
    for name, value in (artifacts or {}).items():
        write_json(os.path.join(run_dir, f"{name}.json"), value)
    train_seconds = (clock.seconds if status != "already_complete"
                     else metrics.get("train_seconds", 0.0))
    final = dict(
        status=status,
        epochs_done=len(history.get("loss", [])),
        train_seconds=train_seconds,
        history=history,
        monitor=monitor,
        backend=keras.backend.backend(),
        **describe(strategy),  # replicas (on JAX: the data-parallel devices) and devices
        dtype_policy=keras.config.dtype_policy().name,
    )
    if monitor in history and history[monitor]:
        values = history[monitor]
        pick = max if resolve_mode(monitor, mode) == "max" else min
        final["best_" + monitor] = pick(values)
    update_metrics(run_dir, final)
    shutil.rmtree(backup_dir, ignore_errors=True)  # the run is finished: nothing to resume
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
        train_seconds=train_seconds,
        status=status,
    )

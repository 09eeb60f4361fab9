"""The resume state of an unfinished run: ``run_dir/backup``.

A run killed at any moment, even with SIGKILL, resumes in a fresh process
and ends exactly as a run that was never interrupted: same epochs, same
losses, same stop epoch. That needs, at the end of every epoch, everything
the next epoch depends on:

- the weights and the optimizer's state (iterations, moments, learning
  rate): ``epoch-<n>.weights.h5``, ``model.save_weights``;
- the state of the model's random generators (dropout masks): the
  ``keras.random.SeedGenerator`` states, which ``save_weights`` leaves out;
- the state of the stateful callbacks (``EarlyStopping``,
  ``ReduceLROnPlateau``, ``ModelCheckpoint``'s best value, or any callback
  with ``get_state()`` / ``set_state(state)``);
- whether a callback asked training to stop.

The data order is not saved: the training pipelines draw it from the seed
and the epoch (:func:`zoo.data.pipelines.shuffle`).

Layout and write order, so that a kill between any two writes leaves a
consistent state::

    backup/
      epoch-<n>.weights.h5      weights after n epochs: written to a temporary
                                name, flushed, then renamed
      state.json                {"current": ..., "previous": ...}: written
                                atomically after the weights; the commit point
      epoch-<n-1>.weights.h5    the previous state's weights, kept as a fallback

Older weights files are removed only after ``state.json`` names the new one.
When the current weights cannot be read (a truncated or overwritten file),
the previous state is used, with a notice, and its epoch is trained again;
when neither can be read, :class:`CorruptRunFile` names the files and the
way out.
"""

import glob
import os
import sys

import keras
import numpy as np

from zoo.training.runs import CorruptRunFile
from zoo.training.runs import read_json, write_json

STATE = "state.json"

# The attributes that carry a Keras callback's state from one epoch to the next.
_CALLBACK_STATE = (
    (keras.callbacks.EarlyStopping, ("wait", "stopped_epoch", "best", "best_epoch")),
    (keras.callbacks.ReduceLROnPlateau, ("wait", "cooldown_counter", "best")),
    (keras.callbacks.ModelCheckpoint, ("best",)),
)


def _state_attributes(callback):
    for cls, names in _CALLBACK_STATE:
        if isinstance(callback, cls):
            return names
    return None


def callback_state(callback):
    """The JSON state of ``callback``, or ``None`` when it keeps none worth saving."""
    if hasattr(callback, "get_state") and hasattr(callback, "set_state"):
        return callback.get_state()
    names = _state_attributes(callback)
    if names is None:
        return None
    return {name: _plain(getattr(callback, name, None)) for name in names}


def set_callback_state(callback, state):
    if hasattr(callback, "get_state") and hasattr(callback, "set_state"):
        callback.set_state(state)
        return
    for name, value in state.items():
        setattr(callback, name, value)


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return np.asarray(value).item()


def seed_states(model):
    """The state variables of the model's ``keras.random.SeedGenerator``\\ s, in model order."""
    weights = {id(v) for v in model.weights}
    return [v for v in model.variables
            if id(v) not in weights and v.path.endswith("seed_generator_state")]


class RunBackup(keras.callbacks.Callback):
    """Saves the resume state at every epoch end; restores callback states at train begin.

    It must come last among the callbacks, so that it saves the state every
    other callback has reached at the end of the epoch, and restores their
    states after their own ``on_train_begin`` has reset them.

    Args:
        backup_dir: the folder (``run_dir/backup``).
        callbacks: the run's other callbacks; those with a state are saved.
        restored: the state :func:`restore` returned, or ``None``.
        save_at_begin: the finished epochs of a finished run trained
            further: their state is saved when training begins (the run's
            backup was removed when it finished). ``None`` otherwise.
    """

    def __init__(self, backup_dir, callbacks=(), restored=None, save_at_begin=None):
        super().__init__()
        self.backup_dir = backup_dir
        self.callbacks = [c for c in callbacks if callback_state(c) is not None]
        self.restored = restored
        self.save_at_begin = save_at_begin

    def on_train_begin(self, logs=None):
        if self.save_at_begin is not None:
            # A finished run trained further: its state before the first new
            # epoch, so that a kill in that epoch resumes here.
            save(self.model, self.backup_dir, self.save_at_begin, callbacks=self.callbacks)
        if not self.restored:
            return
        saved = self.restored.get("callbacks", [])
        names = [type(c).__name__ for c in self.callbacks]
        if [s["class"] for s in saved] != names:
            raise ValueError(
                f"The backup in {self.backup_dir} holds the state of the callbacks "
                f"{[s['class'] for s in saved]}, but this run has {names}. Resume with the "
                "callbacks the run started with, or start again with overwrite=True "
                "(--overwrite).")
        for callback, state in zip(self.callbacks, saved):
            set_callback_state(callback, state["state"])

    def on_epoch_end(self, epoch, logs=None):
        save(self.model, self.backup_dir, epoch + 1, callbacks=self.callbacks)


def _weights_name(epoch):
    return f"epoch-{epoch:05d}.weights.h5"


def save(model, backup_dir, epoch, *, callbacks=()):
    """Write the state after ``epoch`` finished epochs (see the module docstring)."""
    os.makedirs(backup_dir, exist_ok=True)
    name = _weights_name(epoch)
    tmp = os.path.join(backup_dir, ".partial-" + name)
    model.save_weights(tmp, overwrite=True)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(backup_dir, name))
    path = os.path.join(backup_dir, STATE)
    old = _read_state(path) if os.path.exists(path) else {}
    current = {
        "epoch": epoch,
        "weights": name,
        "stopped": bool(getattr(model, "stop_training", False)),
        "seeds": [np.asarray(v.numpy()).tolist() for v in seed_states(model)],
        "callbacks": [{"class": type(c).__name__, "state": callback_state(c)}
                      for c in callbacks],
    }
    previous = old.get("current")
    if previous and previous["epoch"] >= epoch:
        # The epoch was trained again (after falling back from unreadable
        # weights of that epoch): the fallback stays the state before it.
        previous = old.get("previous")
    write_json(path, {"current": current, "previous": previous})
    keep = {name, (previous or {}).get("weights")}
    for stale in glob.glob(os.path.join(backup_dir, "*.weights.h5")):
        if os.path.basename(stale) not in keep:
            os.remove(stale)


def _read_state(path):
    state = read_json(path, way_out=_OVERWRITE)
    if not isinstance(state, dict) or not _is_entry(state.get("current")):
        raise CorruptRunFile(path, "no 'current' state in it", _OVERWRITE)
    if state.get("previous") is not None and not _is_entry(state["previous"]):
        raise CorruptRunFile(path, "its 'previous' state is malformed", _OVERWRITE)
    return state


def _is_entry(entry):
    """An entry of ``state.json``: the epoch, its weights file, the seeds and callback states."""
    return (isinstance(entry, dict) and isinstance(entry.get("epoch"), int)
            and not isinstance(entry["epoch"], bool) and entry["epoch"] >= 0
            and isinstance(entry.get("weights"), str)
            and isinstance(entry.get("seeds", []), list)
            and isinstance(entry.get("callbacks", []), list)
            and all(isinstance(c, dict) and "class" in c and "state" in c
                    for c in entry.get("callbacks", [])))


_OVERWRITE = ("The run cannot be resumed; run it again with --overwrite "
              "(overwrite=True) to train from epoch 0.")


def load_weights(model, path):
    """``model.load_weights(path)``, the optimizer built first so that its state loads too."""
    if not os.path.exists(path):
        raise FileNotFoundError("missing")
    if getattr(model, "optimizer", None) is not None and not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    model.load_weights(path)


# What reading a damaged weights file raises (h5py: OSError; a missing key or
# a shape that does not match: KeyError, ValueError).
UNREADABLE = (OSError, KeyError, ValueError)


def describe_error(err):
    """``err`` in a few words, on one line: the problem a CorruptRunFile names."""
    return " ".join(str(err).split())[:200] or type(err).__name__


# What Keras's BackupAndRestore wrote, which zoo runs used before this backup.
_OLDER_FORMAT = ("training_metadata.json", "latest.weights.h5")


def refuse_older_format(backup_dir):
    """Refuse a backup written by Keras's ``BackupAndRestore`` (zoo before ``state.json``).

    It lacks what a reproducible resume needs (the random generators, the
    callbacks' states, one commit point), so resuming from it would continue
    a different run; training it from epoch 0 would overwrite its epochs.
    """
    if os.path.exists(os.path.join(backup_dir, STATE)):
        return
    found = [name for name in _OLDER_FORMAT if os.path.exists(os.path.join(backup_dir, name))]
    if found:
        raise ValueError(
            f"The backup in {backup_dir} ({', '.join(found)}) was written by an earlier version "
            "of the zoo, whose runs cannot be resumed exactly. Finish it with that version, or "
            "start it again with --overwrite (overwrite=True).")


def restore(model, backup_dir):
    """Load the last good state of ``backup_dir`` into ``model``.

    Returns:
        The state dict (``epoch``, ``stopped``, ``callbacks``...) or ``None``
        when there is no backup (a new run).

    Raises:
        CorruptRunFile: ``state.json`` cannot be read, or neither the current
            nor the previous weights can.
    """
    path = os.path.join(backup_dir, STATE)
    if not os.path.exists(path):
        return None
    state = _read_state(path)
    current, previous = state["current"], state.get("previous")
    first = os.path.join(backup_dir, current["weights"])
    try:
        load_weights(model, first)
        chosen = current
    except UNREADABLE as err:
        problem = describe_error(err)
        if not previous:
            raise CorruptRunFile(first, problem, (
                f"It holds the state after epoch {current['epoch']}, the only one kept, so the "
                "run cannot be resumed; run it again with --overwrite (overwrite=True) to "
                "train from epoch 0.")) from None
        second = os.path.join(backup_dir, previous["weights"])
        try:
            load_weights(model, second)
        except UNREADABLE as err2:
            raise CorruptRunFile(first, problem, (
                f"Its previous copy {second} cannot be read either "
                f"({describe_error(err2)}), so the "
                f"{current['epoch']} finished epochs cannot be resumed. Run again with "
                "--overwrite (overwrite=True) to train from epoch 0.")) from None
        print(f"Notice: {first} cannot be read ({problem}); resuming from the previous "
              f"backup, {second}: epoch {previous['epoch'] + 1} is trained again.",
              file=sys.stderr, flush=True)
        chosen = previous
    variables = seed_states(model)
    if len(variables) == len(chosen.get("seeds", [])):
        for variable, value in zip(variables, chosen["seeds"]):
            variable.assign(np.asarray(value, dtype=variable.dtype))
    return chosen

"""The run folder: what a training run writes, and how it is resumed.

A run folder holds everything a run produced::

    run_dir/
      config.json          the configuration the run was started with
      history.csv          one row per finished epoch (kept across restarts)
      metrics.json         history, final metrics, wall time, status
      learning_curve.png   train and validation curves per metric
      model.keras          the trained model (best weights when monitored)
      recipe.json          the recipe's name, module and artifact names (zoo.recipe.run)
      exports.json         which export was made from which weights (zoo.recipe.run)
      <artifact>.json      vocabularies, statistics: the artifacts passed to training
      checkpoints/         best weights so far
      backup/              the resume state while the run is unfinished
      logs/                TensorBoard logs

A run folder that exists is resumed, never overwritten unless
``overwrite=True``; resuming with a different configuration is an error
(only ``epochs`` may grow, to train a finished run further).

:data:`RUN_FILES` names the files; :func:`run_dir_state` says, writing
nothing, whether a folder is new, resumed or finished (and refuses one that
holds another configuration); :func:`prepare_run_dir` creates, resumes or
wipes a folder; :func:`record_export` and :func:`recorded_export` keep
``exports.json`` (an export per weights fingerprint,
:func:`weights_fingerprint`); :func:`read_history` reads ``history.csv``;
:func:`update_metrics` is the one writer of ``metrics.json`` (training
progress, final state, test metrics, reports and summaries all merge through
it); :func:`write_json` is the one atomic JSON writer (run folders and sweep
state); :func:`plot_learning_curves` draws ``learning_curve.png``. Writing
the folder during training is :func:`zoo.training.train`'s job.

A file that cannot be read raises :class:`CorruptRunFile`, whose message
names the file and the way out (:func:`way_out`); a torn ``history.csv``
row is dropped instead (:func:`read_history`). One process at a time works
in a folder: :mod:`zoo.training.lock`.
"""

import csv
import dataclasses
import json
import math
import os
import shutil
import sys
import tempfile

RUN_FILES = {
    "config": "config.json",
    "history": "history.csv",
    "metrics": "metrics.json",
    "curve": "learning_curve.png",
    "model": "model.keras",
    "recipe": "recipe.json",
    "exports": "exports.json",
    "checkpoint": os.path.join("checkpoints", "best.weights.h5"),
    "backup": "backup",
    "logs": "logs",
}


class CorruptRunFile(ValueError):
    """A run-folder file that cannot be read: truncated, torn or not what it should hold.

    ``str()`` reads ``"<path> is corrupt (<problem>). <way_out>"``: the file,
    what is wrong with it, and what to do (the backup used instead,
    ``--overwrite``, or the file to delete). The ``zoo`` command shows it
    without a traceback and exits with status 2.

    Attributes:
        path: the corrupt file.
        problem: what is wrong with it, in a few words.
        way_out: the sentence that tells the user what to do.
    """

    def __init__(self, path, problem, way_out):
        self.path = os.fspath(path)
        self.problem = problem
        self.way_out = way_out
        super().__init__(f"{self.path} is corrupt ({problem}). {way_out}")

    def __reduce__(self):
        return (type(self), (self.path, self.problem, self.way_out))


def config_to_dict(config):
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    raise TypeError(f"config must be a dataclass or a dict. Received: {type(config).__name__}")


def jsonable(obj):
    """``obj`` as plain JSON types (NumPy scalars and arrays as numbers and lists)."""
    return json.loads(json.dumps(obj, default=_json_default))


def _json_default(obj):
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def write_json(path, obj, *, strict=False):
    """Write ``obj`` as JSON so that a kill never leaves a partial file.

    ``strict=True`` refuses what JSON cannot hold (a TypeError) instead of
    writing NumPy values as numbers and other objects as their ``str``: for
    state that is read back as it was written (tuner and oracle state).

    A local path is written to a temporary file in the same folder, flushed
    to disk and renamed over ``path``. A remote path (``gs://...``, anything
    with ``://``) has no atomic rename: it is written through
    ``tf.io.gfile``.
    """
    path = os.fspath(path)
    text = json.dumps(obj, indent=2, sort_keys=True, default=None if strict else _json_default)
    if "://" in path:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "w") as f:
            f.write(text)
        return
    _write_atomically(path, ".json", lambda f: f.write(text))


def _write_atomically(path, suffix, write):
    """Call ``write(file)`` on a temporary file beside ``path``, flushed, renamed over ``path``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=directory)
    try:
        with os.fdopen(fd, "w", newline="") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


_RERUN = "Rerun `zoo train` with the same command"
_WAY_OUT = {
    RUN_FILES["config"]: (
        "The configuration cannot be rebuilt from the run folder: start the run again with "
        "--overwrite, or train into another --run-dir."),
    RUN_FILES["metrics"]: (
        f"Delete it and {_RERUN[0].lower() + _RERUN[1:]} to rebuild it (an unfinished run "
        "resumes from its backup; a finished one trains again), or start again with "
        "--overwrite."),
    RUN_FILES["recipe"]: (
        f"{_RERUN} to write it again (training resumes where it stopped), or start again "
        "with --overwrite."),
}


def way_out(path):
    """What to do about a corrupt run-folder file ``path``, in one or two sentences."""
    name = os.path.basename(os.fspath(path))
    return _WAY_OUT.get(name, (
        f"{_RERUN} to write it again (a finished run is not trained again), or start again "
        "with --overwrite."))


def read_json(path, default=None, *, way_out=None):
    """The JSON object in ``path``; ``default`` when there is no such file.

    Raises:
        CorruptRunFile: the file is there but is not JSON (truncated,
            overwritten); the message names the file and ``way_out`` (by
            default the run-folder advice of :func:`way_out` for its name).
    """
    if not os.path.exists(path):
        return default
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, UnicodeDecodeError) as err:  # json.JSONDecodeError is a ValueError
        problem = "it is empty" if os.path.getsize(path) == 0 else f"not JSON: {err}"
        raise CorruptRunFile(path, problem, way_out or globals()["way_out"](path)) from None


def _saved_config(run_dir, cfg):
    """The configuration saved in ``run_dir`` (None when there is none), checked against ``cfg``.

    Raises:
        ValueError: ``run_dir`` is a file, or holds another configuration
            (keys other than a larger ``epochs`` differ).
        CorruptRunFile: its ``config.json`` is not a configuration.
    """
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise ValueError(f"The run folder {run_dir} is a file, not a folder. Pass another "
                         "--run-dir, or move the file away.")
    path = os.path.join(run_dir, RUN_FILES["config"])
    if not os.path.exists(path):
        return None
    saved = read_json(path)
    if not isinstance(saved, dict):
        raise CorruptRunFile(path, f"a {type(saved).__name__}, not a configuration",
                             way_out(path))
    diff = sorted(k for k in set(saved) | set(cfg) if k != "epochs" and saved.get(k) != cfg.get(k))
    if diff:
        details = ", ".join(f"{k}: saved {saved.get(k)!r}, now {cfg.get(k)!r}" for k in diff)
        if "data_fingerprint" in diff and "data" not in diff:
            details += "; the data file's contents changed since that run"
        raise ValueError(
            f"The run folder {run_dir} holds a run with another configuration ({details}). "
            "Use another run folder, or overwrite=True (--overwrite) to start again."
        )
    return saved


def run_dir_state(run_dir, config, *, overwrite=False):
    """What :func:`prepare_run_dir` would do with ``run_dir``, without writing anything.

    Returns ``"new"`` (no run there, or ``overwrite``), ``"finished"`` (a
    finished run with its ``model.keras``: it is reused, or trained further
    when ``epochs`` grew) or ``"resume"``. Raises as :func:`prepare_run_dir`
    does, so that a run can be refused before it writes a file.

    Example::

        run_dir_state("runs/missing", {"epochs": 2})   # "new"
    """
    cfg = jsonable(config_to_dict(config))
    if overwrite and os.path.isdir(run_dir):
        return "new"
    if _saved_config(run_dir, cfg) is None:
        return "new"
    metrics = read_json(os.path.join(run_dir, RUN_FILES["metrics"]), {}) or {}
    finished = metrics.get("status") in ("complete", "already_complete")
    if finished and os.path.exists(os.path.join(run_dir, RUN_FILES["model"])):
        return "finished"
    return "resume"


def prepare_run_dir(run_dir, config, *, overwrite=False):
    """Create, resume or (with ``overwrite``) wipe a run folder.

    Returns ``"new"`` or ``"resume"``. Resuming with a configuration that
    differs from the saved one (other than a larger ``epochs``) raises a
    ValueError naming the keys that differ; so does a ``run_dir`` that is a
    file.
    """
    cfg = jsonable(config_to_dict(config))
    path = os.path.join(run_dir, RUN_FILES["config"])
    if os.path.isdir(run_dir) and overwrite:
        shutil.rmtree(run_dir)
    saved = _saved_config(run_dir, cfg)
    if saved is None:
        os.makedirs(run_dir, exist_ok=True)
        write_json(path, cfg)
        return "new"
    if cfg.get("epochs") != saved.get("epochs"):
        write_json(path, cfg)
    return "resume"


def weights_fingerprint(model):
    """The sha256 (hex) of a model's weights: their shapes, dtypes and values, in order.

    Names are left out (a model loaded from ``model.keras`` and the one that
    was saved give the same fingerprint); optimizer state and seeds are not
    weights.

    Example::

        weights_fingerprint(model)   # 'e3b0c442...', the same after a save and load
    """
    import hashlib

    import keras
    import numpy as np

    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(weight.value))
        digest.update(f"{value.dtype.str}{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def record_export(run_dir, path, fingerprint):
    """Record in ``run_dir/exports.json`` that ``path`` was exported from weights ``fingerprint``.

    The file lists every export of the run, oldest first::

        {"exports": [{"path": "saved_models/x/1", "abspath": "/.../saved_models/x/1",
                      "weights_sha256": "..."}]}
    """
    file = os.path.join(run_dir, RUN_FILES["exports"])
    entries = [e for e in (read_json(file, {}) or {}).get("exports", [])
               if e.get("abspath") != os.path.abspath(path)]
    entries.append({"path": os.fspath(path), "abspath": os.path.abspath(path),
                    "weights_sha256": fingerprint})
    write_json(file, {"exports": entries})


def recorded_export(run_dir, fingerprint):
    """The latest export of ``run_dir`` made from weights ``fingerprint`` that still exists.

    Returns its path (as recorded when that still names it from here, else
    absolute), or None: no such export, or its ``saved_model.pb`` is gone.
    """
    found = read_json(os.path.join(run_dir, RUN_FILES["exports"]), {}) or {}
    for entry in reversed(found.get("exports", [])):
        where = entry.get("abspath")
        if entry.get("weights_sha256") != fingerprint or not where:
            continue
        if os.path.isfile(os.path.join(where, "saved_model.pb")):
            path = entry.get("path") or where
            return path if os.path.abspath(path) == where else where
    return None


def _notice(text):
    print(f"notice: {text}", file=sys.stderr, flush=True)


def _history_value(key, value):
    """The float of one history.csv cell; None when the cell is torn or unreadable."""
    if value == "NA":  # CSVLogger's missing value (val_* columns without validation)
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def read_history(run_dir, *, repair=False):
    """The per-epoch history of a run, from its ``history.csv``.

    Rows are keyed by epoch; when an epoch appears twice (a restart after a
    kill between logging and backing up), the later row wins.

    Only complete rows count. A torn row (a kill while ``CSVLogger`` wrote
    it: ``1,``, or a last line without its line end, even one that parses),
    a row with missing or unreadable values, or a repeated header (from
    older runs) is dropped with a notice on stderr, and with ``repair`` the
    file is rewritten without it, so that the epoch runs again and the
    resumed run appends its row to a clean file. A file whose header is torn
    holds no finished epoch: with ``repair`` it is removed.

    Only the trainer repairs (``repair=True``), before ``CSVLogger`` opens
    the file; any other reader leaves the file alone.

    Returns:
        dict metric name -> list of floats, one per finished epoch.
    """
    path = os.path.join(run_dir, RUN_FILES["history"])
    if not os.path.exists(path):
        return {}
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        text = f.read()
    lines = list(csv.reader(text.splitlines(keepends=True)))
    # CSVLogger ends every row with a line end: a last line without one was cut short.
    cut = bool(text) and not text.endswith("\n")
    header = lines[0] if lines else []
    if not header or header[0] != "epoch" or len(set(header)) != len(header) or any(
            not name for name in header) or (cut and len(lines) == 1):
        if lines:
            _notice(f"{path} has a torn header ({','.join(header)!r}) and no finished epoch: "
                    "it is removed" + ("" if repair else " when training resumes") + ".")
            if repair:
                os.remove(path)
        return {}
    rows, kept, dropped = {}, [header], []
    for number, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        reason = None
        if cut and number == len(lines):
            reason = "no line end: cut short while being written"
        elif line == header:
            reason = "a repeated header"
        elif len(line) != len(header):
            reason = f"{len(line)} values for {len(header)} columns"
        else:
            values = [_history_value(k, v) for k, v in zip(header, line)]
            if any(v is None for v in values) or not values[0].is_integer() or values[0] < 0:
                reason = "a missing or unreadable value"
        if reason:
            dropped.append((number, line, reason))
            continue
        kept.append(line)
        rows[int(values[0])] = dict(zip(header[1:], values[1:]))
    if dropped:
        for number, line, reason in dropped:
            _notice(f"{path}: line {number} ({','.join(line)!r}) is dropped ({reason}); "
                    "its epoch runs again.")
        if repair:
            _write_lines(path, kept)
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            history.setdefault(key, []).append(value)
    # CSVLogger adds val_* columns ("NA") even when there is no validation.
    return {k: v for k, v in history.items() if not all(math.isnan(x) for x in v)}


def _write_lines(path, lines):
    """Rewrite the CSV ``path`` with ``lines``, atomically."""
    # the excel dialect, as CSVLogger writes
    _write_atomically(path, ".csv", lambda f: csv.writer(f).writerows(lines))


def plot_learning_curves(history, path, *, title=None):
    """Draw train/validation curves, one panel per metric, into a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [k for k in history if not k.startswith("val_") and k != "learning_rate"]
    if not names:
        return None
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = range(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], "o-", label="train")
        if "val_" + name in history:
            ax.plot(epochs, history["val_" + name], "s-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def update_metrics(run_dir, values, *, section=None):
    """Merge ``values`` into ``run_dir/metrics.json``: the file's one writer.

    Args:
        run_dir: the run folder.
        values: dict of JSON-serialisable values (NumPy ones are converted).
        section: merge under this key (``"test"``, ``"report"``,
            ``"summary"``); ``None`` merges at the top level (training
            status, history, wall time).

    Returns:
        The whole metrics dict now on disk.
    """
    path = os.path.join(run_dir, RUN_FILES["metrics"])
    metrics = read_json(path, {}) or {}
    values = jsonable(values)
    if section is None:
        metrics.update(values)
    else:
        metrics.setdefault(section, {}).update(values)
    write_json(path, metrics)
    return metrics

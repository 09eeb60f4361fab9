"""The run folder: what a training run writes, and how it is resumed.

A run folder holds everything a run produced::

    run_dir/
      config.json          the configuration the run was started with
      history.csv          one row per finished epoch (kept across restarts)
      metrics.json         history, final metrics, wall time, status
      learning_curve.png   train and validation curves per metric
      model.keras          the trained model (best weights when monitored)
      recipe.json          the recipe's name, module and artifact names (zoo.recipe.run)
      <artifact>.json      vocabularies, statistics: the artifacts passed to training
      checkpoints/         best weights so far
      backup/              the resume state while the run is unfinished
      logs/                TensorBoard logs

A run folder that exists is resumed, never overwritten unless
``overwrite=True``; resuming with a different configuration is an error
(only ``epochs`` may grow, to train a finished run further).

:data:`RUN_FILES` names the files; :func:`prepare_run_dir` creates, resumes or
wipes a folder; :func:`read_history` reads ``history.csv``;
:func:`update_metrics` is the one writer of ``metrics.json`` (training
progress, final state, test metrics, reports and summaries all merge through
it); :func:`write_json` is the one atomic JSON writer (run folders and sweep
state); :func:`plot_learning_curves` draws ``learning_curve.png``. Writing
the folder during training is :func:`zoo.training.train`'s job.
"""

import csv
import dataclasses
import json
import math
import os
import shutil
import tempfile

RUN_FILES = {
    "config": "config.json",
    "history": "history.csv",
    "metrics": "metrics.json",
    "curve": "learning_curve.png",
    "model": "model.keras",
    "recipe": "recipe.json",
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
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)


def prepare_run_dir(run_dir, config, *, overwrite=False):
    """Create, resume or (with ``overwrite``) wipe a run folder.

    Returns ``"new"`` or ``"resume"``. Resuming with a configuration that
    differs from the saved one (other than a larger ``epochs``) raises a
    ValueError naming the keys that differ.
    """
    cfg = jsonable(config_to_dict(config))
    path = os.path.join(run_dir, RUN_FILES["config"])
    if os.path.isdir(run_dir) and overwrite:
        shutil.rmtree(run_dir)
    if not os.path.exists(path):
        os.makedirs(run_dir, exist_ok=True)
        write_json(path, cfg)
        return "new"
    saved = read_json(path)
    diff = sorted(k for k in set(saved) | set(cfg) if k != "epochs" and saved.get(k) != cfg.get(k))
    if diff:
        details = ", ".join(f"{k}: saved {saved.get(k)!r}, now {cfg.get(k)!r}" for k in diff)
        raise ValueError(
            f"The run folder {run_dir} holds a run with another configuration ({details}). "
            "Use another run folder, or overwrite=True (--overwrite) to start again."
        )
    if cfg.get("epochs") != saved.get("epochs"):
        write_json(path, cfg)
    return "resume"


def read_history(run_dir):
    """The per-epoch history of a run, from its ``history.csv``.

    Rows are keyed by epoch; when an epoch appears twice (a restart after a
    kill between logging and backing up), the later row wins.

    Returns:
        dict metric name -> list of floats, one per finished epoch.
    """
    path = os.path.join(run_dir, RUN_FILES["history"])
    if not os.path.exists(path):
        return {}
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("epoch") in (None, ""):
                continue
            rows[int(row["epoch"])] = row
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            if key == "epoch" or key is None:
                continue
            missing = value in ("", None, "NA")
            history.setdefault(key, []).append(math.nan if missing else float(value))
    # CSVLogger adds val_* columns ("NA") even when there is no validation.
    return {k: v for k, v in history.items() if not all(math.isnan(x) for x in v)}


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

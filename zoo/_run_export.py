"""Exporting a run folder: ``zoo.recipe.export_run`` and ``python -m zoo.recipe export``.

A finished run folder holds ``model.keras`` and the artifacts its recipe
recorded; :func:`export_run` turns them into a SavedModel (and/or a LiteRT
file) that carries the recipe, config and test metrics, and records it in the
run's ``exports.json``. ``zoo train`` calls :func:`_export_once`, which
reports the recorded export instead of writing the same weights again. On a
backend other than TensorFlow the export runs in a TensorFlow subprocess
(``python -m zoo.recipe export RUN PATH``). Names are re-exported by
:mod:`zoo.recipe`.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from zoo import _quiet

EXPORT_FORMATS = ("saved_model", "litert", "both")


def export_run(run_dir, path, *, model=None, artifacts=None, overwrite=False,
               format="saved_model"):
    """Export a run folder's model at ``path`` (a version folder).

    ``format``: ``"saved_model"`` (the SavedModel in ``path``), ``"litert"``
    (``path/model.tflite`` and its record ``model.tflite.json`` only) or
    ``"both"`` (the SavedModel, then ``model.tflite`` beside its
    ``saved_model.pb``). The export records the recipe, config, test metrics and
    ``artifacts`` (default: those the run recorded, :func:`run_artifacts`). On a
    backend other than TensorFlow the export runs in a TensorFlow-backend
    subprocess from the saved ``model.keras``. It holds the run folder's lock
    (re-entrant: :func:`run` exports while holding it). A SavedModel export is
    recorded in the run's ``exports.json`` as soon as it is written, so that
    ``zoo train`` reports it instead of exporting the same weights again.

    Returns:
        ``path``.
    """
    import keras

    from zoo import recipe as contract
    from zoo.training import lock, runs

    if format not in EXPORT_FORMATS:
        raise ValueError(f"`format` must be one of {list(EXPORT_FORMATS)}. "
                         f"Received: format={format!r}")
    with contract._run_lock(run_dir):
        if model is None and keras.backend.backend() == "tensorflow":
            model = contract.load_run_model(run_dir)
        # Without a model here, the TensorFlow subprocess that exports records it.
        record = model is not None and format in ("saved_model", "both")
        fingerprint = runs.weights_fingerprint(model) if record else None  # ready beforehand
        exported = _export_run(run_dir, path, model=model, artifacts=artifacts,
                               overwrite=overwrite, environ=lock.inherit_environment(run_dir),
                               format=format)
        if record:
            runs.record_export(run_dir, exported, fingerprint)
        return exported


def _export_run(run_dir, path, *, model, artifacts, overwrite, environ, format="saved_model"):
    import keras

    from zoo import recipe as contract
    from zoo.training import runs

    if keras.backend.backend() != "tensorflow":
        env = dict(environ, KERAS_BACKEND="tensorflow")
        cmd = [sys.executable, "-m", "zoo.recipe", "export", run_dir, str(path),
               "--format", format]
        if overwrite:
            cmd.append("--overwrite")
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
        # Its last stdout line is the JSON answer for this process, not for the user.
        said = proc.stdout.splitlines()
        if said and said[-1].startswith('{"export": '):
            said.pop()
        sys.stdout.write("".join(line + "\n" for line in said))
        if proc.returncode != 0:  # one line from _main; the failure raised here, in its terms
            from zoo import _cli_errors

            sys.stderr.write(_cli_errors.child_log(proc.stderr))  # all but its one line
            raise _cli_errors.child_failure(proc.returncode, proc.stderr,
                                            "the TensorFlow export subprocess")
        sys.stderr.write(proc.stderr)
        return path
    from zoo.export import LITERT_FILE, export_litert, export_saved_model

    if model is None:
        model = contract.load_run_model(run_dir)
    metrics = runs.read_json(os.path.join(run_dir, runs.RUN_FILES["metrics"]), {})
    metadata = {
        "recipe": contract._run_info(run_dir).get("name"),
        "config": runs.read_json(os.path.join(run_dir, runs.RUN_FILES["config"]), {}),
        "metrics": metrics.get("test", {}),
        "artifacts": contract.run_artifacts(run_dir) if artifacts is None else dict(artifacts),
        "run_dir": os.path.abspath(run_dir),
    }
    if format in ("saved_model", "both"):
        path = export_saved_model(model, path, metadata=metadata, overwrite=overwrite)
    if format in ("litert", "both"):
        record = {k: metadata[k] for k in ("recipe", "metrics", "run_dir")}
        export_litert(model, Path(path) / LITERT_FILE, metadata=record,
                      overwrite=overwrite)
    return Path(path)


def _export_once(name, run_dir, export_dir, model, artifacts, *, root=None):
    """Export ``model``, unless an export of these very weights is still there.

    Returns the summary's export entries: ``export`` (the path),
    ``export_unchanged`` (True when the recorded export is reported instead
    of a new one), or ``export_error``.
    """
    from zoo import recipe as contract
    from zoo.training import runs

    root = contract.DEFAULT_EXPORTS if root is None else root
    fingerprint = runs.weights_fingerprint(model)
    found = runs.recorded_export(run_dir, fingerprint)
    if found and (export_dir is None or os.path.abspath(export_dir) == os.path.abspath(found)):
        return {"export": found, "export_unchanged": True}
    path = export_dir or os.path.join(root, name, contract.next_version(os.path.join(root, name)))
    try:  # export_run records the export in exports.json
        exported = str(export_run(run_dir, path, model=model, artifacts=artifacts))
    except Exception as err:  # the trained run stays usable: `zoo export RUN` retries
        error = f"{type(err).__name__}: {err}"
        print(f"[{name}] export to {path} failed: {error}", flush=True)
        return {"export_error": error}
    return {"export": exported, "export_unchanged": False}


def _main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo.recipe")
    sub = parser.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="export a run folder's model")
    exp.add_argument("run_dir")
    exp.add_argument("path")
    exp.add_argument("--overwrite", action="store_true")
    exp.add_argument("--format", choices=EXPORT_FORMATS, default="saved_model")
    args = parser.parse_args(argv)
    _quiet.install()
    from zoo import _cli_errors

    def export():
        exported = export_run(args.run_dir, args.path, overwrite=args.overwrite,
                              format=args.format)
        print(json.dumps({"export": str(exported)}))
        return 0

    return _cli_errors.run_command(f"{parser.prog} export", export, args)

"""The SavedModel writer: every signature group's endpoints in one
``keras.export.ExportArchive``, verified in a fresh process, renamed into place.

See :mod:`zoo.export` for the signatures and the guarantees.
"""

import contextlib
import datetime
import importlib
import json
import os
import platform
import shutil
from pathlib import Path

import keras
import numpy as np

from zoo.export import preprocess
from zoo.export import verify as _verify
from zoo.export._context import Context, tf as _tf
from zoo.export.leftovers import prepare_target, temporary_path
from zoo.training.runs import jsonable as _jsonable

EXPORT_FORMAT = "zoo-savedmodel/1"
# The signature groups of an export, in order: each module has add() and cases()
# (see zoo.export.signatures).
GROUPS = ("zoo.export.signatures", "zoo.export.predict", "zoo.export.generation",
          "zoo.export.streaming")


def _groups():
    return [importlib.import_module(name) for name in GROUPS]


def build_archive(model, *, beam_width=4, artifacts=None):
    """Return ``(archive, endpoints, context)``: a ``keras.export.ExportArchive``
    holding every signature group's endpoints, ``{name: endpoint}``, and the
    :class:`~zoo.export._context.Context` they were built with.

    The archive's vocabulary files are in ``context.scratch``, a temporary folder:
    write the archive out before removing it (it is removed at the end of the
    process otherwise)."""
    _tf()
    context = Context(beam_width=beam_width, artifacts=dict(artifacts or {}))
    archive = keras.export.ExportArchive()
    archive.track(model)
    endpoints = {}
    with preprocess.vocabulary_folder() as context.scratch:
        for group in _groups():
            endpoints.update(group.add(archive, model, context))
    return archive, endpoints, context


@contextlib.contextmanager
def _float32_policy():
    """The global dtype policy set to float32 while the export builds what it adds
    (lookup and normalisation layers, decoding loops): an export from a
    mixed-precision run keeps the model's own layer policies, and nothing else
    inherits the run's."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _versions():
    import tensorflow as tf

    import zoo

    return {
        "zoo": zoo.__version__,
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def _policy_name(model):
    """The dtype policy the model's layers compute in (a model reloaded from ``.keras``
    under another global policy keeps its layers' policies, not its own): one name, or
    the sorted names when its layers differ."""
    names = sorted({layer.dtype_policy.name for layer in model.layers if layer.weights})
    if not names:
        return model.dtype_policy.name
    return names[0] if len(names) == 1 else names


def _describe(model, metadata, signatures, verification, beam_width):
    spec = getattr(model, "zoo_spec", None) or {}
    metadata = dict(metadata or {})
    config = metadata.get("config")
    recipe_model = config.get("model") if isinstance(config, dict) else None
    if not spec and isinstance(recipe_model, dict):
        # A model reloaded from .keras: fall back on the recipe's model arguments.
        recipe_model = dict(recipe_model)
        spec = {"name": recipe_model.pop("name", None), "kwargs": recipe_model}
    return _jsonable({
        "format": EXPORT_FORMAT,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        "model": {
            "name": metadata.pop("model_name", None) or spec.get("name") or model.name,
            "kwargs": metadata.pop("model_kwargs", None) or spec.get("kwargs"),
            "inputs": {t.name: {"shape": list(t.shape), "dtype": str(t.dtype)}
                       for t in model.inputs},
            "num_parameters": int(model.count_params()),
            "dtype_policy": _policy_name(model),
        },
        "signatures": signatures,
        "beam_width": beam_width if "beam_search" in signatures else None,
        "versions": _versions(),
        "metrics": metadata.pop("metrics", None),
        "recipe": metadata.pop("recipe", None),
        "config": metadata.pop("config", None),
        "metadata": metadata,
        "verification": verification,
    })


def export_saved_model(
    model, path, *, metadata=None, overwrite=False, verify=True, beam_width=4
):
    """Export `model` as a verified SavedModel folder at `path`.

    Args:
        model: a zoo model (from ``zoo.create_model`` or a loaded ``.keras``).
        path: the target folder (created; its parent must exist or is made).
        metadata: optional dict for ``zoo_export.json``: ``metrics``,
            ``recipe``, ``config``, and ``model_name`` / ``model_kwargs`` (for
            a model that no longer carries its ``zoo_spec``, e.g. reloaded
            from ``.keras``; failing those, ``config["model"]`` of a recipe
            config is used); other keys are kept under ``"metadata"``.
        overwrite: replace an existing `path` (else FileExistsError).
        verify: run the fresh-process verification (recommended).
        beam_width: beam width of the ``beam_search`` signature.

    Returns:
        The export path (``pathlib.Path``).

    Example:
        >>> model = zoo.create_model("many_to_one", vocab_size=100, num_classes=2)
        >>> export_saved_model(model, "saved_models/sentiment/1",
        ...                    metadata={"metrics": {"accuracy": 0.87}})
    """
    _tf()
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict or None. Received: {type(metadata)}")
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(
            f"`beam_width` must be an integer >= 1. Received: beam_width={beam_width!r}")
    path = Path(path)
    prepare_target(path, overwrite)
    tmp = temporary_path(path, "partial")
    cases_file = temporary_path(path, "cases", ".npz")
    artifacts = (metadata or {}).get("artifacts")
    context = None
    try:
        with _float32_policy():
            archive, endpoints, context = build_archive(model, beam_width=beam_width,
                                                        artifacts=artifacts)
            archive.write_out(str(tmp), verbose=False)
            book = _verify.reference_cases(model, endpoints, context, _groups()) \
                if verify else None
        verification = None
        if verify:
            book.save(cases_file)
            verification = {"tolerance": _verify.TOLERANCES,
                            "cases": _verify.verify_saved_model(tmp, cases_file)}
        signatures = {}
        for name, fn in endpoints.items():
            concrete = fn.get_concrete_function()
            args = concrete.structured_input_signature[0]
            signatures[name] = {
                "inputs": {a.name: _spec_info(a) for a in args},
                # A mixed-precision model serves in the dtype its last layer computes in.
                "outputs": {k: _spec_info(v) for k, v in _output_specs(concrete).items()},
            }
        info = _describe(model, metadata, signatures, verification, beam_width)
        (tmp / "zoo_export.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        if path.exists():
            old = temporary_path(path, "old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if context is not None:  # the vocabulary files: assets/ holds copies
            shutil.rmtree(context.scratch, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if cases_file.exists():
            cases_file.unlink()
    return path


def _spec_info(spec):
    return {"shape": spec.shape.as_list() if spec.shape.rank is not None else None,
            "dtype": spec.dtype.name}


def _output_specs(concrete):
    outputs = concrete.structured_outputs
    if not isinstance(outputs, dict):
        outputs = {"output_0": outputs}
    return {k: v for k, v in outputs.items()}


def read_export_info(path):
    """Return the parsed ``zoo_export.json`` of an export folder."""
    return json.loads((Path(path) / "zoo_export.json").read_text())

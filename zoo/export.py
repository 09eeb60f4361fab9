"""SavedModel export of zoo models, with serving signatures and verification.

``export_saved_model(model, path)`` writes a TensorFlow SavedModel (through
the public ``keras.export.ExportArchive``) whose signatures are

- ``serve``: the forward pass; inputs named like the model's inputs
  (``tokens`` / ``features`` / ``condition`` / ``source`` / ``target_in``),
  variable batch size and sequence length; output ``output_0``
  (``ExportArchive`` also aliases it as ``serving_default``).
- ``generate`` (``one_to_many``): ``condition``, ``max_length`` (int32),
  ``temperature`` (float32, <= 0 greedy), ``top_k`` (int32, 0 = all),
  ``seed`` (int32) -> ``tokens`` (batch, max_length) int32, ``scores`` (batch,).
- ``translate`` (``encoder_decoder``): ``source`` and the same sampling
  inputs -> ``tokens``, ``scores``;
- ``beam_search`` (``encoder_decoder``): ``source``, ``max_length``,
  ``alpha`` (length normalisation) with the beam width fixed at export time.

The export is written to a hidden temporary sibling folder and renamed onto
`path` only after it has been verified, so an interrupted export leaves
nothing at `path`; the next export into the same parent folder removes what
a killed one left there (:func:`remove_leftovers`). ``zoo_export.json``
inside the folder records the model's registry name and factory arguments,
library versions, signatures, the verification results and the metrics and
recipe given in `metadata`.

Verification loads the export in a fresh Python process with
``tf.saved_model.load`` only (no zoo, no Keras model code, GPUs hidden) and
compares every signature with the in-process model at two batch sizes and two
sequence lengths (difference <= 1e-6 x max(1, largest |output|): absolute for
outputs below 1, relative above, since float32 logits of a trained model round
at ~1e-7 of their magnitude; generated tokens exactly).

TensorFlow backend only; the SavedModel itself loads anywhere TensorFlow runs,
CPU-only included.
"""

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import keras
import numpy as np

from zoo.training.runs import jsonable as _jsonable

EXPORT_FORMAT = "zoo-savedmodel/1"
# Outputs must agree within TOLERANCE x max(1, largest |output|).
TOLERANCE = 1e-6
BATCH_SIZES = (1, 3)
SEQUENCE_LENGTHS = (4, 7)
SAMPLING_INPUTS = ("max_length", "temperature", "top_k", "seed")

_VERIFY_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "zoo" not in sys.modules, "the verifier must not import zoo"
path, cases_file, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
loaded = tf.saved_model.load(path)
cases = np.load(cases_file, allow_pickle=False)
names = json.loads(str(cases["__index__"]))
report = []
for case in names:
    sig = case["signature"]
    fn = loaded.signatures[sig]
    args = {k: tf.constant(cases[case["id"] + "/in/" + k]) for k in case["inputs"]}
    out = {k: v.numpy() for k, v in fn(**args).items()}
    worst = 0.0
    for k in case["outputs"]:
        ref = cases[case["id"] + "/out/" + k]
        got = out[k]
        if got.shape != ref.shape:
            raise SystemExit(f"{sig}: output {k} shape {got.shape} != {ref.shape}")
        if ref.dtype.kind in "iub":
            if not np.array_equal(got, ref):
                raise SystemExit(f"{sig}: output {k} differs (integer outputs must match)")
        else:
            # Error relative to the output's scale (absolute below 1): float32
            # logits of a trained model round at ~1e-7 of their magnitude.
            scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
            diff = float(np.max(np.abs(got.astype("float64") - ref))) if ref.size else 0.0
            worst = max(worst, diff / scale)
            if diff > tol * scale:
                raise SystemExit(
                    f"{sig}: output {k} max abs diff {diff} > {tol} x scale {scale}"
                )
    report.append({"signature": sig, "shapes": case["shapes"], "max_rel_diff": worst})
print(json.dumps(report))
"""


# --------------------------------------------------------------------------- signatures
def _tf():
    if keras.config.backend() != "tensorflow":
        raise RuntimeError(
            "zoo.export needs the TensorFlow backend (KERAS_BACKEND=tensorflow). "
            f"Received: backend={keras.config.backend()!r}"
        )
    import tensorflow as tf

    return tf


def _input_specs(model):
    tf = _tf()
    specs = {}
    for t in model.inputs:
        shape = (None,) + tuple(t.shape[1:])
        specs[t.name] = tf.TensorSpec(shape, t.dtype, name=t.name)
    return specs


def _generative_kind(model):
    from zoo.models.decoder import RecurrentDecoder

    if not any(isinstance(layer, RecurrentDecoder) for layer in model.layers):
        return None
    names = [t.name for t in model.inputs]
    return "translate" if "source" in names else "generate"


def build_archive(model, *, beam_width=4):
    """Return ``(archive, endpoints)``: a ``keras.export.ExportArchive`` with the
    signatures described in the module docstring, and ``{name: fn}``."""
    tf = _tf()
    from zoo.decoding import find_decoder

    archive = keras.export.ExportArchive()
    archive.track(model)
    specs = _input_specs(model)
    names = list(specs)

    def serve(*args):
        return model(dict(zip(names, args)), training=False)

    endpoints = {"serve": archive.add_endpoint("serve", serve, list(specs.values()))}
    kind = _generative_kind(model)
    if kind is None:
        return archive, endpoints
    source_name = "source" if kind == "translate" else "condition"
    decoder, prefix = find_decoder(model, source_name)
    scalar = {
        "max_length": tf.TensorSpec((), tf.int32, name="max_length"),
        "temperature": tf.TensorSpec((), tf.float32, name="temperature"),
        "top_k": tf.TensorSpec((), tf.int32, name="top_k"),
        "seed": tf.TensorSpec((), tf.int32, name="seed"),
        "alpha": tf.TensorSpec((), tf.float32, name="alpha"),
    }

    def sample(source, max_length, temperature, top_k, seed):
        tokens, scores = decoder.generate(
            prefix(source), max_length=max_length, temperature=temperature, top_k=top_k, seed=seed
        )
        return {"tokens": tokens, "scores": scores}

    sample_sig = [specs[source_name]] + [scalar[k] for k in SAMPLING_INPUTS]
    endpoints[kind] = archive.add_endpoint(kind, sample, sample_sig)
    if kind == "translate":

        def beam(source, max_length, alpha):
            tokens, scores = decoder.beam_search(
                prefix(source), beam_width=beam_width, alpha=alpha, max_length=max_length
            )
            return {"tokens": tokens, "scores": scores}

        endpoints["beam_search"] = archive.add_endpoint(
            "beam_search", beam, [specs["source"], scalar["max_length"], scalar["alpha"]]
        )
    return archive, endpoints


# --------------------------------------------------------------------------- verification
def _max_token_id(model, input_name):
    """Largest safe id for an integer input: below every vocabulary in the model."""
    from zoo.models.decoder import RecurrentDecoder

    sizes = [layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    sizes += [layer.vocab_size for layer in model.layers if isinstance(layer, RecurrentDecoder)]
    return max(1, min(sizes) - 1) if sizes else 1


def _example_inputs(model, batch, steps, rng):
    out = {}
    for t in model.inputs:
        shape = [batch] + [steps if d is None else d for d in t.shape[1:]]
        if "int" in str(t.dtype):
            out[t.name] = rng.integers(1, _max_token_id(model, t.name) + 1, size=shape).astype(
                t.dtype
            )
        else:
            out[t.name] = rng.normal(size=shape).astype(t.dtype)
    return out


def _run(endpoint, inputs):
    out = endpoint(*inputs.values())
    return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}


def _reference_cases(model, kind, endpoints, *, beam_width):
    """In-process outputs on deterministic random inputs: the Keras model itself
    for ``serve``; the traced endpoint functions for the generation loops
    (whose float sums may differ from an eager run in the last bits)."""

    rng = np.random.default_rng(0)
    has_time = any(None in tuple(t.shape[1:]) for t in model.inputs)
    lengths = SEQUENCE_LENGTHS if has_time else SEQUENCE_LENGTHS[:1]
    cases, arrays = [], {}

    def add(sig, inputs, outputs, shapes):
        cid = f"case{len(cases)}"
        for k, v in inputs.items():
            arrays[f"{cid}/in/{k}"] = np.asarray(v)
        for k, v in outputs.items():
            arrays[f"{cid}/out/{k}"] = np.asarray(v)
        cases.append(
            {"id": cid, "signature": sig, "inputs": list(inputs), "outputs": list(outputs),
             "shapes": shapes}
        )

    for batch in BATCH_SIZES:
        for steps in lengths:
            x = _example_inputs(model, batch, steps, rng)
            y = keras.ops.convert_to_numpy(model(x, training=False))
            add("serve", x, {"output_0": y}, {"batch": batch, "steps": steps})
            if kind is None:
                continue
            name = "source" if kind == "translate" else "condition"
            for temperature, top_k in ((0.0, 0), (1.0, 3)):
                inputs = {
                    name: x[name],
                    "max_length": np.int32(steps + 1),
                    "temperature": np.float32(temperature),
                    "top_k": np.int32(top_k),
                    "seed": np.int32(batch * 7 + steps),
                }
                add(kind, inputs, _run(endpoints[kind], inputs),
                    {"batch": batch, "steps": steps, "temperature": temperature, "top_k": top_k})
            if kind == "translate":
                inputs = {"source": x["source"], "max_length": np.int32(steps + 1),
                          "alpha": np.float32(0.6)}
                add("beam_search", inputs, _run(endpoints["beam_search"], inputs),
                    {"batch": batch, "steps": steps, "beam_width": beam_width})
    arrays["__index__"] = np.array(json.dumps(cases))
    return arrays


def verify_saved_model(path, cases_file, *, timeout=600):
    """Load `path` in a fresh process with ``tf.saved_model.load`` alone (GPUs
    hidden) and check it against the reference `cases_file` (.npz).
    Returns the per-case report; raises RuntimeError on any mismatch."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(
        # Absolute paths: the verifier runs outside the caller's working directory.
        [
            sys.executable,
            "-c",
            _VERIFY_SCRIPT,
            str(Path(path).resolve()),
            str(Path(cases_file).resolve()),
            str(TOLERANCE),
        ],
        capture_output=True, text=True, env=env, timeout=timeout, cwd=tempfile.gettempdir(),
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"SavedModel verification failed for {path}:\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- metadata
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


# --------------------------------------------------------------------------- leftovers
# An export's temporary files in the target's parent folder: the SavedModel
# being written, the verification cases and the replaced export. Their names
# carry the owner's host and pid, so that a later export removes those of a
# killed export and leaves a live concurrent one's alone.
_LEFTOVER = re.compile(
    r"^\.(?P<name>.+)\.(?P<kind>partial|old|cases)-(?P<host>[A-Za-z0-9_.-]+?)-(?P<pid>\d+)-"
    r"[0-9a-f]{8}(?:\.npz)?$")
_UNOWNED = re.compile(r"^\.(?P<name>.+)\.(?P<kind>partial|old|cases)-[0-9a-f]{8}(?:\.npz)?$")
# A leftover older than this is removed whoever wrote it (a host we cannot check).
LEFTOVER_MAX_AGE = 24 * 3600


def _host():
    return re.sub(r"[^A-Za-z0-9_.-]", "_", platform.node() or "host")


def _owner():
    return f"{_host()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_leftovers(folder, *, now=None):
    """Remove the temporary files of dead exports from ``folder``.

    An export writes ``.<name>.partial-<host>-<pid>-<id>/`` and
    ``.<name>.cases-<host>-<pid>-<id>.npz`` next to its target, and removes
    them when it ends; a killed one leaves them. They are removed here when
    their process is dead (same host) or they are older than
    :data:`LEFTOVER_MAX_AGE` (another host's, or an older zoo's unnamed
    ones); a live concurrent export's are kept. A previous export that a
    killed export had moved aside (``.<name>.old-...``) and not yet replaced
    goes back to ``<name>``.

    Returns:
        The removed paths, sorted.
    """
    folder = Path(folder)
    now = time.time() if now is None else now
    removed, restored = [], []
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        owned, unowned = _LEFTOVER.match(entry.name), _UNOWNED.match(entry.name)
        if not (owned or unowned):
            continue
        try:
            age = now - entry.lstat().st_mtime
        except FileNotFoundError:
            continue
        dead = bool(owned and owned["host"] == _host() and not _alive(int(owned["pid"])))
        if not (dead or age > LEFTOVER_MAX_AGE):
            continue
        match = owned or unowned
        target = folder / match["name"]
        if match["kind"] == "old" and entry.is_dir() and not target.exists():
            # Killed between moving the previous export aside and putting the
            # new one in its place: the previous export goes back.
            os.replace(entry, target)
            restored.append(str(target))
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(str(entry))
    for target in restored:
        print(f"notice: {target} restored: an interrupted export had moved it aside.",
              file=sys.stderr, flush=True)
    if removed:
        print(f"notice: removed {len(removed)} leftover(s) of interrupted exports from {folder}: "
              + ", ".join(os.path.basename(p) for p in removed), file=sys.stderr, flush=True)
    return removed


# --------------------------------------------------------------------------- entry point
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
    if path.exists() and not overwrite:
        raise FileExistsError(f"Export target exists: {path} (pass overwrite=True to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(path.parent)
    tmp = path.parent / f".{path.name}.partial-{_owner()}"
    cases_file = path.parent / f".{path.name}.cases-{_owner()}.npz"
    try:
        archive, endpoints = build_archive(model, beam_width=beam_width)
        archive.write_out(str(tmp), verbose=False)
        kind = _generative_kind(model)
        verification = None
        if verify:
            np.savez(cases_file, **_reference_cases(model, kind, endpoints, beam_width=beam_width))
            verification = {"tolerance": TOLERANCE, "cases": verify_saved_model(tmp, cases_file)}
        signatures = {}
        for name, fn in endpoints.items():
            concrete = fn.get_concrete_function()
            args = concrete.structured_input_signature[0]
            signatures[name] = {
                "inputs": {a.name: {"shape": a.shape.as_list() if a.shape.rank is not None
                                    else None, "dtype": a.dtype.name} for a in args},
            }
        info = _describe(model, metadata, signatures, verification, beam_width)
        (tmp / "zoo_export.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        if path.exists():
            old = path.parent / f".{path.name}.old-{_owner()}"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if cases_file.exists():
            cases_file.unlink()
    return path


def read_export_info(path):
    """Return the parsed ``zoo_export.json`` of an export folder."""
    return json.loads((Path(path) / "zoo_export.json").read_text())

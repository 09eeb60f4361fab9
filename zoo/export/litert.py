"""LiteRT (TensorFlow Lite) export: ``model.tflite`` with the ``serve`` signature
(and ``step`` / ``initial_state`` for streaming models), verified in a fresh process.

The model is traced into a ``keras.export.ExportArchive`` (a temporary
SavedModel) and converted with ``tf.lite.TFLiteConverter.from_saved_model``,
built-in ops only (``TFLITE_BUILTINS``) first. Only when that conversion fails
are Select TF ops (``SELECT_TF_OPS``, the Flex delegate) allowed; the ops that
forced it are recorded in the sidecar ``<name>.tflite.json``.

The time loop. The zoo's TensorFlow loop (``zoo.layers.loop``) reads and
writes ``TensorArray``s; the converter lowers those TensorList ops to built-in
ops only when their element shape is static, and a variable batch size makes
it ``(None, units)``, so the stock loop needs ``FlexTensorListReserve`` and
friends. While tracing for LiteRT, :func:`litert_loop` runs the same step
function in a ``tf.while_loop`` over plain tensors instead: ``tf.gather`` reads
step ``t`` and ``tf.tensor_scatter_nd_update`` writes it into a preallocated
``(timesteps, batch, ...)`` tensor. That converts to the built-in ``WHILE``,
``GATHER`` and ``SCATTER_ND`` ops with the batch size and the number of
timesteps left open, so one ``model.tflite`` serves any batch and length
(the interpreter resizes its inputs).

Verification (:func:`verify_litert`): a new Python process without zoo, Keras
or TensorFlow loads the file with ``ai_edge_litert.interpreter.Interpreter``
and runs every signature at
two batch sizes and two sequence lengths through its signature runner; every
output must have the reference's dtype and shape and agree within
:data:`LITERT_TOLERANCE` x max(1, largest |output|) with the in-process model.
"""

import contextlib
import json
import os
import re
import shutil
from pathlib import Path

import keras
import numpy as np

from zoo.export._context import input_specs, tf as _tf
from zoo.export.leftovers import prepare_target, temporary_path
from zoo.export import verify as _verify
from zoo.export.verify import CaseBook
from zoo.training.runs import jsonable as _jsonable

LITERT_FORMAT = "zoo-litert/1"
# The interpreter must reproduce the in-process model within this (float32),
# times max(1, largest |output|).
LITERT_TOLERANCE = 1e-5
LITERT_FILE = "model.tflite"
INSTALL_HINT = "pip install 'rnn-zoo[litert]' (the ai-edge-litert package)"


# --------------------------------------------------------------------------
# The time loop the converter turns into built-in ops
# --------------------------------------------------------------------------


def _litert_sequence_loop(body, init, xs, y_likes, reverse=False, keep_last_only=False):
    """`zoo.layers.loop._tf_sequence_loop` over plain tensors (same contract):
    ``tf.gather`` reads step t, ``tf.tensor_scatter_nd_update`` writes it."""
    tf = _tf()
    steps = tf.shape(xs[0])[0]
    static_steps = xs[0].shape[0]
    size = 1 if keep_last_only else steps
    outputs = tuple(tf.zeros(tf.concat([[size], tf.shape(y)], 0), y.dtype) for y in y_likes)

    def loop_body(t, collected, carry):
        index = steps - 1 - t if reverse else t
        new_carry, ys = body(carry, tuple(tf.gather(x, index) for x in xs))
        at = [[0]] if keep_last_only else tf.reshape(index, (1, 1))
        collected = tuple(tf.tensor_scatter_nd_update(array, at, y[None])
                          for array, y in zip(collected, ys))
        return t + 1, collected, tuple(new_carry)

    invariants = (tf.TensorShape([]),
                  tuple(tf.TensorShape([None]).concatenate(y.shape) for y in y_likes),
                  tuple(tf.TensorShape(c.shape) for c in init))
    _, collected, final = tf.while_loop(
        lambda t, *_: t < steps, loop_body, (tf.constant(0), outputs, tuple(init)),
        shape_invariants=invariants)
    for ys, like in zip(collected, y_likes):
        first = 1 if keep_last_only else static_steps
        ys.set_shape(tf.TensorShape([first]).concatenate(like.shape))
    return final, collected


@contextlib.contextmanager
def litert_loop():
    """Within this block, zoo's recurrent layers traced on TensorFlow run the
    LiteRT-friendly loop (plain tensors, no TensorArrays; same results).

    ``zoo.layers.loop`` sends every TensorFlow loop (``time_loop`` through
    ``_tf_while_loop``, and ``sequence_loop``) through its module-level
    ``_tf_sequence_loop``; that one name is swapped and restored afterwards.
    """
    from zoo.layers import loop

    original = loop._tf_sequence_loop
    loop._tf_sequence_loop = _litert_sequence_loop
    try:
        yield
    finally:
        loop._tf_sequence_loop = original


# --------------------------------------------------------------------------
# Signatures
# --------------------------------------------------------------------------


def _streaming(model):
    """``(step_callable, specs)`` of `model` (``zoo.export.streaming.step_function``),
    or None when the model cannot stream (bidirectional layers)."""
    from zoo.export.streaming import step_function
    from zoo.models.streaming import NotStreamable

    try:
        return step_function(model)
    except NotStreamable:
        return None


def _signatures(model):
    """name -> (function(*tensors) -> {output: tensor}, [tf.TensorSpec]) of the export:
    ``serve``, and ``step`` / ``initial_state`` for a streaming model (the same
    computations as the SavedModel's)."""
    tf = _tf()
    specs = input_specs(model)
    names = list(specs)

    def serve(*args):
        return {"output_0": model(dict(zip(names, args)), training=False)}

    found = {"serve": (serve, list(specs.values()))}
    streaming = _streaming(model)
    if streaming is None:
        return found
    step_fn, step_specs = streaming
    stream = step_fn.stream
    state_names = [name for name, _, _ in stream.state_specs]

    def step(*args):
        return dict(step_fn(dict(zip(names, args[:len(names)])), list(args[len(names):])))

    def initial_state(batch_size):
        return dict(zip(state_names, stream.initial_state(batch_size)))

    found["step"] = (step, list(step_specs))
    found["initial_state"] = (initial_state, [tf.TensorSpec((), tf.int32, name="batch_size")])
    return found


def _write_saved_model(model, signatures, folder, builtin_loop):
    """The signatures, traced (with :func:`litert_loop` when `builtin_loop`), as a
    SavedModel in `folder`, the model's weights frozen into constants.

    ``keras.StatelessScope`` maps every variable to its value while tracing, so
    the graphs hold constants only: the converter keeps variables read inside
    a loop of a multi-signature model as resource variables, which the
    interpreter then finds uninitialised (READ_VARIABLE fails)."""
    tf = _tf()
    frozen = [(v, tf.constant(keras.ops.convert_to_numpy(v.value))) for v in model.variables]
    module = tf.Module()
    with litert_loop() if builtin_loop else contextlib.nullcontext(), \
            keras.StatelessScope(state_mapping=frozen):
        functions = {
            name: tf.function(fn, input_signature=specs, autograph=False).get_concrete_function()
            for name, (fn, specs) in signatures.items()}
    tf.saved_model.save(module, str(folder), signatures=functions)


# --------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------


def _ops_in(content):
    """(built-in op names, Select TF op names) of a .tflite flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    codes = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    fb = schema.Model.GetRootAsModel(content, 0)
    builtin, flex = set(), set()
    for i in range(fb.OperatorCodesLength()):
        code = fb.OperatorCodes(i)
        number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if number == schema.BuiltinOperator.CUSTOM:
            name = (code.CustomCode() or b"").decode()
            (flex if name.startswith("Flex") else builtin).add(name)
        else:
            builtin.add(codes.get(number, str(number)))
    return sorted(builtin), sorted(flex)


def _refused_ops(message):
    """The TF ops a built-in-only conversion could not legalise, from its error."""
    found = re.findall(r"'(tf\.[A-Za-z0-9_]+)' op", message)
    found += re.findall(r"^\s*(tf\.[A-Za-z0-9_]+)\(", message, flags=re.M)
    return sorted(set(found))


def _convert(saved_model_dir, signature_keys):
    """Convert, built-in ops first; returns (flatbuffer bytes, ops report)."""
    tf = _tf()

    def converter(select):
        conv = tf.lite.TFLiteConverter.from_saved_model(
            str(saved_model_dir), signature_keys=list(signature_keys))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] + (
            [tf.lite.OpsSet.SELECT_TF_OPS] if select else [])
        if select:
            # TensorList ops kept as such (Flex) rather than lowered, which
            # needs a static element shape.
            conv._experimental_lower_tensor_list_ops = False
        return conv

    try:
        return converter(False).convert(), {"select_tf_ops": False, "refused": []}
    except Exception as err:  # tf.lite's ConverterError; anything else re-raises below
        if "ConverterError" not in type(err).__name__:
            raise
        refused = _refused_ops(str(err))
    return converter(True).convert(), {"select_tf_ops": True, "refused": refused}


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------

_VERIFY_SCRIPT = r"""
import json, sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter
path, cases_file, tolerance = sys.argv[1], sys.argv[2], float(sys.argv[3])
for name in ("zoo", "keras", "tensorflow"):
    assert name not in sys.modules, f"the LiteRT verifier must not import {name}"
model = Interpreter(model_path=path)
cases = np.load(cases_file, allow_pickle=False)
report = []
for case in json.loads(str(cases["__index__"])):
    sig = case["signature"]
    runner = model.get_signature_runner(sig)
    args = {k: np.asarray(cases[case["id"] + "/in/" + k], dtype=case["input_dtypes"][k])
            for k in case["inputs"]}
    out = runner(**args)
    worst = 0.0
    for k in case["outputs"]:
        ref = cases[case["id"] + "/out/" + k]
        if k not in out:
            raise SystemExit(f"{sig}: no output {k} (outputs: {sorted(out)})")
        got, want = out[k], case["output_dtypes"][k]
        if got.dtype.name != want:
            raise SystemExit(f"{sig} {case['shapes']}: output {k} dtype {got.dtype.name} "
                             f"!= {want}")
        if got.shape != ref.shape:
            raise SystemExit(f"{sig} {case['shapes']}: output {k} shape {got.shape} "
                             f"!= {ref.shape}")
        if ref.dtype.kind in "iub":
            if not np.array_equal(got, ref):
                raise SystemExit(f"{sig} {case['shapes']}: output {k} differs (integer "
                                 "outputs must match)")
            continue
        scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
        diff = float(np.max(np.abs(got.astype("float64") - ref))) if ref.size else 0.0
        worst = max(worst, diff / scale)
        if diff > tolerance * scale:
            raise SystemExit(f"{sig} {case['shapes']}: output {k} max abs diff {diff:.3g} > "
                             f"{tolerance} x scale {scale:.3g}")
    report.append({"signature": sig, "shapes": case["shapes"], "max_rel_diff": worst})
print(json.dumps(report))
"""


def _example(model, specs, batch, steps, rng):
    """Random inputs for `specs` at (batch, steps): token ids in [1, the smallest
    vocabulary), floats from a standard normal; states from a normal too."""
    from zoo.export.signatures import _max_token_id

    out = {}
    for spec in specs:
        shape = [batch] + [steps if d is None else d for d in spec.shape[1:]]
        if spec.dtype.is_integer:
            out[spec.name] = rng.integers(1, _max_token_id(model) + 1, size=shape).astype(
                spec.dtype.as_numpy_dtype)
        else:
            out[spec.name] = rng.normal(size=shape).astype(spec.dtype.as_numpy_dtype)
    return out


def reference_cases(model, signatures, *, batch_sizes=(1, 3), sequence_lengths=(4, 7)):
    """The :class:`~zoo.export.verify.CaseBook` of every signature at each batch size and
    length, its outputs from the in-process model (the zoo's own TensorFlow loop)."""
    from zoo.export.signatures import sequence_lengths as lengths_of

    rng = np.random.default_rng(0)
    book = CaseBook()
    for batch in batch_sizes:
        for steps in lengths_of(model, sequence_lengths):
            shapes = {"batch": batch, "steps": steps}
            for name, (fn, specs) in signatures.items():
                if name == "initial_state":
                    x = {"batch_size": np.int32(batch)}
                else:
                    x = _example(model, specs, batch, steps, rng)
                y = fn(*[_tf().constant(v) for v in x.values()])
                book.add(name, x, {k: keras.ops.convert_to_numpy(v) for k, v in y.items()},
                         shapes)
    return book


def verify_litert(path, cases_file, *, tolerance=LITERT_TOLERANCE, timeout=600):
    """Run `path` (a .tflite file) on the cases of `cases_file` (.npz, a CaseBook) in a
    fresh process without zoo or Keras, with ``ai_edge_litert``'s interpreter.
    Returns the per-case report; raises RuntimeError naming the signature and the
    difference on a mismatch."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401  (checked here, used in the child)
    except ImportError:
        raise RuntimeError(f"LiteRT verification needs ai-edge-litert: {INSTALL_HINT}, "
                           "or pass verify=False.") from None
    proc = _verify.run_fresh(_VERIFY_SCRIPT, [str(Path(path).resolve()),
                                              str(Path(cases_file).resolve()),
                                              repr(float(tolerance))], timeout=timeout)
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.splitlines() if not line.startswith("INFO: ")]
        # A mismatch is the one line the checker exits with; anything else, the whole tail.
        detail = lines[-1] if len(lines) == 1 else "\n".join(lines)[-4000:]
        raise RuntimeError(f"LiteRT verification failed for {path}: {detail}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------


def sidecar_path(path):
    """The JSON record beside a .tflite file: ``<name>.tflite.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def _float32_config(value):
    """A model config with every dtype policy set to float32."""
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy" and isinstance(value.get("config"), dict):
            return dict(value, config=dict(value["config"], name="float32"))
        return {k: _float32_config(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_float32_config(v) for v in value]
    return value


def float32_twin(model):
    """`model` when all its layers compute in float32; else (a mixed-precision model)
    the same model rebuilt in float32 with its weights (float32 variables already,
    under a mixed policy): LiteRT's built-in kernels compute in float32, and a float16
    or bfloat16 graph would need Select TF ops."""
    policies = {layer.dtype_policy.name for layer in model.layers}
    if policies <= {"float32"}:
        return model
    twin = model.__class__.from_config(_float32_config(model.get_config()))
    twin.set_weights(model.get_weights())
    if getattr(model, "zoo_spec", None) is not None:
        twin.zoo_spec = model.zoo_spec
    return twin


def export_litert(model, path, *, verify=True, overwrite=False, builtin_loop=True,
                  metadata=None):
    """Export `model` as a verified LiteRT flatbuffer at `path`.

    Args:
        model: a zoo model (from ``zoo.create_model`` or a loaded ``.keras``).
        path: the ``.tflite`` file to write (its folder is created); the record
            of the export goes beside it as ``<name>.tflite.json``.
        verify: run the fresh-process interpreter check (recommended).
        overwrite: replace an existing `path` (else FileExistsError).
        builtin_loop: trace the recurrent layers with the LiteRT-friendly loop
            (:func:`litert_loop`) so that they convert to built-in ops; False
            converts the zoo's stock TensorFlow loop, which needs Select TF ops.
        metadata: optional JSON-able dict stored in the record (recipe, run...).

    Returns:
        The path of the ``.tflite`` file (``pathlib.Path``).

    A mixed-precision model is converted as its float32 twin (:func:`float32_twin`):
    the file computes in float32 and is verified against that twin.

    Signatures: ``serve`` (inputs named like the model's, e.g. ``tokens``
    (batch, timesteps) int32 or ``features`` (batch, timesteps, features)
    float32, output ``output_0``); for streaming models also ``step`` (one or
    more timesteps and ``state_0``... -> ``output_0`` and the new states) and
    ``initial_state`` (``batch_size`` int32 -> zero states). Batch size and
    timesteps stay dynamic: resize the inputs (the signature runner does it).

    Example:
        >>> model = zoo.create_model("many_to_one", vocab_size=100, num_classes=2)
        >>> export_litert(model, "saved_models/sentiment/1/model.tflite")
        >>> from ai_edge_litert.interpreter import Interpreter
        >>> serve = Interpreter("saved_models/sentiment/1/model.tflite").get_signature_runner(
        ...     "serve")
        >>> serve(tokens=np.array([[5, 7, 9, 0]], "int32"))["output_0"].shape   # (1, 2)
    """
    tf = _tf()
    path = Path(path)
    if path.suffix != ".tflite":
        raise ValueError(f"`path` must name a .tflite file. Received: path={str(path)!r}")
    if metadata is not None and not isinstance(metadata, dict):
        raise ValueError(f"`metadata` must be a dict or None. Received: {type(metadata)}")
    prepare_target(path, overwrite)
    saved = temporary_path(path.with_name(path.name + ".savedmodel"), "partial")
    tmp = temporary_path(path, "partial")
    tmp_record = temporary_path(sidecar_path(path), "partial")
    cases_file = temporary_path(path, "cases", ".npz")
    served_policy = sorted({layer.dtype_policy.name for layer in model.layers})
    model = float32_twin(model)
    try:
        signatures = _signatures(model)
        _write_saved_model(model, signatures, saved, builtin_loop)
        content, ops = _convert(saved, list(signatures))
        tmp.write_bytes(content)
        builtin, flex = _ops_in(content)
        verification = None
        if verify and flex:
            raise RuntimeError(
                f"The LiteRT conversion of {model.name} needs Select TF ops ({', '.join(flex)}; "
                f"forced by {', '.join(ops['refused']) or 'ops the converter did not name'}), "
                "which the ai-edge-litert interpreter cannot run (it has no Flex delegate), so "
                "it cannot be verified; pass verify=False to write it unverified.")
        if verify:
            reference_cases(model, signatures).save(cases_file)
            verification = {"tolerance": LITERT_TOLERANCE, "interpreter": "ai_edge_litert",
                            "cases": verify_litert(tmp, cases_file)}
        record = _jsonable({
            "format": LITERT_FORMAT,
            "model": getattr(model, "zoo_spec", None) or {"name": model.name},
            "signatures": {name: [s.name for s in specs]
                           for name, (_, specs) in signatures.items()},
            "size_bytes": len(content),
            "loop": "litert" if builtin_loop else "tensorflow",
            # A mixed-precision model is converted as its float32 twin (float32_twin).
            "trained_dtype_policy": served_policy,
            "dtype": "float32",
            "ops": {"builtin": builtin, "select_tf": flex,
                    "select_tf_forced_by": ops["refused"]},
            "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
            "metadata": metadata or {},
            "verification": verification,
        })
        tmp_record.write_text(json.dumps(record, indent=2, sort_keys=True))
        os.replace(tmp, path)
        os.replace(tmp_record, sidecar_path(path))
    finally:
        shutil.rmtree(saved, ignore_errors=True)
        for leftover in (tmp, tmp_record, cases_file):
            leftover.unlink(missing_ok=True)
    return path


def read_litert_info(path):
    """The parsed record (``<name>.tflite.json``) of a LiteRT export."""
    return json.loads(sidecar_path(path).read_text())

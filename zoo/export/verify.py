"""Fresh-process verification of a SavedModel against the in-process model.

Each signature group writes cases (:class:`CaseBook`): inputs and the reference
outputs at :data:`BATCH_SIZES` x :data:`SEQUENCE_LENGTHS`. :func:`verify_saved_model`
loads the export with ``tf.saved_model.load`` alone in a new Python process (no
zoo, no Keras model code, GPUs hidden) and compares every output:

- its dtype must be the reference's (a mixed-precision export is verified in the
  dtype it serves);
- integer, boolean and string outputs must be equal;
- float outputs must agree within the tolerance of their dtype
  (:data:`TOLERANCE` for float32, one unit in the last place for float16 and
  bfloat16) times max(1, largest |output|): absolute below 1, relative above,
  since float32 logits of a trained model round at ~1e-7 of their magnitude;
- a model that computes in a lower precision than it serves (a mixed-precision
  classifier's float32 probabilities are a softmax of bfloat16 logits) is held
  to the tolerance of its compute dtype: its eager and graph kernels may round a
  logit one unit apart, and that unit reaches every output computed from it.

The cases file is a ``.npz`` readable with ``allow_pickle=False``: strings are
stored as unicode arrays and low-precision floats as float32, their dtype
recorded beside them.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Outputs must agree within TOLERANCE x max(1, largest |output|) (float32).
TOLERANCE = 1e-6
# Per-dtype tolerance: one unit in the last place of the low-precision floats.
TOLERANCES = {"float64": TOLERANCE, "float32": TOLERANCE, "float16": 2.0 ** -10,
              "bfloat16": 2.0 ** -7}
BATCH_SIZES = (1, 3)
SEQUENCE_LENGTHS = (4, 7)

_VERIFY_SCRIPT = r"""
import json, sys
import numpy as np
import tensorflow as tf
assert "zoo" not in sys.modules, "the verifier must not import zoo"
path, cases_file = sys.argv[1], sys.argv[2]
tolerances = json.loads(sys.argv[3])
loaded = tf.saved_model.load(path)
cases = np.load(cases_file, allow_pickle=False)
names = json.loads(str(cases["__index__"]))
report = []


def as_array(tensor):
    value = np.asarray(tensor.numpy())  # a scalar string comes back as bytes
    if tensor.dtype == tf.string:
        return np.vectorize(lambda b: b.decode("utf-8"), otypes=[str])(value) if value.size \
            else value.astype(str)
    return value


for case in names:
    sig = case["signature"]
    fn = loaded.signatures[sig]
    args = {}
    for k in case["inputs"]:
        value = cases[case["id"] + "/in/" + k]
        args[k] = tf.constant(value, dtype=case["input_dtypes"][k])
    raw = fn(**args)
    if set(raw) != set(case["outputs"]):
        raise SystemExit(f"{sig}: outputs {sorted(raw)} != the reference's "
                         f"{sorted(case['outputs'])}")
    worst = 0.0
    for k in case["outputs"]:
        ref = cases[case["id"] + "/out/" + k]
        want = case["output_dtypes"][k]
        if raw[k].dtype.name != want:
            raise SystemExit(f"{sig}: output {k} dtype {raw[k].dtype.name} != {want}")
        got = as_array(raw[k])
        if got.shape != ref.shape:
            raise SystemExit(f"{sig}: output {k} shape {got.shape} != {ref.shape}")
        if ref.dtype.kind in "iubUS":
            if not np.array_equal(got, ref):
                raise SystemExit(f"{sig}: output {k} differs (integer and string outputs "
                                 "must match)")
            continue
        tol = max(tolerances.get(want, tolerances["float32"]),
                  tolerances.get(case.get("compute_dtype"), 0.0))
        scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
        diff = float(np.max(np.abs(got.astype("float64") - ref))) if ref.size else 0.0
        worst = max(worst, diff / scale)
        if diff > tol * scale:
            raise SystemExit(f"{sig}: output {k} max abs diff {diff} > {tol} x scale {scale}")
    report.append({"signature": sig, "shapes": case["shapes"], "max_rel_diff": worst})
print(json.dumps(report))
"""


def _dtype_name(value):
    dtype = getattr(value, "dtype", None)
    name = getattr(dtype, "name", None) or str(np.asarray(value).dtype)
    return {"object": "string", "str": "string", "bytes": "string"}.get(name, name)


def _storable(value):
    """`value` as an array ``np.load(allow_pickle=False)`` reads back: bytes and
    object arrays as unicode, low-precision floats as float32."""
    array = np.asarray(value)
    if array.dtype.kind in "OSU":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in array.reshape(-1)]
        return np.array(flat, dtype=str).reshape(array.shape)
    if array.dtype.kind == "V" or array.dtype.name in ("bfloat16", "float16"):
        return array.astype(np.float32)
    return array


class CaseBook:
    """The verification cases of one export: ``add`` one call of a signature.
    `compute_dtype` is the model's (its float outputs are verified within that
    dtype's tolerance when it is coarser than theirs)."""

    def __init__(self, compute_dtype="float32"):
        self.cases, self.arrays = [], {}
        self.compute_dtype = compute_dtype

    def add(self, signature, inputs, outputs, shapes):
        cid = f"case{len(self.cases)}"
        for k, v in inputs.items():
            self.arrays[f"{cid}/in/{k}"] = _storable(v)
        for k, v in outputs.items():
            self.arrays[f"{cid}/out/{k}"] = _storable(v)
        self.cases.append({
            "id": cid, "signature": signature, "inputs": list(inputs),
            "outputs": list(outputs), "shapes": shapes,
            "input_dtypes": {k: _dtype_name(v) for k, v in inputs.items()},
            "output_dtypes": {k: _dtype_name(v) for k, v in outputs.items()},
            "compute_dtype": self.compute_dtype,
        })

    def save(self, path):
        np.savez(path, __index__=np.array(json.dumps(self.cases)), **self.arrays)


def _compute_dtype(model):
    """The coarsest float dtype `model` or one of its layers computes in (``float32``
    when none is coarser): a mixed-precision body counts even under a float32 head."""
    coarsest = "float32"
    for item in [model, *getattr(model, "layers", [])]:
        dtype = getattr(getattr(item, "dtype_policy", None), "compute_dtype", None)
        if dtype in TOLERANCES and TOLERANCES[dtype] > TOLERANCES[coarsest]:
            coarsest = dtype
    return coarsest


def reference_cases(model, endpoints, context, groups):
    """The :class:`CaseBook` of every signature group's cases (deterministic inputs).
    Every endpoint must have at least one case: a signature without one raises
    RuntimeError, so none goes out unverified."""
    rng = np.random.default_rng(0)
    book = CaseBook(_compute_dtype(model))
    for group in groups:
        group.cases(model, endpoints, context, book, rng)
    missing = sorted(set(endpoints) - {case["signature"] for case in book.cases})
    if missing:
        raise RuntimeError(f"No verification case for the signature(s) {missing}: each "
                           "signature group must write cases for the endpoints it adds.")
    return book


def fresh_environment():
    """The environment of a verifier's process: GPUs hidden, TensorFlow's start-up
    logs quiet, and this checkout not on ``PYTHONPATH``."""
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="-1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTHONPATH", None)
    return env


def run_fresh(script, args, *, timeout):
    """Run the Python `script` (as ``python -c script *args``) in a fresh process
    (:func:`fresh_environment`), in the temporary folder (the verifiers' paths are
    absolute). Returns the ``subprocess.CompletedProcess`` (text stdout and stderr
    captured).

    The one place both verifiers (SavedModel, LiteRT) start their process."""
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, env=fresh_environment(), timeout=timeout,
                          cwd=tempfile.gettempdir())


def verify_saved_model(path, cases_file, *, timeout=600):
    """Load `path` in a fresh process with ``tf.saved_model.load`` alone (GPUs
    hidden) and check it against the reference `cases_file` (.npz, :class:`CaseBook`).
    Returns the per-case report; raises RuntimeError on any mismatch."""
    proc = run_fresh(_VERIFY_SCRIPT, [str(Path(path).resolve()), str(Path(cases_file).resolve()),
                                      json.dumps(TOLERANCES)], timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(
            f"SavedModel verification failed for {path}:\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-4000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])

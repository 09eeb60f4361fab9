"""The client behind ``zoo predict`` and ``zoo generate``: a thin caller of an
export's signatures.

It opens a SavedModel, turns the command line into a signature's inputs, checks
them against the signature's input specs (names, dtype, rank, fixed sizes, one
batch size), calls the signature and prints what it returns. It keeps no
tokenization, vocabulary or normalisation of its own: raw strings and raw values
go to the ``predict`` signature, whose preprocessing lives in the SavedModel; the
options a user leaves out come from the export's ``predict_defaults`` signature.

Every mistake is a ``ValueError`` with a one-line message naming the input, what
was received and what was expected (``zoo`` prints it and exits with status 2);
so is an error raised inside a signature (``tf.errors.InvalidArgumentError``):
its message is cut to the line the signature wrote, e.g. ``predict: input
'condition' holds the unknown name 'Z major'; ...``.

Example:
    >>> loaded = open_export("saved_models/dates/2")
    >>> out = call(loaded, "predict", {"source": ["Mardi 14 juillet 1789"]})
    >>> out["text"]      # (batch,) decoded strings
    array(['1789-07-14'], dtype=object)
"""

import json
import os

# The file that marks a run folder (zoo.training.runs.RUN_FILES["recipe"]; tests keep them equal).
RUN_MARKER = "recipe.json"
DEFAULTS = "predict_defaults"
TEXT_INPUTS = ("tokens", "source")


def open_export(path):
    """``tf.saved_model.load(path)``, after checking that `path` is a SavedModel
    folder (and saying which folder was meant when it is not)."""
    if not os.path.isdir(path):
        raise ValueError(f"No SavedModel folder at {path!r}.")
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        versions = sorted((d for d in os.listdir(path) if d.isdigit()
                           and os.path.isfile(os.path.join(path, d, "saved_model.pb"))), key=int)
        if versions:
            raise ValueError(
                f"{path} is not a SavedModel but a folder of export versions "
                f"({', '.join(versions)}); did you mean {os.path.join(path, versions[-1])}?")
        if os.path.isfile(os.path.join(path, RUN_MARKER)):
            raise ValueError(f"{path} is a run folder, not a SavedModel; run `zoo export {path}` "
                             "first and give the export's folder.")
        raise ValueError(f"{path} is not a SavedModel: it holds no saved_model.pb.")
    import tensorflow as tf

    try:
        return tf.saved_model.load(path)
    except (tf.errors.OpError, OSError, ValueError) as err:
        raise ValueError(f"{path}: the SavedModel cannot be loaded: {_first_line(err)}") from None


def signature(loaded, name):
    """The signature `name` of a loaded export (the message lists the others)."""
    if name not in loaded.signatures:
        raise ValueError(f"the export has no signature {name!r}; its signatures: "
                         f"{', '.join(sorted(loaded.signatures))} (choose one with --signature).")
    return loaded.signatures[name]


def input_specs(fn):
    """name -> ``tf.TensorSpec`` of each input of a signature function, by name."""
    return dict(sorted(fn.structured_input_signature[1].items()))


def read_inputs(text):
    """The object of ``--inputs JSON`` or ``--inputs @file.json`` ({} when None)."""
    if text is None:
        return {}
    where = "--inputs"
    if text.startswith("@"):
        where = f"--inputs {text}"
        try:
            with open(text[1:]) as f:
                text = f.read()
        except OSError as err:
            raise ValueError(f"{where}: cannot read {text[1:]!r}: {err.strerror}.") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        lines = text.splitlines() or [""]
        line = lines[min(err.lineno, len(lines)) - 1]
        raise ValueError(f"{where}: not valid JSON: {err.msg} at line {err.lineno} column "
                         f"{err.colno}:\n  {line}\n  {' ' * (err.colno - 1)}^") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a JSON object of input name -> value, e.g. "
                         f"'{{\"features\": [[[0.5, 1.0]]]}}'. Received: {_json_kind(value)} "
                         f"{_short(text)}")
    return value


def defaults(loaded):
    """name -> default of each option input, from the export's ``predict_defaults``
    signature ({} when the export has none)."""
    if DEFAULTS not in loaded.signatures:
        return {}
    return {k: _to_python(v) for k, v in loaded.signatures[DEFAULTS]().items()}


def text_input(fn, name):
    """The name of the raw-text input of signature `name` (``tokens`` or ``source``)."""
    specs = input_specs(fn)
    texts = [k for k in TEXT_INPUTS if k in specs and specs[k].dtype.name == "string"]
    if not texts:
        raise ValueError(f"--text: the signature {name!r} has no text input (a string input "
                         f"named {' or '.join(TEXT_INPUTS)}); it takes: {describe_inputs(specs)}."
                         " Give its inputs with --inputs.")
    return texts[0]


def describe_inputs(specs):
    return ", ".join(f"{k} ({_expected(s)})" for k, s in specs.items())


def call(loaded, name, given):
    """Call signature `name` with `given` (name -> JSON-like value): every input is
    checked against the signature's specs first. Returns name -> NumPy array
    (strings decoded)."""
    import tensorflow as tf

    fn = signature(loaded, name)
    specs = input_specs(fn)
    for key in given:
        if key not in specs:
            raise ValueError(f"unknown input {key!r}; the signature {name!r} takes: "
                             f"{', '.join(specs) or 'no inputs'}.")
    for key, spec in specs.items():
        if key not in given:
            raise ValueError(f"missing input {key!r} ({_expected(spec)}) of the signature "
                             f"{name!r}; give it with --inputs (it takes: {', '.join(specs)}).")
    tensors = {k: as_tensor(name, k, given[k], specs[k]) for k in specs}
    batches = {k: int(t.shape[0]) for k, t in tensors.items()
               if specs[k].shape.rank and specs[k].shape[0] is None}
    if len(set(batches.values())) > 1:
        raise ValueError(f"the inputs of {name!r} disagree on the batch size: " + ", ".join(
            f"{k} holds {n}" for k, n in batches.items()) + "; expected one batch size.")
    try:
        out = fn(**tensors)
    except tf.errors.OpError as err:
        raise ValueError(signature_error(err, name)) from None
    except (TypeError, ValueError) as err:
        raise ValueError(f"the signature {name!r} refused its inputs: {_first_line(err)}") \
            from None
    return {k: _to_python(v) for k, v in sorted(out.items())}


def as_tensor(signame, name, value, spec):
    """`value` as a tensor of `spec`, refused with a message when its kind, rank or a
    fixed size differs from the spec's."""
    import numpy as np
    import tensorflow as tf

    expected = _expected(spec)
    where = f"input {name!r} of the signature {signame!r}"
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(f"{where}: received a ragged nested list (rows of different lengths); "
                         f"expected {expected}.") from None
    kind = "empty" if array.size == 0 else array.dtype.kind
    dtype = spec.dtype
    if dtype == tf.string and kind in "iu":  # a condition (or token) by its decimal id
        array, kind = array.astype(str), "U"
    if spec.shape.rank and spec.shape[0] is None and array.ndim and array.shape[0] == 0:
        raise ValueError(f"{where}: received an empty batch (no example); expected {expected} "
                         "with at least one example.")
    allowed = ("U" if dtype == tf.string else "b" if dtype.is_bool
               else "iu" if dtype.is_integer else "iuf" if dtype.is_floating else "")
    if kind != "empty" and kind not in allowed:
        raise ValueError(f"{where}: received {_KINDS.get(kind, 'mixed values')}; "
                         f"expected {expected}.")
    rank = spec.shape.rank
    if rank is not None and array.ndim != rank:
        raise ValueError(f"{where}: received shape {tuple(array.shape)} (rank {array.ndim}); "
                         f"expected {expected} (rank {rank}).")
    for axis, (got, want) in enumerate(zip(array.shape, spec.shape.as_list() if rank else [])):
        if want is not None and got != want:
            raise ValueError(f"{where}: received shape {tuple(array.shape)}; expected "
                             f"{expected} (size {want} on axis {axis}, not {got}).")
    if dtype.is_floating and kind == "f" and not np.all(np.isfinite(array)):
        raise ValueError(f"{where}: received a value that is not a finite number (NaN or "
                         f"infinity); expected {expected} of finite numbers.")
    low_precision = dtype.name in ("float32", "float16", "bfloat16")
    if dtype.is_floating and kind in "iuf" and array.size and low_precision:
        limit = float(np.finfo(np.float32).max)
        if np.max(np.abs(array.astype("float64"))) > limit:
            raise ValueError(f"{where}: received values beyond float32's range (+-{limit:.3g});"
                             f" expected {expected}.")
    if dtype.is_integer and kind in "iu":
        info = np.iinfo(dtype.as_numpy_dtype)
        if array.min() < info.min or array.max() > info.max:
            raise ValueError(f"{where}: received values in [{array.min()}, {array.max()}]; "
                             f"expected {expected} in [{info.min}, {info.max}].")
    return tf.constant(array, dtype=dtype)


def signature_error(err, name):
    """The one line worth showing of an error raised inside signature `name`: the
    message the signature's check wrote (TensorFlow wraps it in ``assertion failed:
    [...]`` and escapes its quotes), else TensorFlow's first line without its node
    names."""
    message = getattr(err, "message", str(err))
    for line in message.splitlines():
        if "assertion failed: [" in line:
            inner = line.split("assertion failed: [", 1)[1]
            inner = inner.split("] [", 1)[0] if "] [" in inner else inner.rsplit("]", 1)[0]
            return _unescape(inner)
    lines = [line.strip() for line in message.splitlines() if line.strip() and not line.strip()
             .startswith(("Graph execution error", "Detected at node", "<stack traces", "[["))]
    text = (lines or [type(err).__name__])[0]
    if "}}" in text:
        text = text.rsplit("}}", 1)[1].strip()
    return f"the signature {name!r} failed: {text.split(' [Op:')[0]}"


def rows(outputs):
    """The number of examples in `outputs` (the batch axis of the first output with one)."""
    for value in outputs.values():
        if value.ndim:
            return len(value)
    return 1


def render(outputs):
    """Readable lines for `outputs`: decoded text with its score, a label with its
    probabilities, labels per token, values; any other outputs by name."""
    import numpy as np

    def numbers(x):
        x = np.asarray(x)
        return json.dumps(np.round(x.astype("float64"), 4).tolist() if x.dtype.kind == "f"
                          else x.tolist())

    n = rows(outputs)
    if "text" in outputs:
        scores = outputs.get("scores")
        texts = [text or '""' for text in outputs["text"].tolist()]  # "" shown, not blank
        return [text if scores is None else f"{text}  (score {float(scores[i]):.4f})"
                for i, text in enumerate(texts)]
    if "label" in outputs:
        probs = outputs.get("probabilities")
        return [label if probs is None else f"{label}  {numbers(probs[i])}"
                for i, label in enumerate(outputs["label"].tolist())]
    if "labels" in outputs:
        return [" ".join(label for label in row if label) for row in outputs["labels"].tolist()]
    if "value" in outputs:
        return [numbers(row) for row in outputs["value"]]
    if len(outputs) == 1:
        (value,) = outputs.values()
        return [numbers(row) if value.dtype.kind != "O" else json.dumps(row.tolist())
                for row in (value if value.ndim else [value])]
    lines = []
    for i in range(n):
        parts = []
        for k, v in outputs.items():
            row = v[i] if v.ndim else v
            parts.append(f"{k}={json.dumps(row.tolist()) if v.dtype.kind == 'O' else numbers(row)}")
        lines.append("  ".join(parts))
    return lines


def as_json(outputs):
    """`outputs` as one JSON object: output name -> nested list (strings decoded)."""
    return json.dumps({k: v.tolist() for k, v in outputs.items()}, ensure_ascii=False)


def summary(outputs):
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in outputs.items())


_KINDS = {"U": "strings", "b": "booleans", "i": "integers", "u": "integers", "f": "floats",
          "c": "complex numbers", "O": "mixed values (e.g. strings beside numbers or null)"}


def _expected(spec):
    shape = "()" if spec.shape.rank == 0 else (
        str(tuple(spec.shape.as_list())) if spec.shape.rank is not None else "any shape")
    return f"{spec.dtype.name} of shape {shape}"


def _to_python(tensor):
    import numpy as np

    value = np.asarray(tensor.numpy())  # a scalar string comes back as bytes
    if tensor.dtype.name == "string":
        decode = np.vectorize(lambda b: b.decode("utf-8", "replace"), otypes=[object])
        return decode(value) if value.size else value.astype(object)
    return value


def _json_kind(value):
    return {list: "a JSON array", str: "a JSON string", bool: "a JSON boolean",
            int: "a JSON number", float: "a JSON number"}.get(type(value), "JSON null")


def _short(text, limit=60):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _unescape(text):
    """`text` as TensorFlow's C-escaping wrote it (quotes, backslashes, UTF-8 bytes as
    octal escapes), unescaped."""
    import codecs

    try:
        raw = codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape")
        return raw.encode("latin-1").decode("utf-8", "replace")
    except (UnicodeError, ValueError):
        return text.replace("\\'", "'").replace('\\"', '"')


def _first_line(err):
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__

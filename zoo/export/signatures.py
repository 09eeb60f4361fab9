"""The tensor-level signatures of an export: ``serve``, and ``generate`` /
``translate`` / ``beam_search`` for models with a recurrent decoder.

A signature group (see :data:`zoo.export.saved_model.GROUPS`) is a module with

- ``add(archive, model, context) -> {name: endpoint}``: its endpoints, added to
  the ``keras.export.ExportArchive``;
- ``cases(model, endpoints, context, book, rng)``: its verification cases,
  written with ``book.add(signature, inputs, outputs, shapes)`` (the outputs come
  from the in-process model or from the traced endpoint).

Every signature here checks its inputs inside the graph, so TF Serving users get
the same refusal as the ``zoo`` command: a token or condition id outside its table
fails with ``tf.errors.InvalidArgumentError`` "serve: input 'tokens' holds id 12
at [0, 3]; expected ids in [0, 9)", and ``max_length < 1`` or ``top_k < 0`` with
"generate: input 'max_length' is -4; expected an integer >= 1" (TensorFlow
shows it as ``assertion failed: [...]``, quotes escaped).
"""

import keras
import numpy as np

from zoo.export._context import input_specs, run_endpoint, tf

SAMPLING_INPUTS = ("max_length", "temperature", "top_k", "seed")


def generative_kind(model):
    """"translate" (an encoder-decoder), "generate" (a one-to-many model) or None."""
    from zoo.models.decoder import RecurrentDecoder

    if not any(isinstance(layer, RecurrentDecoder) for layer in model.layers):
        return None
    names = [t.name for t in model.inputs]
    return "translate" if "source" in names else "generate"


def scalar_specs():
    tf_ = tf()
    return {
        "max_length": tf_.TensorSpec((), tf_.int32, name="max_length"),
        "temperature": tf_.TensorSpec((), tf_.float32, name="temperature"),
        "top_k": tf_.TensorSpec((), tf_.int32, name="top_k"),
        "seed": tf_.TensorSpec((), tf_.int32, name="seed"),
        "alpha": tf_.TensorSpec((), tf_.float32, name="alpha"),
    }


def id_limits(model):
    """name -> size of the table each integer input of `model` indexes (the
    smallest, where several layers read it): the Embedding's ``input_dim``, or the
    decoder's ``vocab_size`` for ``target_in``. Inputs no table reads are left out."""
    from zoo.models.decoder import RecurrentDecoder

    limits = {}
    for t in model.inputs:
        if "int" not in str(t.dtype):
            continue
        for layer in model.layers:
            if isinstance(layer, keras.layers.Embedding):
                size = layer.input_dim
            elif isinstance(layer, RecurrentDecoder):
                size = layer.vocab_size
            else:
                continue
            read = layer.input
            if isinstance(read, (list, tuple)):
                read = read[0] if read else None
            if read is t:
                limits[t.name] = min(size, limits.get(t.name, size))
    return limits


def checked_ids(signature, name, ids, size):
    """`ids`, after an in-graph check that every one lies in ``[0, size)``; the
    first one outside is named with its index."""
    tf_ = tf()
    bad = tf_.logical_or(ids < 0, ids >= size)
    where = tf_.where(bad)
    first = tf_.concat([where, tf_.zeros([1, tf_.rank(ids)], tf_.int64)], axis=0)[0]
    message = tf_.strings.join([
        f"{signature}: input '{name}' holds id ",
        tf_.strings.as_string(tf_.gather_nd(ids, first)),
        " at [", tf_.strings.reduce_join(tf_.strings.as_string(first), separator=", "),
        f"]; expected ids in [0, {size})",
    ])
    check = tf_.debugging.Assert(tf_.logical_not(tf_.reduce_any(bad)), [message])
    with tf_.control_dependencies([check]):
        return tf_.identity(ids)


def checked_at_least(signature, name, value, minimum, what="an integer"):
    """Scalar `value`, after an in-graph check that it is >= `minimum`."""
    tf_ = tf()
    message = tf_.strings.join([f"{signature}: input '{name}' is ",
                                tf_.strings.as_string(value),
                                f"; expected {what} >= {minimum}"])
    check = tf_.debugging.Assert(value >= minimum, [message])
    with tf_.control_dependencies([check]):
        return tf_.identity(value)


def checked_inputs(signature, inputs, limits):
    """`inputs` (name -> tensor) with the ids of every name in `limits` checked."""
    return {name: checked_ids(signature, name, x, limits[name]) if name in limits else x
            for name, x in inputs.items()}


def add(archive, model, context):
    from zoo.decoding import find_decoder

    specs = input_specs(model)
    names = list(specs)
    limits = id_limits(model)

    def serve(*args):
        return model(checked_inputs("serve", dict(zip(names, args)), limits), training=False)

    endpoints = {"serve": archive.add_endpoint("serve", serve, list(specs.values()))}
    kind = generative_kind(model)
    if kind is None:
        return endpoints
    source_name = "source" if kind == "translate" else "condition"
    decoder, prefix = find_decoder(model, source_name)
    scalar = scalar_specs()

    def sample(source, max_length, temperature, top_k, seed):
        source = checked_inputs(kind, {source_name: source}, limits)[source_name]
        max_length = checked_at_least(kind, "max_length", max_length, 1)
        top_k = checked_at_least(kind, "top_k", top_k, 0, "an integer (0 = all)")
        tokens, scores = decoder.generate(
            prefix(source), max_length=max_length, temperature=temperature, top_k=top_k, seed=seed
        )
        return {"tokens": tokens, "scores": scores}

    sample_sig = [specs[source_name]] + [scalar[k] for k in SAMPLING_INPUTS]
    endpoints[kind] = archive.add_endpoint(kind, sample, sample_sig)
    if kind == "translate":
        beam_width = context.beam_width

        def beam(source, max_length, alpha):
            source = checked_inputs("beam_search", {"source": source}, limits)["source"]
            max_length = checked_at_least("beam_search", "max_length", max_length, 1)
            tokens, scores = decoder.beam_search(
                prefix(source), beam_width=beam_width, alpha=alpha, max_length=max_length
            )
            return {"tokens": tokens, "scores": scores}

        endpoints["beam_search"] = archive.add_endpoint(
            "beam_search", beam, [specs["source"], scalar["max_length"], scalar["alpha"]]
        )
    return endpoints


def _max_token_id(model):
    """Largest safe id for an integer input: below every vocabulary in the model."""
    from zoo.models.decoder import RecurrentDecoder

    sizes = [layer.input_dim for layer in model.layers if isinstance(layer, keras.layers.Embedding)]
    sizes += [layer.vocab_size for layer in model.layers if isinstance(layer, RecurrentDecoder)]
    return max(1, min(sizes) - 1) if sizes else 1


def example_inputs(model, batch, steps, rng):
    """Random inputs of the model's input names at (batch, steps): token ids in
    [1, the smallest vocabulary), features from a standard normal."""
    out = {}
    for t in model.inputs:
        shape = [batch] + [steps if d is None else d for d in t.shape[1:]]
        if "int" in str(t.dtype):
            out[t.name] = rng.integers(1, _max_token_id(model) + 1, size=shape).astype(t.dtype)
        else:
            out[t.name] = rng.normal(size=shape).astype(t.dtype)
    return out


def sequence_lengths(model, lengths):
    """`lengths`, or its first only when no input has a time axis."""
    has_time = any(None in tuple(t.shape[1:]) for t in model.inputs)
    return lengths if has_time else lengths[:1]


def cases(model, endpoints, context, book, rng):
    kind = generative_kind(model)
    for batch in context.batch_sizes:
        for steps in sequence_lengths(model, context.sequence_lengths):
            x = example_inputs(model, batch, steps, rng)
            y = keras.ops.convert_to_numpy(model(x, training=False))
            book.add("serve", x, {"output_0": y}, {"batch": batch, "steps": steps})
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
                book.add(kind, inputs, run_endpoint(endpoints[kind], inputs),
                         {"batch": batch, "steps": steps, "temperature": temperature,
                          "top_k": top_k})
            if kind == "translate":
                inputs = {"source": x["source"], "max_length": np.int32(steps + 1),
                          "alpha": np.float32(0.6)}
                book.add("beam_search", inputs, run_endpoint(endpoints["beam_search"], inputs),
                         {"batch": batch, "steps": steps, "beam_width": context.beam_width})

"""The tensor-level signatures of an export: ``serve``, and ``generate`` /
``translate`` / ``beam_search`` for models with a recurrent decoder.

A signature group (see :data:`zoo.export.saved_model.GROUPS`) is a module with

- ``add(archive, model, context) -> {name: endpoint}``: its endpoints, added to
  the ``keras.export.ExportArchive``;
- ``cases(model, endpoints, context, book, rng)``: its verification cases,
  written with ``book.add(signature, inputs, outputs, shapes)`` (the outputs come
  from the in-process model or from the traced endpoint).
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


def add(archive, model, context):
    from zoo.decoding import find_decoder

    specs = input_specs(model)
    names = list(specs)

    def serve(*args):
        return model(dict(zip(names, args)), training=False)

    endpoints = {"serve": archive.add_endpoint("serve", serve, list(specs.values()))}
    kind = generative_kind(model)
    if kind is None:
        return endpoints
    source_name = "source" if kind == "translate" else "condition"
    decoder, prefix = find_decoder(model, source_name)
    scalar = scalar_specs()

    def sample(source, max_length, temperature, top_k, seed):
        tokens, scores = decoder.generate(
            prefix(source), max_length=max_length, temperature=temperature, top_k=top_k, seed=seed
        )
        return {"tokens": tokens, "scores": scores}

    sample_sig = [specs[source_name]] + [scalar[k] for k in SAMPLING_INPUTS]
    endpoints[kind] = archive.add_endpoint(kind, sample, sample_sig)
    if kind == "translate":
        beam_width = context.beam_width

        def beam(source, max_length, alpha):
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

"""The streaming signatures of an export: ``initial_state`` and ``step``.

A signature group (see :mod:`zoo.export.signatures`), for every causal
recurrent model (``zoo.models.streaming``; bidirectional, one-to-one and
encoder-decoder models get neither signature):

- ``initial_state``: ``batch_size`` int32 () -> ``state_0`` ... ``state_<n-1>``,
  zeros, float32 ``(batch_size, size)`` (layer by layer; an LSTM's ``h`` then
  ``c``; a one-to-many model's last state is its started flag, size 1);
- ``step``: the model's inputs for one or more timesteps, named as in
  ``serve`` (``tokens`` / ``features`` (batch, steps[, features]); a
  one-to-many model's ``condition`` and ``target_in``), plus ``state_0`` ... ->
  ``output_0`` (what ``serve`` gives for that chunk after the earlier chunks)
  and the new ``state_0`` ....

Feeding a sequence chunk by chunk through ``step`` gives what ``serve`` gives
on the whole sequence. :func:`step_function` is the one definition of ``step``,
used here and by the LiteRT converter.
"""

import keras
import numpy as np

from zoo.export import signatures
from zoo.export._context import input_specs, run_endpoint, tf
from zoo.export.signatures import example_inputs
from zoo.models.streaming import NotStreamable, streaming_model


def step_function(model):
    """The ``step`` computation of `model` and its input signature.

    Args:
        model: a causal recurrent zoo model (see ``zoo.models.streaming``).

    Returns:
        ``(fn, specs)``: ``fn(inputs, states) -> {"output_0": ..., "state_0": ...}``
        with `inputs` a dict of the model's inputs for a chunk and `states` a
        list of ``(batch, size)`` float32 tensors (traceable by
        ``tf.function``), and `specs` the list of ``tf.TensorSpec`` of the
        signature: the model's inputs (named and shaped as in ``serve``) then
        ``state_0`` ... ``(None, size)`` float32.

    Raises:
        zoo.models.streaming.NotStreamable: the model cannot stream.

    Example:
        >>> fn, specs = step_function(model)
        >>> [s.name for s in specs]   # ['tokens', 'state_0', 'state_1']
        >>> out = fn({"tokens": ids}, states)   # out["output_0"]: (batch, steps, C)
    """
    tf_ = tf()
    stream = streaming_model(model)
    specs = list(input_specs(model).values())
    specs += [tf_.TensorSpec((None,) + tuple(shape), dtype, name=name)
              for name, shape, dtype in stream.state_specs]

    def fn(inputs, states):
        output, new_states = stream.step(dict(inputs), list(states))
        result = {"output_0": output}
        result.update({name: s for (name, _, _), s in zip(stream.state_specs, new_states)})
        return result

    fn.stream = stream
    return fn, specs


def add(archive, model, context):
    tf_ = tf()
    try:
        fn, specs = step_function(model)
    except NotStreamable:
        return {}
    stream = fn.stream
    names = [t.name for t in model.inputs]

    limits = signatures.id_limits(model)

    def initial_state(batch_size):
        batch_size = signatures.checked_at_least("initial_state", "batch_size", batch_size, 0,
                                                 "a batch size")
        states = stream.initial_state(batch_size)
        return {name: s for (name, _, _), s in zip(stream.state_specs, states)}

    def step(*args):
        # Token and condition ids are checked as in `serve` (guards TF Serving clients).
        inputs = signatures.checked_inputs("step", dict(zip(names, args[:len(names)])), limits)
        return fn(inputs, list(args[len(names):]))

    return {
        "initial_state": archive.add_endpoint(
            "initial_state", initial_state,
            [tf_.TensorSpec((), tf_.int32, name="batch_size")]),
        "step": archive.add_endpoint("step", step, specs),
    }


def _chunk(model, x, start, stop):
    """The inputs with a time axis cut to steps [start, stop); the others whole."""
    return {t.name: x[t.name][:, start:stop] if None in tuple(t.shape[1:]) else x[t.name]
            for t in model.inputs}


def cases(model, endpoints, context, book, rng):
    if "step" not in endpoints:
        return
    fn, _ = step_function(model)
    names = [name for name, _, _ in fn.stream.state_specs]
    lengths = context.sequence_lengths
    for batch in context.batch_sizes:
        inputs = {"batch_size": np.int32(batch)}
        book.add("initial_state", inputs, run_endpoint(endpoints["initial_state"], inputs),
                 {"batch": batch})
        for steps in lengths:
            # Two chunks: the first from the zero states, the second from the states
            # the first left (so the carried states are checked too).
            x = example_inputs(model, batch, 2 * steps, rng)
            states = [keras.ops.convert_to_numpy(s) for s in fn.stream.initial_state(batch)]
            for part, start in (("first", 0), ("next", steps)):
                chunk = _chunk(model, x, start, start + steps)
                inputs = {**chunk, **dict(zip(names, states))}
                # The reference is the in-process (eager) step, not the traced endpoint.
                outputs = {key: keras.ops.convert_to_numpy(value)
                           for key, value in fn(chunk, states).items()}
                book.add("step", inputs, outputs,
                         {"batch": batch, "steps": steps, "chunk": part})
                states = [outputs[name] for name in names]

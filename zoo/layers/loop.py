"""The time loop shared by every zoo recurrent layer.

`time_loop` runs a step function over a time-major sequence, applies the
Keras masking rules and collects the outputs. The loop primitive that does
the iterating is chosen per backend from `PRIMITIVES` (a small dict, so a
faster primitive for one backend can be swapped in without touching the
layers), or replaced by a Python-unrolled loop when `unroll=True`.

A primitive is `primitive(body, init, xs, y_init, return_sequences) ->
(final_carry, ys or None)` where `body(carry, x) -> (carry, y)`, `carry` is a
tuple of tensors, `xs` a tuple of time-major tensors and `y_init` a zero
tensor shaped like one `y`. Without `return_sequences`, `ys` is None, or,
for a primitive with `keeps_last_output = True`, the last `y` as (1, ...).

Masking rules (the same as Keras's recurrent layers):
- at a masked step the states keep their previous values;
- the output of a masked step is zeros when `zero_output_for_mask`, else the
  output of the previous step; before a row's first unmasked step that is
  zeros on TensorFlow (and with `unroll=True`) and the first initial state
  on JAX, as Keras's loop gives on each backend. So a fully masked row
  returns its initial states, and outputs zeros (TensorFlow, unrolled) or
  its first initial state (JAX). (Keras's JAX loop fills every masked step
  with the first state before it; for a cell whose output is its first state,
  as the zoo cells', that is the previous output after the first unmasked
  step. A foreign cell whose output differs gets that state too, as in Keras.)
"""

import keras
from keras import ops

__all__ = ["time_loop", "sequence_loop", "compiled_by_xla", "PRIMITIVES"]


def _scan(body, init, xs, y_init, return_sequences):
    """`keras.ops.scan`, for backends whose scan accepts any `ys` (JAX, torch)."""
    if return_sequences:
        return ops.scan(body, init, xs)
    return ops.scan(lambda carry, x: (body(carry, x)[0], None), init, xs)[0], None


def _tf_while_loop(body, init, xs, y_init, return_sequences):
    """TensorFlow: `tf.while_loop` over TensorArrays with a fixed trip count.

    `keras.ops.scan` on TensorFlow sets no `maximum_iterations`, so XLA
    (`jit_compile=True`) cannot compile its gradient, and it routes the
    carry through TensorArrays; this loop keeps the carry in loop variables.
    Without `return_sequences` every step still writes its output, into a
    one-element TensorArray (as Keras's loop does), and `ys` is that last
    output, shape (1, ...). With that array and Keras's loop-variable order
    (see `_tf_sequence_loop`) TensorFlow's executor settles on the fast
    schedule for an LSTM's backward loop in nearly every process; without
    them it kept a slower one in about half (0.85-0.9x; it learns which ops
    to run inline from a graph's first runs: benchmarks/README.md, "TF
    graph, LSTM").
    """
    final, (ys,) = _tf_sequence_loop(
        lambda carry, x: _with_tuple_output(body(carry, x)), init, xs, [y_init],
        keep_last_only=not return_sequences)
    return final, ys


_tf_while_loop.keeps_last_output = True


def _with_tuple_output(result):
    carry, y = result
    return carry, (y,)


def _tf_sequence_loop(body, init, xs, y_likes, reverse=False, keep_last_only=False):
    """`tf.while_loop` over TensorArrays: `body(carry, xs_t) -> (carry, ys_t)`,
    `ys_t` a tuple shaped like `y_likes`; with `keep_last_only` each array
    holds only the last step's `ys_t` (every step overwrites element 0).
    TensorFlow is imported only when the TensorFlow backend runs this."""
    import tensorflow as tf

    steps = tf.shape(xs[0])[0]
    static_steps = xs[0].shape[0]
    inputs = [tf.TensorArray(x.dtype, size=steps, element_shape=x.shape[1:]).unstack(x)
              for x in xs]
    outputs = tuple(tf.TensorArray(y.dtype, size=1 if keep_last_only else steps,
                                   element_shape=y.shape)
                    for y in y_likes)

    # Loop variables in Keras's order: counter, output arrays, then the carry.
    def loop_body(t, collected, carry):
        index = steps - 1 - t if reverse else t
        new_carry, ys = body(carry, tuple(array.read(index) for array in inputs))
        out_index = 0 if keep_last_only else index
        collected = tuple(array.write(out_index, y) for array, y in zip(collected, ys))
        return t + 1, collected, tuple(new_carry)

    _, collected, final = tf.while_loop(
        lambda t, *_: t < steps, loop_body, (tf.constant(0), outputs, tuple(init)),
        maximum_iterations=static_steps if static_steps is not None else steps,
        parallel_iterations=32, swap_memory=True)
    stacked = tuple(array.stack() for array in collected)
    if not keep_last_only and static_steps is not None:
        # With a tensor for `size`, `stack()` forgets the number of steps; set
        # it back so that layers reading the static shape (TimeDistributed)
        # see (timesteps, batch, ...) as Keras's own loop gives it.
        for ys, like in zip(stacked, y_likes):
            ys.set_shape(tf.TensorShape([static_steps]).concatenate(like.shape))
    return final, stacked


def compiled_by_xla():
    """Whether the computation being traced will be compiled by XLA: on JAX
    always (every loop is `lax.scan` under `jax.jit` or compiled on its own),
    on TensorFlow inside a `jit_compile=True` function. TensorFlow has no
    public API for the latter; the workaround lives in
    `zoo.layers._tf_xla_context`, imported only on the TensorFlow backend."""
    backend = keras.config.backend()
    if backend != "tensorflow":
        return backend == "jax"
    from zoo.layers._tf_xla_context import in_xla_context

    return in_xla_context()


def sequence_loop(body, init, xs, y_likes, reverse=False):
    """Run `body(carry, xs_t) -> (carry, ys_t)` over the leading axis of the
    tensors in `xs` (backwards when `reverse`), collecting every `ys_t` (a
    tuple of tensors shaped like `y_likes`). Returns (final carry, ys tuple)."""
    if keras.config.backend() == "tensorflow":
        return _tf_sequence_loop(body, tuple(init), tuple(xs), list(y_likes), reverse)
    final, ys = ops.scan(body, tuple(init), tuple(xs), reverse=reverse)
    return final, tuple(ys)


def _unrolled(body, init, xs, y_init, return_sequences):
    carry, ys = init, []
    for t in range(xs[0].shape[0]):
        carry, y = body(carry, tuple(x[t] for x in xs))
        ys.append(y)
    return carry, (ops.stack(ys, axis=0) if return_sequences else None)


PRIMITIVES = {
    "tensorflow": _tf_while_loop,
    "jax": _scan,
    "torch": _scan,
    "numpy": _scan,
}


def time_loop(step, inputs, initial_states, output_size, *, mask=None,
              zero_output_for_mask=False, unroll=False, return_sequences=True,
              output_is_state=False):
    """Run `step` over the leading (time) axis of `inputs`.

    Args:
        step: `step(x_t, states) -> (output_t, new_states)`, states a flat list.
        inputs: time-major tensor (timesteps, batch, ...).
        initial_states: flat list of (batch, size) tensors.
        output_size: size of the step output (last axis).
        mask: optional time-major (timesteps, batch) mask; False = skip step.
        zero_output_for_mask: zeros instead of the previous output at masked steps.
        unroll: unroll the loop in Python (needs a static number of timesteps).
        return_sequences: also return the outputs of all steps.
        output_is_state: the step's output is always its first new state (as
            for zoo's cells); without a mask the last output is then read from
            the final states instead of being carried through the loop.

    Returns:
        (last_output (batch, output_size),
         outputs (timesteps, batch, output_size) or None,
         final_states list)
    """
    states = tuple(initial_states)
    n_states = len(states)
    zero_output = ops.zeros((ops.shape(states[0])[0], output_size), dtype=states[0].dtype)
    repeat_output = mask is not None and not zero_output_for_mask
    if unroll:
        primitive = _unrolled
    else:
        primitive = PRIMITIVES.get(keras.config.backend(), _scan)
    # The carry holds the last output where a masked step repeats it, or where
    # neither the loop (see `_tf_while_loop`) nor the final states keep it.
    last_is_state = output_is_state and mask is None
    keeps_last = getattr(primitive, "keeps_last_output", False)
    # Keras on JAX (its `lax.scan` loop, not the unrolled one) fills a masked
    # step with the first state before the step, so the steps before a row's
    # first unmasked step give its initial state; Keras on TensorFlow gives
    # zeros there. Match the backend's Keras.
    fill_with_state = (repeat_output and not unroll and keras.config.backend() == "jax"
                       and states[0].shape[-1] == output_size)
    carry_output = repeat_output or not (return_sequences or last_is_state or keeps_last)
    if mask is not None:
        xs = (inputs, ops.expand_dims(ops.cast(mask, "bool"), -1))
    else:
        xs = (inputs,)

    def body(carry, x):
        previous_output, old_states = (carry[0], carry[1:]) if carry_output else (None, carry)
        output, new_states = step(x[0], list(old_states))
        if len(new_states) != n_states:
            raise ValueError(f"The cell returned {len(new_states)} states but has {n_states}.")
        if mask is not None:
            keep = x[1]
            new_states = [ops.where(keep, new, old) for new, old in zip(new_states, old_states)]
            if not repeat_output:
                fill = ops.zeros_like(output)
            elif fill_with_state:
                fill = old_states[0]
            else:
                fill = previous_output
            output = ops.where(keep, output, fill)
        return ((output,) if carry_output else ()) + tuple(new_states), output

    init = ((zero_output,) if carry_output else ()) + states
    final, outputs = primitive(body, init, xs, zero_output, return_sequences)
    last_output = final[0] if outputs is None else outputs[-1]
    final_states = list(final[1:] if carry_output else final)
    return last_output, (outputs if return_sequences else None), final_states

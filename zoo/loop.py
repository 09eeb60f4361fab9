"""The time loop shared by every zoo recurrent layer.

`time_loop` runs a step function over a time-major sequence, applies the
Keras masking rules and collects the outputs. The loop primitive that does
the iterating is chosen per backend from `PRIMITIVES` (a small dict, so a
faster primitive for one backend can be swapped in without touching the
layers), or replaced by a Python-unrolled loop when `unroll=True`.

Masking rules (the same as Keras's recurrent layers):
- at a masked step the states keep their previous values;
- the output of a masked step is zeros when `zero_output_for_mask`, else the
  output of the previous step (zeros before the first unmasked step), so a
  fully masked row returns zeros and its initial states.
"""

import keras
from keras import ops

__all__ = ["time_loop", "PRIMITIVES"]


def _scan_carry_and_ys(body, init, xs, return_sequences):
    """`keras.ops.scan`, for backends whose scan accepts any `ys` (JAX, torch)."""
    if return_sequences:
        return ops.scan(body, init, xs)

    def carry_only(carry, x):
        return body(carry, x)[0], None

    return ops.scan(carry_only, init, xs)[0], None


def _scan_ys_like_carry(body, init, xs, return_sequences):
    """`keras.ops.scan` for TensorFlow, where `ys` must have the carry's structure.

    The carry starts with the step output, so the stacked carry holds the
    outputs in its first entry.
    """

    def carry_as_ys(carry, x):
        new_carry, _ = body(carry, x)
        return new_carry, new_carry

    final, stacked = ops.scan(carry_as_ys, init, xs)
    return final, (stacked[0] if return_sequences else None)


PRIMITIVES = {
    "tensorflow": _scan_ys_like_carry,
    "jax": _scan_carry_and_ys,
    "torch": _scan_carry_and_ys,
    "numpy": _scan_carry_and_ys,
}


def _unrolled(body, init, xs, return_sequences):
    steps = xs[0].shape[0]
    carry, ys = init, []
    for t in range(steps):
        carry, y = body(carry, tuple(x[t] for x in xs))
        ys.append(y)
    return carry, (ops.stack(ys, axis=0) if return_sequences else None)


def time_loop(step, inputs, initial_states, output_size, *, mask=None,
              zero_output_for_mask=False, unroll=False, return_sequences=True):
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

    Returns:
        (last_output (batch, output_size),
         outputs (timesteps, batch, output_size) or None,
         final_states list)
    """
    states = list(initial_states)
    n_states = len(states)
    zero_output = ops.zeros((ops.shape(states[0])[0], output_size), dtype=states[0].dtype)
    if mask is not None:
        mask = ops.expand_dims(ops.cast(mask, "bool"), -1)
        xs = (inputs, mask)
    else:
        xs = (inputs,)

    def body(carry, x):
        previous_output, old_states = carry[0], list(carry[1:])
        output, new_states = step(x[0], old_states)
        if len(new_states) != n_states:
            raise ValueError(
                f"The cell returned {len(new_states)} states but has {n_states}."
            )
        if mask is not None:
            keep = x[1]
            new_states = [ops.where(keep, new, old) for new, old in zip(new_states, old_states)]
            fill = ops.zeros_like(output) if zero_output_for_mask else previous_output
            output = ops.where(keep, output, fill)
        return (output, *new_states), output

    init = (zero_output, *states)
    if unroll:
        final, outputs = _unrolled(body, init, xs, return_sequences)
    else:
        primitive = PRIMITIVES.get(keras.config.backend(), _scan_carry_and_ys)
        final, outputs = primitive(body, init, xs, return_sequences)
    return final[0], outputs, list(final[1:])

"""A zoo cell over a whole sequence with a hand-written backward pass.

Automatic differentiation of the time loop differentiates every op of every
step: per step it stores each intermediate, runs the gradient of each gate op
separately, and accumulates the weight gradients with one small matrix
product per step. Written by hand, the backward loop carries only the state
gradients through the gates (one fused elementwise pass and one product with
the transposed recurrent kernel per step) and collects the pre-activation
gradients; the weight gradients are then one large matrix product over all
timesteps, as fused CPU/GPU kernels compute them.

Measured (benchmarks/README.md and `benchmarks/prototypes/fused_backward.py` at commit b0d5495):
faster than autodiff under XLA (JAX jit, TensorFlow `jit_compile=True`),
slower on TensorFlow's graph loop, whose autodiff overlaps the per-step weight
products with the recurrence. `RNN(gradient=...)` picks it ("auto": under XLA).

This module is the driver only and knows no cell type: each cell owns its
derivatives (`backward_step`, `recurrent_weight_gradients`) and says whether
they apply to its options (`supports_fused_gradient()`: for the zoo cells,
tanh for the candidate and sigmoid for the gates, GRU with
`reset_after=True`), as the protocol of `zoo.layers.base_cell.RecurrentCell`
describes. Everything else uses autodiff.
"""

import keras
from keras import ops

from zoo.layers.loop import sequence_loop

__all__ = ["supports_fused_gradient", "fused_time_loop"]


def supports_fused_gradient(cell):
    """Whether `cell` (with its options) has a hand-written backward step:
    it answers itself through `supports_fused_gradient()` (see
    `zoo.layers.base_cell.RecurrentCell`); any other cell has none."""
    ask = getattr(cell, "supports_fused_gradient", None)
    return bool(ask()) if callable(ask) else False


def _as_tensors(weights, kernel):
    """The cell's weight tensors with each missing bias as zeros: custom
    gradients take tensors only, and on TensorFlow `convert_to_tensor` leaves a
    variable a variable, so each one is read here with `ops.copy`."""
    return tuple(ops.zeros((kernel.shape[-1],), kernel.dtype) if w is None else ops.copy(w)
                 for w in weights)


def _spec(batch, width, dtype):
    return keras.KerasTensor((batch, width), dtype=dtype)


# ------------------------------------------------------------------ the loop
def fused_time_loop(cell, inputs, initial_states, *, hoisted=False, return_sequences=True):
    """Run a cell over time-major `inputs` (timesteps, batch, features) with
    the cell's hand-written backward pass (no mask, no recurrent dropout).

    Args:
        cell: a `RecurrentCell` whose `supports_fused_gradient()` is True; the
            driver uses only its protocol (`input_weights`, `project_inputs`,
            `recurrent_weights`, `recurrent_step(return_gates=True)`,
            `fused_gate_count`, `fused_separate_recurrent_gradient`,
            `backward_step`, `recurrent_weight_gradients`).
        inputs: (timesteps, batch, features), time-major.
        initial_states: list of (batch, units) tensors.
        hoisted: project all timesteps before the loop instead of per step.
        return_sequences: also return the outputs (timesteps, batch, units).

    Returns:
        (last_output, outputs or None, final_states), like `loop.time_loop`.
    """
    n_states, units = len(initial_states), cell.units
    batch, dtype = inputs.shape[1], initial_states[0].dtype
    kernel, bias = _as_tensors(cell.input_weights(), cell.kernel)
    recurrent = _as_tensors(cell.recurrent_weights(), cell.recurrent_kernel)
    n_gates = cell.fused_gate_count
    separate = cell.fused_separate_recurrent_gradient

    @ops.custom_gradient
    def run(x, kernel, bias, *rest):
        init, weights = list(rest[:n_states]), tuple(rest[n_states:])
        xs = cell.project_inputs(x, (kernel, bias)) if hoisted else x

        def forward(states, x_t):
            projected = x_t[0] if hoisted else cell.project_inputs(x_t[0], (kernel, bias))
            _, new_states, gates = cell.recurrent_step(
                projected, list(states), None, weights, return_gates=True)
            return tuple(new_states), tuple(new_states) + tuple(gates)

        final, stored = sequence_loop(
            forward, init, (xs,), [_spec(batch, units, dtype)] * (n_states + n_gates))
        sequences, gates = stored[:n_states], stored[n_states:] or stored[:1]

        def grad(*upstream):
            if len(upstream) == 1 and isinstance(upstream[0], (tuple, list)):
                upstream = tuple(upstream[0])  # JAX passes the cotangents as one tuple
            upstream = [ops.zeros_like(ref) if u is None else u
                        for u, ref in zip(upstream, (sequences[0], *final))]
            previous = [ops.concatenate([s0[None], seq[:-1]], axis=0)
                        for s0, seq in zip(init, sequences)]
            kernel_t = ops.transpose(weights[0])

            def backward(d_states, step):
                d_out, prev, step_gates = step[0], step[1:1 + n_states], step[1 + n_states:]
                d_states = [d_states[0] + d_out, *d_states[1:]]
                d_pre, d_rec, d_prev = cell.backward_step(d_states, step_gates, prev, kernel_t)
                return tuple(d_prev), (d_pre, d_rec) if separate else (d_pre,)

            width = kernel.shape[-1]
            d_init, collected = sequence_loop(
                backward, tuple(upstream[1:]), (upstream[0], *previous, *gates),
                [_spec(batch, width, dtype)] * (2 if separate else 1), reverse=True)
            d_pre = collected[0]
            flat_pre = ops.reshape(d_pre, (-1, width))
            flat_rec = ops.reshape(collected[-1], (-1, width))
            flat_h = ops.reshape(previous[0], (-1, units))
            d_weights = cell.recurrent_weight_gradients(flat_h, flat_rec)
            return (ops.matmul(d_pre, ops.transpose(kernel)),
                    ops.matmul(ops.transpose(ops.reshape(x, (-1, x.shape[-1]))), flat_pre),
                    ops.sum(flat_pre, axis=0), *d_init, *d_weights)

        return (sequences[0], *final), grad

    outputs, *final_states = run(inputs, kernel, bias, *initial_states, *recurrent)
    return final_states[0], (outputs if return_sequences else None), list(final_states)

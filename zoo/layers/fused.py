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
products with the recurrence. `RNN.gradient` picks it ("auto": under XLA).

The derivatives are those of the cells' equations (zoo.cells) with the
activations they support here: tanh for the candidate and sigmoid for the
gates, GRU with `reset_after=True`. Everything else uses autodiff.
"""

import keras
from keras import ops

from zoo import cells as zoo_cells
from zoo.layers.loop import sequence_loop

__all__ = ["supports_fused_gradient", "fused_time_loop"]


def _is(activation, name):
    return activation is getattr(keras.activations, name)


def supports_fused_gradient(cell):
    """Whether `cell` has a hand-written backward step here."""
    if isinstance(cell, zoo_cells.SimpleRNNCell):
        return _is(cell.activation, "tanh")
    if isinstance(cell, (zoo_cells.LSTMCell, zoo_cells.GRUCell)):
        if isinstance(cell, zoo_cells.GRUCell) and not cell.reset_after:
            return False
        return _is(cell.activation, "tanh") and _is(cell.recurrent_activation, "sigmoid")
    return False


# ------------------------------------------------------- per-cell derivatives
def _gate_count(cell):
    """How many (batch, units) tensors `recurrent_step(return_gates=True)` returns."""
    if isinstance(cell, zoo_cells.LSTMCell):
        return 5
    return 4 if isinstance(cell, zoo_cells.GRUCell) else 0


def _as_tensors(weights, kernel):
    """The cell's weight tensors with each missing bias as zeros: custom
    gradients take tensors only, and on TensorFlow `convert_to_tensor` leaves a
    variable a variable, so each one is read here with `ops.copy`."""
    return tuple(ops.zeros((kernel.shape[-1],), kernel.dtype) if w is None else ops.copy(w)
                 for w in weights)


def _backward_step(cell, d_states, gates, previous, kernel_t):
    """Gradients of one step: (d_projected, d_recurrent, d_previous_states).

    `gates` are what the forward step stored (SimpleRNN: its output h);
    `previous` the states before the step. `d_recurrent` is the gradient of
    the recurrent pre-activation h⟨t−1⟩·U (+ b); it is `d_projected` itself
    except for GRU, whose reset gate multiplies the recurrent part only.
    """
    if isinstance(cell, zoo_cells.SimpleRNNCell):
        (h_grad,), (h,) = d_states, gates
        d_pre = h_grad * (1.0 - h * h)
        return d_pre, d_pre, [ops.matmul(d_pre, kernel_t)]
    if isinstance(cell, zoo_cells.LSTMCell):
        (h_grad, c_grad), c_prev = d_states, previous[1]
        i, f, g, o, c_act = gates
        c_grad = c_grad + h_grad * o * (1.0 - c_act * c_act)
        d_pre = ops.concatenate([
            c_grad * g * i * (1.0 - i),
            c_grad * c_prev * f * (1.0 - f),
            c_grad * i * (1.0 - g * g),
            h_grad * c_act * o * (1.0 - o),
        ], axis=-1)
        return d_pre, d_pre, [ops.matmul(d_pre, kernel_t), c_grad * f]
    # GRU, reset_after=True: h = z * h_prev + (1 - z) * n, n = tanh(x_n + r * rec_n)
    (h_grad,), h_prev = d_states, previous[0]
    z, r, n, rec_n = gates
    d_n = h_grad * (1.0 - z) * (1.0 - n * n)
    d_z = h_grad * (h_prev - n) * z * (1.0 - z)
    d_r = d_n * rec_n * r * (1.0 - r)
    d_recurrent = ops.concatenate([d_z, d_r, d_n * r], axis=-1)
    return (ops.concatenate([d_z, d_r, d_n], axis=-1), d_recurrent,
            [h_grad * z + ops.matmul(d_recurrent, kernel_t)])


def _spec(batch, width, dtype):
    return keras.KerasTensor((batch, width), dtype=dtype)


# ------------------------------------------------------------------ the loop
def fused_time_loop(cell, inputs, initial_states, *, hoisted=False, return_sequences=True):
    """Run a zoo cell over time-major `inputs` (timesteps, batch, features)
    with the hand-written backward pass (no mask, no recurrent dropout).

    `hoisted`: project all timesteps before the loop instead of per step.
    Returns (last_output, outputs or None, final_states) like `time_loop`.
    """
    n_states, units = len(initial_states), cell.units
    batch, dtype = inputs.shape[1], initial_states[0].dtype
    kernel, bias = _as_tensors(cell.input_weights(), cell.kernel)
    recurrent = _as_tensors(cell.recurrent_weights(), cell.recurrent_kernel)
    n_gates = _gate_count(cell)
    separate = isinstance(cell, zoo_cells.GRUCell)

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
                d_pre, d_rec, d_prev = _backward_step(cell, d_states, step_gates, prev, kernel_t)
                return tuple(d_prev), (d_pre, d_rec) if separate else (d_pre,)

            width = kernel.shape[-1]
            d_init, collected = sequence_loop(
                backward, tuple(upstream[1:]), (upstream[0], *previous, *gates),
                [_spec(batch, width, dtype)] * (2 if separate else 1), reverse=True)
            d_pre = collected[0]
            flat_pre = ops.reshape(d_pre, (-1, width))
            flat_rec = ops.reshape(collected[-1], (-1, width))
            flat_h = ops.reshape(previous[0], (-1, units))
            d_weights = [ops.matmul(ops.transpose(flat_h), flat_rec)]
            if separate:
                d_weights.append(ops.sum(flat_rec, axis=0))
            return (ops.matmul(d_pre, ops.transpose(kernel)),
                    ops.matmul(ops.transpose(ops.reshape(x, (-1, x.shape[-1]))), flat_pre),
                    ops.sum(flat_pre, axis=0), *d_init, *d_weights)

        return (sequences[0], *final), grad

    outputs, *final_states = run(inputs, kernel, bias, *initial_states, *recurrent)
    return final_states[0], (outputs if return_sequences else None), list(final_states)

"""Gradient flow through time: how much of the loss reaches each timestep.

For a batch ``(x, y)`` and a trained (or fresh) model, :func:`gradient_flow`
returns, for every recurrent layer (every cell of a deep stack) and every
timestep ``t``, the norm of ``dL/da<t>``: the total derivative of the loss
with respect to the hidden state ``a<t>`` (``h<t>``; for an LSTM the output
state, not the cell state), averaged over the batch. A plain RNN's curve
falls off exponentially toward the early steps (the vanishing gradient);
gated cells keep it up. :func:`plot_gradient_flow` draws several such
curves in one figure.

How it works: the model's layers are run one by one, and each recurrent
layer's cells are stepped in the zoo's one time loop
(``zoo.layers.loop.sequence_loop``), adding a zero probe ``e<t>`` to the
hidden state after every step. The loss is unchanged, and
``dL/de<t> = dL/da<t>``. Gradients with respect to the probes are taken
with the backend's own autodiff (``tf.GradientTape`` on TensorFlow,
``jax.grad`` on JAX): this is the only backend-specific code here.

Supported models: those whose layers form a single chain (a
``keras.Sequential``, or a functional model where each layer feeds the next
one), with recurrent layers that expose ``cell`` (``zoo.layers.*``,
``keras.layers.SimpleRNN/GRU/LSTM/RNN``, deep stacks through
``StackedRNNCells``). Masks are not applied: pass batches without padding.
Time steps are counted in processing order (reversed for ``go_backwards``).
"""

import keras
import numpy as np
from keras import ops

from zoo.layers.loop import sequence_loop

__all__ = ["gradient_flow", "recurrent_layer_names", "plot_gradient_flow"]


def _cells(layer):
    cell = layer.cell
    return list(cell.cells) if hasattr(cell, "cells") else [cell]


def _is_recurrent(layer):
    return hasattr(layer, "cell") and hasattr(layer.cell, "state_size")


def _chain(model):
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers:
        if isinstance(layer, keras.layers.Bidirectional):
            raise ValueError(
                "gradient_flow supports one-directional recurrent layers only. "
                f"Received: a Bidirectional layer '{layer.name}'"
            )
        if _is_recurrent(layer) and getattr(layer, "return_state", False):
            raise ValueError(
                "gradient_flow needs recurrent layers without return_state. "
                f"Received: layer '{layer.name}' with return_state=True"
            )
    if not any(_is_recurrent(layer) for layer in layers):
        raise ValueError(f"The model '{model.name}' has no recurrent layer (one with a `cell`).")
    return layers


def recurrent_layer_names(model):
    """Labels of the rows of :func:`gradient_flow`: ``layer`` or ``layer/cell_i``."""
    names = []
    for layer in _chain(model):
        if _is_recurrent(layer):
            cells = _cells(layer)
            names += [layer.name] if len(cells) == 1 else [
                f"{layer.name}/cell_{i}" for i in range(len(cells))]
    return names


def _as_list(states):
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _initial_states(cell, batch, dtype):
    fn = getattr(cell, "get_initial_state", None)
    if fn is not None:
        return _as_list(keras.tree.flatten(fn(batch_size=batch)))
    sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
    return [ops.zeros((batch, s), dtype=dtype) for s in sizes]


def _run_recurrent(layer, x, probes):
    """Step ``layer``'s cells over ``x`` adding ``probes[j][t]`` to a<t> of cell j.

    Runs in the shared time loop (``zoo.layers.loop.sequence_loop``) over the
    time-major sequence, in processing order; the probes are (timesteps,
    batch, units) and are read as loop inputs, one slice per step.
    """
    cells = _cells(layer)
    batch = x.shape[0]
    states = [_initial_states(c, batch, x.dtype) for c in cells]
    counts = [len(s) for s in states]
    sequence = ops.transpose(x, (1, 0) + tuple(range(2, len(x.shape))))  # time-major
    if layer.go_backwards:
        sequence = ops.flip(sequence, 0)

    def step(carry, inputs):
        h, step_probes, new_carry, position = inputs[0], inputs[1:], [], 0
        for j, cell in enumerate(cells):
            out, new = cell(h, list(carry[position:position + counts[j]]), training=False)
            # The probe joins a<t> in the cell's compute dtype (bfloat16 under mixed
            # precision); the loop keeps its carry and its output in their own dtypes.
            h = out + ops.cast(step_probes[j], out.dtype)
            new_carry += [h] + _as_list(new)[1:]
            position += counts[j]
        new_carry = [ops.cast(v, c.dtype) for v, c in zip(new_carry, carry)]
        return tuple(new_carry), (ops.cast(h, step_probes[-1].dtype),)

    output_like = keras.KerasTensor(tuple(probes[-1].shape[1:]), dtype=probes[-1].dtype)
    _, (outputs,) = sequence_loop(
        step, [s for per_cell in states for s in per_cell], (sequence, *probes), [output_like])
    return ops.transpose(outputs, (1, 0, 2)) if layer.return_sequences else outputs[-1]


def _probe_shapes(layers, x):
    """Shapes (timesteps, batch, units) of the probes, by a dry forward run."""
    shapes, h = [], x
    for layer in layers:
        if _is_recurrent(layer):
            steps = h.shape[1]
            units = [getattr(c, "output_size", None) or _as_list(c.state_size)[0]
                     for c in _cells(layer)]
            shapes += [(steps, h.shape[0], u) for u in units]
        h = layer(h, training=False)
    return shapes


def _loss_fn(model, loss):
    fn = loss if loss is not None else getattr(model, "loss", None)
    if fn is None:
        raise ValueError("Pass `loss` or compile the model with one. Received: loss=None")
    return keras.losses.get(fn) if isinstance(fn, str) else fn


def _grad(fn, probes):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(probes)
            value = fn(probes)
        return tape.gradient(value, probes)
    if backend == "jax":
        import jax

        return jax.jit(jax.grad(fn))(probes)
    raise ValueError(
        f"gradient_flow supports the tensorflow and jax backends. Received: backend={backend!r}"
    )


def gradient_flow(model, x, y, *, loss=None):
    """Norm of dL/da<t> for every timestep of every recurrent layer.

    Args:
        model: a model whose layers form a chain (see the module docstring).
        x: one batch of inputs, (batch, timesteps, features) (or token ids
            when the model starts with an ``Embedding``); no padding.
        y: the targets of that batch, as the loss expects them.
        loss: a loss callable ``loss(y_true, y_pred)`` or a Keras loss name;
            defaults to the model's compiled loss.

    Returns:
        NumPy array (num_recurrent_layers, timesteps): row ``i`` is layer
        (or stacked cell) ``i`` of :func:`recurrent_layer_names`; entry
        ``[i, t]`` is the mean over the batch of ``||dL/da<t>||_2``.

    Example:
        >>> model = keras.Sequential([keras.Input((20, 2)), zoo.layers.SimpleRNN(8),
        ...                           keras.layers.Dense(1)])
        >>> gradient_flow(model, x, y, loss="mse").shape   # (1, 20)
    """
    layers = _chain(model)
    loss_fn = _loss_fn(model, loss)
    x = ops.convert_to_tensor(x)
    y = ops.convert_to_tensor(y)
    if len(x.shape) < 2:
        raise ValueError(f"x must be (batch, timesteps, ...). Received: x.shape={tuple(x.shape)}")
    shapes = _probe_shapes(layers, x)
    probes = [ops.zeros(s, dtype="float32") for s in shapes]

    def total_loss(probes):
        h, k = x, 0
        for layer in layers:
            if _is_recurrent(layer):
                n = len(_cells(layer))
                h = _run_recurrent(layer, h, probes[k:k + n])
                k += n
            else:
                h = layer(h, training=False)
        return ops.mean(loss_fn(y, h))

    grads = _grad(total_loss, probes)
    norms = [ops.mean(ops.sqrt(ops.sum(ops.square(g), axis=-1)), axis=-1) for g in grads]
    return np.stack([ops.convert_to_numpy(n) for n in norms])


def plot_gradient_flow(curves, path=None, *, ax=None, title="Gradient flow through time",
                       log=True, styles=None):
    """Draw gradient-flow curves, one line per label, against the timestep.

    Args:
        curves: dict label -> 1-D array (timesteps,) or 2-D array
            (layers, timesteps) as returned by :func:`gradient_flow` (one line
            per row, labelled ``label[i]``).
        path: where to save a PNG; ``None`` to only draw.
        ax: a matplotlib ``Axes`` to draw into; a new figure otherwise.
        title: the figure title.
        log: logarithmic y axis (vanishing gradients are exponential).
        styles: optional dict label -> matplotlib line keyword arguments (``color``,
            ``linestyle``, ...) for that label's lines.

    Returns:
        The matplotlib ``Axes``.
    """
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(8.5 if len(curves) > 6 else 7, 4))
    for label, values in curves.items():
        values = np.atleast_2d(np.asarray(values))
        for i, row in enumerate(values):
            name = label if len(values) == 1 else f"{label}[{i}]"
            ax.plot(np.arange(1, len(row) + 1), row, label=name, **(styles or {}).get(label, {}))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("timestep t")
    ax.set_ylabel("mean ||dL/da<t>||")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if len(ax.get_lines()) > 6:  # beside the axes, where it hides no curve
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax.legend()
    if path is not None:
        ax.figure.tight_layout()
        ax.figure.savefig(path, dpi=100)
        if own:
            plt.close(ax.figure)
    return ax

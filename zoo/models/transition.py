"""Deep transition: several layers for the recurrent transformation a<t-1> -> a<t>."""

import keras

from zoo._checks import check_sizes


@keras.saving.register_keras_serializable(package="zoo")
class DeepTransitionCell(keras.layers.Layer):
    """Wraps a recurrent cell with a deep transition (Pascanu et al., 2014).

    The wrapped cell computes ``h<t> = cell(x<t>, a<t-1>)``; the transition
    block then maps it through ``tanh`` Dense layers of the given sizes and a
    final ``tanh`` Dense layer back to ``units``:
    ``a<t> = tanh(W_L ... tanh(W_1 h<t> + b_1) ... + b_L)``. ``a<t>`` is the
    cell's output and replaces ``h`` in the carried state (an LSTM keeps its
    cell state ``c`` as computed), so every step goes through
    ``len(transition_block) + 2`` non-linear layers between ``a<t-1>`` and
    ``a<t>``. Follows the Keras cell contract, so ``zoo.layers.RNN`` runs it.

    Args:
        cell: the wrapped cell (e.g. ``zoo.cells.GRUCell(32)``).
        transition_block: sizes of the hidden transition layers (may be empty:
            then only the final ``tanh`` Dense layer is added).

    Call arguments:
        inputs: ``(batch, features)``, one step.
        states: list of ``(batch, units)`` states (``[h]`` or ``[h, c]``).
        training: passed to the wrapped cell (dropout).

    Returns:
        ``(a<t>, new_states)``: ``(batch, units)`` and the list of states.

    Example:
        >>> cell = DeepTransitionCell(zoo.cells.GRUCell(8), transition_block=(16,))
        >>> layer = zoo.layers.RNN(cell, return_sequences=True)
        >>> layer(np.zeros((2, 5, 3), "float32")).shape   # (2, 5, 8)
    """

    def __init__(self, cell, transition_block=(), **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, dict):
            cell = keras.saving.deserialize_keras_object(cell)
        if not hasattr(cell, "state_size") or not hasattr(cell, "units"):
            raise ValueError(
                f"`cell` must be a recurrent cell with `units` and `state_size`. Received: {cell!r}"
            )
        self.cell = cell
        self.transition_block = check_sizes("transition_block", transition_block)
        self.units = cell.units
        self.state_size = cell.state_size
        self.output_size = cell.units
        self.transition = [
            keras.layers.Dense(size, activation="tanh", name=f"transition_{i}")
            for i, size in enumerate(self.transition_block)
        ] + [keras.layers.Dense(self.units, activation="tanh", name="transition_out")]

    def build(self, input_shape):
        if not self.cell.built:  # a deserialized cell arrives built
            self.cell.build(input_shape)
        width = self.units
        for dense in self.transition:
            dense.build((None, width))
            width = dense.units
        self.built = True

    def call(self, inputs, states, training=None):
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        h, new_states = self.cell(inputs, states, training=training)
        new_states = list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]
        for dense in self.transition:
            h = dense(h)
        new_states[0] = h
        return h, (new_states if nested else new_states[0])

    def get_initial_state(self, batch_size=None):
        return self.cell.get_initial_state(batch_size)

    def get_config(self):
        config = super().get_config()
        config.update(
            cell=keras.saving.serialize_keras_object(self.cell),
            transition_block=list(self.transition_block),
        )
        return config

"""Hand-written recurrent cells: SimpleRNNCell, GRUCell and LSTMCell.

All recurrence maths of the zoo lives here. Each cell follows Keras's cell
contract (`state_size`, `output_size`, `build`, `call(x_t, states, training)`,
`get_initial_state`) and keeps Keras's weight layout, so weights transfer both
ways with `set_weights(keras_cell.get_weights())`:

- `kernel`: (features, k * units), `recurrent_kernel`: (units, k * units)
- gate order: SimpleRNN k=1; GRU k=3 (z, r, h); LSTM k=4 (i, f, c, o)
- `bias`: (k * units,), except GRU with `reset_after=True`: (2, 3 * units)
  (row 0 for the input projection, row 1 for the recurrent one).

Besides the per-step `call`, every cell exposes the two halves of a step,
which the zoo RNN layer uses to run a whole sequence:

- `project_inputs(x, weights=None)`: x @ kernel + input bias for any leading
  shape, so the layer can project all timesteps with one large matrix product
  before the loop (its choice on GPUs) or one step at a time inside it;
- `recurrent_step(x_proj_t, states, recurrent_mask=None, weights=None)`: the
  rest of a step, with all gates in one recurrent matrix product; `weights`
  is `recurrent_weights()`, gathered once before the loop (on TensorFlow
  `convert_to_tensor` keeps a whole variable a variable, read where it is
  used; forcing one read before the loop measured no difference).
  With `return_gates=True` it also returns the activated gates, which the
  hand-written backward pass of `zoo.layers.fused` reuses.

`call` is exactly `recurrent_step(project_inputs(x_t), states)`, so every
path shares one implementation of the equations.
"""

import keras
from keras import ops

from zoo._checks import check_rate, check_units, get_activation

__all__ = ["SimpleRNNCell", "GRUCell", "LSTMCell"]


class _ZooCell(keras.layers.Layer):
    """Shared constructor, weights, dropout masks and config of the zoo cells.

    Subclasses set `_gates` (k) and implement `recurrent_step`.
    """

    _gates = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        check_units(units)
        activation_fn = get_activation("activation", activation)
        dropout = check_rate("dropout", dropout)
        recurrent_dropout = check_rate("recurrent_dropout", recurrent_dropout)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activation_fn
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = keras.regularizers.get(recurrent_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.recurrent_constraint = keras.constraints.get(recurrent_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = units
        self.output_size = units

    # ----------------------------------------------------------------- weights
    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} needs a known feature size (last input axis). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        k_units = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(features, k_units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, k_units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(),
                name="bias",
                initializer=self._bias_init(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None

    def check_features(self, shape):
        """Raise ValueError if `shape[-1]` differs from the built feature size."""
        if self.built and shape[-1] is not None and shape[-1] != self.kernel.shape[0]:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' was built for inputs with "
                f"{self.kernel.shape[0]} features; the feature size may not change after "
                f"build. Received: input with shape {tuple(shape)}"
            )

    # -------------------------------------------------------------- fast path
    def _input_bias(self):
        return self.bias

    def input_weights(self):
        """(kernel, input bias or None) as tensors, read once per sequence."""
        bias = ops.convert_to_tensor(self._input_bias()) if self.use_bias else None
        return ops.convert_to_tensor(self.kernel), bias

    def project_inputs(self, inputs, weights=None):
        """Input projection `inputs @ kernel + input_bias`, shape (..., k * units).

        Works on one step (batch, features) or on a whole sequence at once;
        `weights` is `input_weights()` (read here when None).
        """
        kernel, bias = weights or self.input_weights()
        projected = ops.matmul(inputs, kernel)
        if bias is not None:
            projected = projected + bias
        return projected

    def recurrent_weights(self):
        """The tensors a step needs besides its inputs (read once per sequence)."""
        return (ops.convert_to_tensor(self.recurrent_kernel),)

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None):
        """One step from projected inputs: returns (output, new_states list)."""
        raise NotImplementedError

    # ----------------------------------------------------------- dropout masks
    def get_dropout_masks(self, step_input, state, training=None):
        """One dropout mask per sequence: (input mask or None, recurrent mask or None).

        `step_input` is (batch, features) and `state` is (batch, units); the
        masks are scaled by 1 / (1 - rate) and are None outside training.
        """
        input_mask = recurrent_mask = None
        if training and self.dropout > 0:
            input_mask = keras.random.dropout(
                ops.ones_like(step_input), rate=self.dropout, seed=self.seed_generator
            )
        if training and self.recurrent_dropout > 0:
            recurrent_mask = keras.random.dropout(
                ops.ones_like(state), rate=self.recurrent_dropout, seed=self.seed_generator
            )
        return input_mask, recurrent_mask

    # ------------------------------------------------------------ cell contract
    def call(self, inputs, states, training=False):
        self.check_features(inputs.shape)
        nested = isinstance(states, (list, tuple))
        states = list(states) if nested else [states]
        input_mask, recurrent_mask = self.get_dropout_masks(inputs, states[0], training)
        if input_mask is not None:
            inputs = inputs * input_mask
        output, new_states = self.recurrent_step(
            self.project_inputs(inputs), states, recurrent_mask
        )
        return output, (new_states if nested else new_states[0])

    def get_initial_state(self, batch_size=None):
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in sizes]

    def get_config(self):
        ser = keras.saving.serialize_keras_object
        config = {
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": ser(self.kernel_initializer),
            "recurrent_initializer": ser(self.recurrent_initializer),
            "bias_initializer": ser(self.bias_initializer),
            "kernel_regularizer": ser(self.kernel_regularizer),
            "recurrent_regularizer": ser(self.recurrent_regularizer),
            "bias_regularizer": ser(self.bias_regularizer),
            "kernel_constraint": ser(self.kernel_constraint),
            "recurrent_constraint": ser(self.recurrent_constraint),
            "bias_constraint": ser(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def _document(cls):
    """Insert the Args shared by every cell into the class docstring."""
    cls.__doc__ = cls.__doc__.replace("    ARGS_PLACEHOLDER\n", _ARGS_DOC)
    return cls


_ARGS_DOC = """
    Args:
        units: Positive integer, size of the hidden state (and of the output).
        activation: Activation of the candidate/hidden state. Default "tanh";
            None means linear.
        use_bias: Whether the cell uses bias vectors. Default True.
        kernel_initializer, recurrent_initializer, bias_initializer:
            Initializers of `kernel`, `recurrent_kernel` and `bias`
            (defaults "glorot_uniform", "orthogonal", "zeros").
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Optional regularizers of the three weights.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Optional constraints of the three weights.
        dropout: Fraction in [0, 1) of the input units to drop (training only).
        recurrent_dropout: Fraction in [0, 1) of the state units to drop in the
            recurrent product (training only).
        seed: Random seed of the dropout masks.
"""


@keras.saving.register_keras_serializable(package="zoo")
@_document
class SimpleRNNCell(_ZooCell):
    """The basic recurrent cell: a<t> = g(Waa a<t-1> + Wax x<t> + ba).

    `kernel` is Wax (features, units), `recurrent_kernel` is Waa (units, units),
    `bias` is ba (units,); g is `activation`. The output is the new state.
    ARGS_PLACEHOLDER
    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [a<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = SimpleRNNCell(4)
        >>> layer = zoo.layers.RNN(cell)   # (2, 10, 8) -> (2, 4)
    """

    _gates = 1

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        (recurrent_kernel,) = weights or self.recurrent_weights()
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        h = self.activation(projected + ops.matmul(h_in, recurrent_kernel))
        return (h, [h], ()) if return_gates else (h, [h])


@keras.saving.register_keras_serializable(package="zoo")
@_document
class GRUCell(_ZooCell):
    """Gated recurrent unit cell (Cho et al. 2014), gate order z, r, h.

    z = σ(x Wz + h Uz + b), r = σ(x Wr + h Ur + b),
    reset_after=True:  h~ = g(x Wh + bx_h + r * (h Uh + bh_h))
    reset_after=False: h~ = g(x Wh + (r * h) Uh + b_h)
    h' = z * h + (1 - z) * h~
    ARGS_PLACEHOLDER
        recurrent_activation: Activation of the gates. Default "sigmoid".
        reset_after: Apply the reset gate after the recurrent product (True,
            the default and cuDNN convention; bias shape (2, 3 * units)) or
            before it (False; bias shape (3 * units,)).

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = GRUCell(4, reset_after=False)
        >>> layer = zoo.layers.RNN(cell, return_sequences=True)  # (2, 10, 8) -> (2, 10, 4)
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None, **kwargs):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        kwargs.pop("implementation", None)  # Keras-only option, no effect here
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs,
        )
        self.recurrent_activation = recurrent_activation_fn
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    def recurrent_weights(self):
        kernel = ops.convert_to_tensor(self.recurrent_kernel)
        if self.reset_after:
            return kernel, (ops.convert_to_tensor(self.bias)[1] if self.use_bias else None)
        return tuple(ops.split(kernel, [2 * self.units], axis=-1))

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        weights = weights or self.recurrent_weights()
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        if self.reset_after:
            recurrent_kernel, recurrent_bias = weights
            rec = ops.matmul(h_in, recurrent_kernel)
            if recurrent_bias is not None:
                rec = rec + recurrent_bias
            rec_z, rec_r, rec_h = ops.split(rec, 3, axis=-1)
            z = self.recurrent_activation(x_z + rec_z)
            r = self.recurrent_activation(x_r + rec_r)
            candidate = self.activation(x_h + r * rec_h)
            gates = (z, r, candidate, rec_h)
        else:
            kernel_zr, kernel_h = weights
            rec_z, rec_r = ops.split(ops.matmul(h_in, kernel_zr), 2, axis=-1)
            z = self.recurrent_activation(x_z + rec_z)
            r = self.recurrent_activation(x_r + rec_r)
            candidate = self.activation(x_h + ops.matmul(r * h_in, kernel_h))
            gates = (z, r, candidate)
        h = z * h_prev + (1.0 - z) * candidate
        return (h, [h], gates) if return_gates else (h, [h])

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="zoo")
@_document
class LSTMCell(_ZooCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997), gates i, f, c, o.

    i, f, o = σ(x W + h U + b) for each gate, c~ = g(x Wc + h Uc + bc),
    c' = f * c + i * c~, h' = o * g(c'). The output is h'; the states are [h', c'].
    ARGS_PLACEHOLDER
        recurrent_activation: Activation of the gates. Default "sigmoid".
        unit_forget_bias: Add 1 to the forget-gate bias at initialization
            (the rest of the bias uses `bias_initializer`). Default True.

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>, c<t-1>], each (batch, units).
        training: Whether dropout is active.

    Returns:
        (output, [h, c]), each (batch, units).

    Example:
        >>> cell = LSTMCell(4)
        >>> h, (h, c) = cell(x_t, cell.get_initial_state(2))   # x_t: (2, 8) -> h: (2, 4)
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        kwargs.pop("implementation", None)  # Keras-only option, no effect here
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs,
        )
        self.recurrent_activation = recurrent_activation_fn
        self.unit_forget_bias = unit_forget_bias
        self.state_size = [units, units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def initializer(shape, dtype=None):
            return ops.concatenate([
                base((units,), dtype=dtype),
                ops.ones((units,), dtype=dtype),
                base((2 * units,), dtype=dtype),
            ])

        return initializer

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        (recurrent_kernel,) = weights or self.recurrent_weights()
        h_prev, c_prev = states[0], states[1]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        z = projected + ops.matmul(h_in, recurrent_kernel)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        candidate = self.activation(z_c)
        o = self.recurrent_activation(z_o)
        c = f * c_prev + i * candidate
        c_activated = self.activation(c)
        h = o * c_activated
        return (h, [h, c], (i, f, candidate, o, c_activated)) if return_gates else (h, [h, c])

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }
        return {**super().get_config(), **config}

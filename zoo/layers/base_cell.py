"""`RecurrentCell`: the public base class of the zoo cells, and the cell protocol.

Every zoo cell (`zoo.layers.simple_rnn.SimpleRNNCell`, `zoo.layers.gru.GRUCell`,
`zoo.layers.lstm.LSTMCell`) follows Keras's cell contract (`state_size`,
`output_size`, `build`, `call(x_t, states, training)`, `get_initial_state`)
and keeps Keras's weight layout, so weights transfer both ways with
`set_weights(keras_cell.get_weights())`:

- `kernel`: (features, k * units), `recurrent_kernel`: (units, k * units)
- gate order: SimpleRNN k=1; GRU k=3 (z, r, h); LSTM k=4 (i, f, c, o)
- `bias`: (k * units,), except GRU with `reset_after=True`: (2, 3 * units)
  (row 0 for the input projection, row 1 for the recurrent one).

Besides the per-step `call`, every cell exposes the two halves of a step,
which `zoo.layers.RNN` uses to run a whole sequence:

- `project_inputs(x, weights=None)`: x @ kernel + input bias for any leading
  shape, so the layer can project all timesteps with one large matrix product
  before the loop (its choice on GPUs) or one step at a time inside it;
- `recurrent_step(x_proj_t, states, recurrent_mask=None, weights=None)`: the
  rest of a step, with all gates in one recurrent matrix product; `weights`
  is `recurrent_weights()`, gathered once before the loop (on TensorFlow
  `convert_to_tensor` keeps a whole variable a variable, read where it is
  used; forcing one read before the loop measured no difference).
  With `return_gates=True` it also returns the activated gates, which the
  cell's own `backward_step` reuses in the hand-written backward pass
  driven by `zoo.layers.fused`.

`call` is exactly `recurrent_step(project_inputs(x_t), states)`, so every
path shares one implementation of the equations.
"""

import keras
from keras import ops

from zoo._checks import check_choice, check_rate, check_units, get_activation

__all__ = ["RecurrentCell", "document_cell", "check_implementation", "IMPLEMENTATIONS"]

# Keras's values of `implementation` (GRUCell, LSTMCell): 1 computes the
# gates with separate matrix products, 2 with one; the results are the same.
# 0 is Keras 2's legacy value, still found in saved configs; Keras 3 loads it
# (and computes as with 1), so the zoo layers accept it too.
IMPLEMENTATIONS = (0, 1, 2)


def check_implementation(value):
    """Validate Keras's `implementation` argument (1 or 2)."""
    if isinstance(value, bool):
        raise ValueError(
            f"`implementation` must be one of {list(IMPLEMENTATIONS)}. "
            f"Received: implementation={value!r}")
    return check_choice("implementation", value, IMPLEMENTATIONS)


class RecurrentCell(keras.layers.Layer):
    """Base class of the zoo cells: constructor, weights, dropout masks, config
    and the cell protocol that `zoo.layers.RNN` and `zoo.layers.fused` use.

    A subclass sets `_gates` (k, the number of gate blocks in the kernels) and
    implements `recurrent_step`; to train with the hand-written backward pass
    it also implements `supports_fused_gradient` and `backward_step` (and,
    where they differ from the defaults, `fused_gate_count`,
    `fused_separate_recurrent_gradient` and `recurrent_weight_gradients`).
    Nothing outside the subclass's own module needs to change for a new cell.

    The protocol (all tensors (batch, ...), sequences time-major):

    - `input_weights()` -> (kernel, input bias or None), read once per sequence;
    - `project_inputs(x, weights)` -> x @ kernel + input bias, shape (..., k * units);
    - `recurrent_weights()` -> tuple of tensors a step needs; its first entry
      is the recurrent kernel (units, k * units);
    - `recurrent_step(projected, states, recurrent_mask, weights, return_gates)`
      -> (output, new_states[, gates]); the output is the first new state;
    - `get_dropout_masks(step_input, state, training)` -> (input mask, recurrent mask);
    - `check_features(shape)`: ValueError if the feature size changed after build.
    - Fused gradient: `supports_fused_gradient()`, `fused_gate_count`,
      `fused_separate_recurrent_gradient`, `backward_step(...)` and
      `recurrent_weight_gradients(...)` (see their docstrings).

    Args: see `SimpleRNNCell` (every zoo cell takes these).
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

    def _recurrent_kernel_shape(self):
        """Shape of `recurrent_kernel`, or None for a cell that has none."""
        return (self.units, self._gates * self.units)

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
        recurrent_shape = self._recurrent_kernel_shape()
        if recurrent_shape is None:  # a cell without recurrent weights (MinGRU, MinLSTM)
            self.recurrent_kernel = None
        else:
            self.recurrent_kernel = self.add_weight(
                shape=recurrent_shape,
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

    # --------------------------------------------- hand-written backward pass
    def supports_fused_gradient(self):
        """Whether this cell, with its options (activations, variants), has a
        hand-written `backward_step`. The base class has none."""
        return False

    @property
    def fused_gate_count(self):
        """How many (batch, units) tensors `recurrent_step(return_gates=True)`
        returns; a cell with none gets its new output h<t> as `gates`."""
        return 0

    @property
    def fused_separate_recurrent_gradient(self):
        """Whether `backward_step`'s `d_recurrent` differs from `d_projected`
        (then the driver collects both)."""
        return False

    def backward_step(self, d_states, gates, previous, kernel_t):
        """Gradients of one step: (d_projected, d_recurrent, d_previous_states).

        Args:
            d_states: gradients of the loss with respect to the new states.
            gates: what the forward `recurrent_step(return_gates=True)` stored
                (or `(h<t>,)` when `fused_gate_count` is 0).
            previous: the states before the step.
            kernel_t: the transposed recurrent kernel (k * units, units).

        Returns:
            `d_projected` (batch, k * units), the gradient of the projected
            inputs; `d_recurrent`, that of the recurrent pre-activation
            h<t-1> U (+ b) (`d_projected` itself unless
            `fused_separate_recurrent_gradient`); the list of the gradients
            of the previous states.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no hand-written backward step "
            "(supports_fused_gradient() is False).")

    def recurrent_weight_gradients(self, h_previous, d_recurrent):
        """Gradients of `recurrent_weights()` from all timesteps at once:
        `h_previous` (timesteps * batch, units) and `d_recurrent`
        (timesteps * batch, k * units). Default: the recurrent kernel only."""
        return (ops.matmul(ops.transpose(h_previous), d_recurrent),)

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


def document_cell(cls):
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

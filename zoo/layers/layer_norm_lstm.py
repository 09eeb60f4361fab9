"""The layer-normalised LSTM, cell and layer: `LayerNormLSTMCell` and
`LayerNormLSTM` (Ba, Kiros & Hinton, "Layer Normalization", 2016, section
"Layer normalized recurrent neural networks", the LSTM equations).

    (i, f, c~, o) = LN(x<t> W; γx, βx) + LN(h<t-1> U; γh, βh) + b
    c<t> = σ(f) ⊙ c<t-1> + σ(i) ⊙ g(c~)
    h<t> = σ(o) ⊙ g(LN(c<t>; γc, βc))

with LN(v; γ, β) = γ ⊙ (v - mean(v)) / sqrt(var(v) + ε) + β, the mean and
variance taken over the last axis. As the paper writes it, each product is
normalised over its whole 4 * units pre-activation vector (all four gates
together), and the cell state over its `units`.

Shapes are (batch, timesteps, features) for the layer and (batch, features)
for one step of the cell.
"""

import keras
from keras import ops

from zoo.layers.base_cell import document_cell
from zoo.layers.base_layer import CellLayer, document_layer, proxy_cell_args
from zoo.layers.lstm import LSTMCell

__all__ = ["LayerNormLSTMCell", "LayerNormLSTM", "layer_norm"]


def layer_norm(v, gamma, beta, epsilon):
    """γ ⊙ (v - mean(v)) / sqrt(var(v) + ε) + β over the last axis of v (any
    leading shape, so a whole projected sequence is normalised step by step).
    16-bit inputs are normalised in float32, as `keras.layers.LayerNormalization`
    does: the squares of a cell state that has grown over many steps overflow
    float16."""
    dtype = keras.backend.standardize_dtype(v.dtype)
    wide = v if dtype not in ("float16", "bfloat16") else ops.cast(v, "float32")
    mean = ops.mean(wide, axis=-1, keepdims=True)
    centred = wide - mean
    variance = ops.mean(ops.square(centred), axis=-1, keepdims=True)
    normalised = ops.cast(centred * ops.rsqrt(variance + epsilon), dtype)
    return gamma * normalised + beta


def _check_epsilon(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(
            f"`norm_epsilon` must be a positive number. Received: norm_epsilon={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="zoo")
@document_cell
class LayerNormLSTMCell(LSTMCell):
    """Layer-normalised LSTM cell (Ba, Kiros & Hinton 2016), gates i, f, c, o.

    (i, f, c~, o) = LN(x W; γx, βx) + LN(h U; γh, βh) + b,
    c' = σ(f) ⊙ c + σ(i) ⊙ g(c~), h' = σ(o) ⊙ g(LN(c'; γc, βc)),
    LN(v; γ, β) = γ ⊙ (v - mean(v)) / sqrt(var(v) + ε) + β over the last axis.

    `kernel` W (features, 4 * units), `recurrent_kernel` U (units, 4 * units)
    and `bias` b (4 * units,) keep the LSTM's (and Keras's) layout, so
    `unit_forget_bias` and `chrono_init` work as in `zoo.cells.LSTMCell`.
    The normalisations add six weights, γ initialised to ones and β to
    zeros: `input_gamma`, `input_beta` (4 * units,) for x W,
    `recurrent_gamma`, `recurrent_beta` (4 * units,) for h U and
    `cell_gamma`, `cell_beta` (units,) for c'. Each product is normalised
    over all four gates at once, as the paper writes the equations.

    The input normalisation is part of `project_inputs` (its `input_weights`
    are (kernel, bias, input_gamma, input_beta)), so `zoo.layers.RNN` can
    still project and normalise all timesteps before the loop. The gradient
    is always the backend's autodiff (`supports_fused_gradient()` is False).
    ARGS_PLACEHOLDER
        recurrent_activation: Activation of the gates (σ). Default "sigmoid".
        unit_forget_bias: Add 1 to the forget-gate bias b_f at
            initialization (the rest of `bias` uses `bias_initializer`).
            Default True; ignored when `chrono_init` is given.
        norm_epsilon: ε of the three normalisations, a positive number.
            Default 1e-3 (as `keras.layers.LayerNormalization`).
        chrono_init: None (the default) or T, the longest dependency
            expected in steps (an integer >= 3): chrono initialisation
            (Tallec & Ollivier 2018, `zoo.layers.chrono`) draws
            b_f ~ log U(1, T - 1) and sets b_i = -b_f; the c and o blocks use
            `bias_initializer` and `unit_forget_bias` adds nothing.
        implementation: (keyword argument) accepted as by `LSTMCell`; it
            does not change the results.

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>, c<t-1>], each (batch, units).
        training: Whether dropout is active.

    Returns:
        (output, [h, c]), each (batch, units).

    Example:
        >>> cell = zoo.cells.LayerNormLSTMCell(4, chrono_init=100)
        >>> h, (h, c) = cell(np.ones((2, 8), "float32"), cell.get_initial_state(2))
        >>> [w.name for w in cell.weights][3:5]   # ['input_gamma', 'input_beta']
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 norm_epsilon=1e-3, chrono_init=None, **kwargs):
        norm_epsilon = _check_epsilon(norm_epsilon)
        super().__init__(
            units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, chrono_init=chrono_init, **kwargs,
        )
        self.norm_epsilon = norm_epsilon

    # ----------------------------------------------------------------- weights
    def build(self, input_shape):
        super().build(input_shape)
        k_units = self._gates * self.units
        for prefix, size in (("input", k_units), ("recurrent", k_units), ("cell", self.units)):
            setattr(self, f"{prefix}_gamma", self.add_weight(
                shape=(size,), name=f"{prefix}_gamma", initializer="ones"))
            setattr(self, f"{prefix}_beta", self.add_weight(
                shape=(size,), name=f"{prefix}_beta", initializer="zeros"))

    def input_weights(self):
        """(kernel, input bias or None, input_gamma, input_beta), read once per sequence."""
        kernel, bias = super().input_weights()
        return (kernel, bias, ops.convert_to_tensor(self.input_gamma),
                ops.convert_to_tensor(self.input_beta))

    def project_inputs(self, inputs, weights=None):
        """LN(inputs @ kernel; γx, βx) + bias, shape (..., 4 * units), on one step
        or a whole sequence (normalised over the last axis, so step by step)."""
        kernel, bias, gamma, beta = weights or self.input_weights()
        projected = layer_norm(ops.matmul(inputs, kernel), gamma, beta, self.norm_epsilon)
        if bias is not None:
            projected = projected + bias
        return projected

    def recurrent_weights(self):
        """(recurrent_kernel, recurrent_gamma, recurrent_beta, cell_gamma, cell_beta)."""
        return tuple(ops.convert_to_tensor(w) for w in (
            self.recurrent_kernel, self.recurrent_gamma, self.recurrent_beta,
            self.cell_gamma, self.cell_beta))

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        kernel, rec_gamma, rec_beta, cell_gamma, cell_beta = weights or self.recurrent_weights()
        h_prev, c_prev = states[0], states[1]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        z = projected + layer_norm(ops.matmul(h_in, kernel), rec_gamma, rec_beta,
                                   self.norm_epsilon)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        candidate = self.activation(z_c)
        o = self.recurrent_activation(z_o)
        c = f * c_prev + i * candidate
        c_activated = self.activation(layer_norm(c, cell_gamma, cell_beta, self.norm_epsilon))
        h = o * c_activated
        return (h, [h, c], (i, f, candidate, o, c_activated)) if return_gates else (h, [h, c])

    # ------------------------------------------------ no hand-written backward
    def supports_fused_gradient(self):
        """No hand-written backward step: the normalisations are differentiated
        by the backend."""
        return False

    def backward_step(self, d_states, gates, previous, kernel_t):
        raise NotImplementedError(
            "LayerNormLSTMCell has no hand-written backward step "
            "(supports_fused_gradient() is False).")

    def get_config(self):
        return {**super().get_config(), "norm_epsilon": self.norm_epsilon}


@keras.saving.register_keras_serializable(package="zoo")
@document_layer
@proxy_cell_args
class LayerNormLSTM(CellLayer):
    """Layer-normalised LSTM layer (Ba, Kiros & Hinton 2016), driven by
    `zoo.cells.LayerNormLSTMCell` (gate order i, f, c, o; see it for the
    equations, the six normalisation weights, `norm_epsilon` and
    `chrono_init`). Not a Keras drop-in: Keras has no such layer, so it has
    no `use_cudnn` or `implementation`; the gradient is always autodiff
    (`gradient="fused"` falls back to it).

    Besides the arguments below it takes `norm_epsilon`, the ε of the three
    layer normalisations (a positive number, default 1e-3), and
    `chrono_init` (None or T, an integer >= 3: chrono initialisation of the
    forget- and input-gate biases, as in `zoo.layers.LSTM`).
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.LayerNormLSTM(4, return_sequences=True, return_state=True)
        >>> seq, h, c = layer(np.zeros((32, 10, 8), "float32"))  # (32, 10, 4), (32, 4), (32, 4)
    """

    _cell_args = CellLayer._cell_args + (
        "recurrent_activation", "unit_forget_bias", "norm_epsilon", "chrono_init")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, input_projection="auto",
                 gradient="auto", norm_epsilon=1e-3, chrono_init=None, **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, norm_epsilon=norm_epsilon,
            chrono_init=chrono_init)
        self._setup(LayerNormLSTMCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name="layer_norm_lstm_cell", **kwargs))

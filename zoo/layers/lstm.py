"""Long short-term memory, cell and layer: `LSTMCell` (forward and backward
step) and `LSTM`.

Shapes are (batch, timesteps, features) for the layer and (batch, features)
for one step of the cell.
"""

import keras
from keras import ops

from zoo._checks import get_activation
from zoo.layers.base_cell import RecurrentCell, check_implementation, document_cell
from zoo.layers.base_layer import CellLayer, check_use_cudnn, document_layer, proxy_cell_args
from zoo.layers.chrono import check_chrono_init, chrono_bias

__all__ = ["LSTMCell", "LSTM"]


@keras.saving.register_keras_serializable(package="zoo")
@document_cell
class LSTMCell(RecurrentCell):
    """Long short-term memory cell (Hochreiter & Schmidhuber 1997), gates i, f, c, o.

    i, f, o = σ(x W + h U + b) for each gate, c~ = g(x Wc + h Uc + bc),
    c' = f * c + i * c~, h' = o * g(c'). The output is h'; the states are [h', c'].
    ARGS_PLACEHOLDER
        recurrent_activation: Activation of the gates. Default "sigmoid".
        unit_forget_bias: Add 1 to the forget-gate bias at initialization
            (the rest of the bias uses `bias_initializer`). Default True;
            ignored when `chrono_init` is given.
        chrono_init: None (the default) or T, the longest dependency
            expected in steps (an integer >= 3): chrono initialisation
            (Tallec & Ollivier 2018, `zoo.layers.chrono`) draws the
            forget-gate bias b_f ~ log U(1, T - 1) and sets the input-gate
            bias to -b_f; the c and o blocks use `bias_initializer` and
            `unit_forget_bias` adds nothing.
        implementation: (keyword argument, as in Keras) 1 or 2 (default);
            0, Keras 2's legacy value found in saved configs, is accepted
            too. Stored and in `get_config`; it does not change the results
            (the cell always uses one matrix product for all gates).

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>, c<t-1>], each (batch, units).
        training: Whether dropout is active.

    Returns:
        (output, [h, c]), each (batch, units).

    Example:
        >>> cell = zoo.cells.LSTMCell(4)
        >>> x_t = np.ones((2, 8), "float32")
        >>> h, (h, c) = cell(x_t, cell.get_initial_state(2))   # h, c: (2, 4)
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 chrono_init=None, **kwargs):
        chrono_init = check_chrono_init(chrono_init, use_bias)
        recurrent_activation_fn = get_activation("recurrent_activation", recurrent_activation)
        implementation = check_implementation(kwargs.pop("implementation", 2))
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
        self.implementation = implementation
        self.chrono_init = chrono_init
        self.state_size = [units, units]

    def _bias_init(self):
        if self.chrono_init is not None:
            # Gate order i, f, c, o: the forget gate keeps c, the input gate writes it.
            return chrono_bias(["write", "keep", None, None], self.units, self.chrono_init,
                               self.bias_initializer, seed=self.seed)
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

    # ------------------------------------------------ hand-written backward
    def supports_fused_gradient(self):
        """tanh activation and sigmoid gates only."""
        return (self.activation is keras.activations.tanh
                and self.recurrent_activation is keras.activations.sigmoid)

    @property
    def fused_gate_count(self):
        return 5  # i, f, candidate g, o, tanh(c)

    def backward_step(self, d_states, gates, previous, kernel_t):
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

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
            "implementation": self.implementation,
            "chrono_init": self.chrono_init,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="zoo")
@document_layer
@proxy_cell_args
class LSTM(CellLayer):
    """Long short-term memory layer, a drop-in for `keras.layers.LSTM`, driven by
    `zoo.cells.LSTMCell` (gate order i, f, c, o).
    LAYER_ARGS
    Example:
        >>> lstm = zoo.layers.LSTM(4, return_sequences=True, return_state=True)
        >>> seq, h, c = lstm(np.zeros((32, 10, 8), "float32"))  # (32, 10, 4), (32, 4), (32, 4)
        >>> zoo.layers.LSTM(4, gradient="autodiff").get_config()["gradient"]   # 'autodiff'
    """

    _cell_args = CellLayer._cell_args + (
        "recurrent_activation", "unit_forget_bias", "implementation", "chrono_init")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto",
                 input_projection="auto", gradient="auto", chrono_init=None, **kwargs):
        self.use_cudnn = check_use_cudnn(use_cudnn)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, chrono_init=chrono_init,
            implementation=kwargs.pop("implementation", 2))
        self._setup(LSTMCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name="lstm_cell", **kwargs))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}

"""The gated recurrent unit and its layer: `GRUCell` (forward step, and the
backward step of the hand-written gradient for `reset_after=True`) and `GRU`.

Shapes are (batch, timesteps, features) for the layer and (batch, features)
for one step of the cell.
"""

import keras
from keras import ops

from zoo._checks import get_activation
from zoo.layers.base_cell import RecurrentCell, check_implementation, document_cell
from zoo.layers.base_layer import CellLayer, check_use_cudnn, document_layer, proxy_cell_args
from zoo.layers.chrono import check_chrono_init, chrono_bias

__all__ = ["GRUCell", "GRU"]


@keras.saving.register_keras_serializable(package="zoo")
@document_cell
class GRUCell(RecurrentCell):
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
        implementation: (keyword argument, as in Keras) 1 or 2 (default);
            0, Keras 2's legacy value found in saved configs, is accepted
            too. Stored and in `get_config`; it does not change the results
            (the cell always uses one matrix product for all gates).
        chrono_init: None (the default) or T, the longest dependency
            expected in steps (an integer >= 3): chrono initialisation
            (Tallec & Ollivier 2018, `zoo.layers.chrono`). z keeps the state
            (h' = z * h + (1 - z) * h~), so its input bias is drawn as
            b_z ~ log U(1, T - 1) (row 0 of the (2, 3 * units) bias with
            `reset_after=True`); every other bias entry, row 1 included,
            uses `bias_initializer`.

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = zoo.cells.GRUCell(4, reset_after=False)
        >>> layer = zoo.layers.RNN(cell, return_sequences=True)
        >>> layer(np.ones((2, 10, 8), "float32")).shape   # (2, 10, 4)
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None,
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
        self.reset_after = bool(reset_after)
        self.implementation = implementation
        self.chrono_init = chrono_init

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _bias_init(self):
        if self.chrono_init is None:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units
        # Gate order z, r, h: z keeps the state.
        row = chrono_bias(["keep", None, None], units, self.chrono_init, base, seed=self.seed)
        if not self.reset_after:
            return row

        def initializer(shape, dtype=None):
            return ops.stack([row((3 * units,), dtype=dtype),
                              base((3 * units,), dtype=dtype)])

        return initializer

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

    # ------------------------------------------------ hand-written backward
    def supports_fused_gradient(self):
        """tanh candidate, sigmoid gates and `reset_after=True` only."""
        return (self.reset_after and self.activation is keras.activations.tanh
                and self.recurrent_activation is keras.activations.sigmoid)

    @property
    def fused_gate_count(self):
        return 4  # z, r, candidate n, recurrent part of the candidate rec_n

    @property
    def fused_separate_recurrent_gradient(self):
        return True  # the reset gate multiplies the recurrent part of n only

    def backward_step(self, d_states, gates, previous, kernel_t):
        # reset_after=True: h = z * h_prev + (1 - z) * n, n = tanh(x_n + r * rec_n)
        (h_grad,), h_prev = d_states, previous[0]
        z, r, n, rec_n = gates
        d_n = h_grad * (1.0 - z) * (1.0 - n * n)
        d_z = h_grad * (h_prev - n) * z * (1.0 - z)
        d_r = d_n * rec_n * r * (1.0 - r)
        d_recurrent = ops.concatenate([d_z, d_r, d_n * r], axis=-1)
        return (ops.concatenate([d_z, d_r, d_n], axis=-1), d_recurrent,
                [h_grad * z + ops.matmul(d_recurrent, kernel_t)])

    def recurrent_weight_gradients(self, h_previous, d_recurrent):
        """The recurrent kernel and the recurrent bias (row 1 of `bias`)."""
        return (ops.matmul(ops.transpose(h_previous), d_recurrent),
                ops.sum(d_recurrent, axis=0))

    def get_config(self):
        config = {
            "recurrent_activation": keras.activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
            "implementation": self.implementation,
            "chrono_init": self.chrono_init,
        }
        return {**super().get_config(), **config}


@keras.saving.register_keras_serializable(package="zoo")
@document_layer
@proxy_cell_args
class GRU(CellLayer):
    """Gated recurrent unit layer, a drop-in for `keras.layers.GRU`, driven by
    `zoo.cells.GRUCell` (gate order z, r, h).
    LAYER_ARGS
    Example:
        >>> gru = zoo.layers.GRU(4, return_sequences=True, return_state=True)
        >>> seq, h = gru(np.zeros((32, 10, 8), "float32"))   # (32, 10, 4), (32, 4)
        >>> zoo.layers.GRU(4, use_cudnn=True)   # ValueError: no cuDNN path
    """

    _cell_args = CellLayer._cell_args + ("recurrent_activation", "reset_after", "implementation",
                                         "chrono_init")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto",
                 input_projection="auto", gradient="auto", chrono_init=None, **kwargs):
        self.use_cudnn = check_use_cudnn(use_cudnn)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed, chrono_init=chrono_init, implementation=kwargs.pop("implementation", 2))
        self._setup(GRUCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name="gru_cell", **kwargs))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}

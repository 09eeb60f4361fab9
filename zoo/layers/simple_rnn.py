"""The basic recurrent cell and its layer: `SimpleRNNCell` (forward and
backward step of a<t> = g(x<t> Wax + a<t-1> Waa + ba)) and `SimpleRNN`.

Shapes are (batch, timesteps, features) for the layer and (batch, features)
for one step of the cell.
"""

import keras
from keras import ops

from zoo.layers.base_cell import RecurrentCell, document_cell
from zoo.layers.base_layer import CellLayer, document_layer, proxy_cell_args

__all__ = ["SimpleRNNCell", "SimpleRNN"]


@keras.saving.register_keras_serializable(package="zoo")
@document_cell
class SimpleRNNCell(RecurrentCell):
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
        >>> cell = zoo.cells.SimpleRNNCell(4)
        >>> x_t = np.ones((2, 8), "float32")
        >>> h, (state,) = cell(x_t, cell.get_initial_state(2))   # h: (2, 4)
        >>> zoo.layers.RNN(cell)(np.ones((2, 10, 8), "float32")).shape   # (2, 4)
    """

    _gates = 1

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        (recurrent_kernel,) = weights or self.recurrent_weights()
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        h = self.activation(projected + ops.matmul(h_in, recurrent_kernel))
        return (h, [h], ()) if return_gates else (h, [h])

    # ------------------------------------------------ hand-written backward
    def supports_fused_gradient(self):
        return self.activation is keras.activations.tanh

    def backward_step(self, d_states, gates, previous, kernel_t):
        # h = tanh(pre): d_pre = dh * (1 - h^2); the gates are (h,).
        (h_grad,), (h,) = d_states, gates
        d_pre = h_grad * (1.0 - h * h)
        return d_pre, d_pre, [ops.matmul(d_pre, kernel_t)]


@keras.saving.register_keras_serializable(package="zoo")
@document_layer
@proxy_cell_args
class SimpleRNN(CellLayer):
    """Fully connected RNN, a drop-in for `keras.layers.SimpleRNN`:
    a<t> = activation(x<t> Wax + a<t-1> Waa + ba), driven by `zoo.cells.SimpleRNNCell`.
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.SimpleRNN(4, return_sequences=True)
        >>> layer(np.zeros((32, 10, 8), "float32")).shape     # (32, 10, 4)
        >>> fused = zoo.layers.SimpleRNN(4, gradient="fused", input_projection="hoisted")
        >>> fused(np.zeros((32, 10, 8), "float32")).shape      # (32, 4)
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None,
                 input_projection="auto", gradient="auto", **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        self._setup(SimpleRNNCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name="simple_rnn_cell", **kwargs))

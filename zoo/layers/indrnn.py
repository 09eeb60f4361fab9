"""The independently recurrent cell and its layer: `IndRNNCell` and `IndRNN`
(Li et al., "Independently Recurrent Neural Network (IndRNN): Building A Longer
and Deeper RNN", CVPR 2018).

    h<t> = g(x<t> W + u ⊙ h<t-1> + b)

Each unit has one recurrent weight (`recurrent_kernel` is a vector u of shape
(units,)), so a unit's gradient through time is a product of scalars u·g'. The
paper keeps it from exploding over T steps by holding |u| below
``MAG ** (1 / T)`` (MAG = 2 with relu; relu' is 0 or 1, so a product of T
factors stays below MAG): `max_length=T` sets that bound, the
initial range U(0, bound) and a constraint that clips u to [-bound, bound]
after every update, as the authors' code does.

Shapes are (batch, timesteps, features) for the layer and (batch, features)
for one step of the cell.
"""

import keras
from keras import ops

from zoo._checks import check_units, get_activation
from zoo.layers.base_cell import RecurrentCell, document_cell
from zoo.layers.base_layer import CellLayer, document_layer, proxy_cell_args

__all__ = ["IndRNNCell", "IndRNN", "RecurrentClip", "recurrent_bound"]

# The factor the gradient of one unit may grow or shrink by over the whole sequence
# (the paper's γ; its adding-problem code calls it MAG and uses 2).
MAGNITUDE = 2.0


def recurrent_bound(max_length, activation="relu", magnitude=MAGNITUDE):
    """The largest |u| for a sequence of ``max_length`` steps: ``magnitude ** (1 / T)``
    for relu; for tanh, whose derivative is below 1, the authors' code allows
    ``(magnitude / 0.9 ** (T / 10)) ** (1 / T)``."""
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            f"`max_length` must be a positive integer (the longest sequence, in steps). "
            f"Received: max_length={max_length!r}")
    if activation == "tanh":
        return float((magnitude / 0.9 ** (max_length / 10.0)) ** (1.0 / max_length))
    return float(magnitude ** (1.0 / max_length))


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentClip(keras.constraints.Constraint):
    """Clips every entry of a weight to [-max_abs, max_abs] (IndRNN's constraint on
    its recurrent weights; Keras's MaxNorm bounds a norm, not each entry)."""

    def __init__(self, max_abs):
        if isinstance(max_abs, bool) or not isinstance(max_abs, (int, float)) or max_abs <= 0:
            raise ValueError(f"`max_abs` must be a positive number. Received: max_abs={max_abs!r}")
        self.max_abs = float(max_abs)

    def __call__(self, w):
        return ops.clip(w, -self.max_abs, self.max_abs)

    def get_config(self):
        return {"max_abs": self.max_abs}


@keras.saving.register_keras_serializable(package="zoo")
@document_cell
class IndRNNCell(RecurrentCell):
    """Independently recurrent cell (Li et al. 2018): h<t> = g(x<t> W + u ⊙ h<t-1> + b).

    `kernel` is W (features, units), `recurrent_kernel` is u (units,), one weight
    per unit, and `bias` is b (units,); g is `activation` (relu by default, as
    in the paper). The output is the new state. Where the shared Args below
    say otherwise, IndRNN's own defaults hold: `activation` "relu",
    `recurrent_initializer` U(0, 1) (U(0, bound) with `max_length`), and
    `recurrent_kernel` is the vector u, of shape (units,).
    ARGS_PLACEHOLDER
        max_length: The longest sequence the cell should carry a gradient
            across, in steps (the paper's T), or None (the default). When
            given, |u| is bounded by `recurrent_max_abs` (default
            `recurrent_bound(max_length, activation)`, 2 ** (1 / T) for
            relu): u starts in U(0, bound) unless `recurrent_initializer`
            is given, and is clipped to [-bound, bound] after every update
            unless `recurrent_constraint` is given.
        recurrent_max_abs: The bound itself, overriding the one computed
            from `max_length` (a positive number, or None).
        The default `recurrent_initializer` without a bound is U(0, 1).

    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = zoo.cells.IndRNNCell(4, max_length=1000)
        >>> round(cell.recurrent_max_abs, 6)   # 2 ** (1 / 1000)
        1.000693
        >>> zoo.layers.RNN(cell)(np.ones((2, 10, 8), "float32")).shape   # (2, 4)
    """

    _gates = 1

    def __init__(self, units, activation="relu", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer=None,
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 max_length=None, recurrent_max_abs=None, **kwargs):
        check_units(units)
        if max_length is not None and recurrent_max_abs is None:
            name = activation if isinstance(activation, str) else getattr(
                get_activation("activation", activation), "__name__", None)
            recurrent_max_abs = recurrent_bound(max_length, name)
        elif max_length is not None:
            recurrent_bound(max_length)  # the same check of max_length
        if recurrent_max_abs is not None:
            if isinstance(recurrent_max_abs, bool) or not isinstance(
                    recurrent_max_abs, (int, float)) or recurrent_max_abs <= 0:
                raise ValueError(
                    "`recurrent_max_abs` must be a positive number (the bound on |u|). "
                    f"Received: recurrent_max_abs={recurrent_max_abs!r}")
            recurrent_max_abs = float(recurrent_max_abs)
        if recurrent_initializer is None:
            recurrent_initializer = keras.initializers.RandomUniform(
                0.0, 1.0 if recurrent_max_abs is None else recurrent_max_abs, seed=seed)
        if recurrent_constraint is None and recurrent_max_abs is not None:
            recurrent_constraint = RecurrentClip(recurrent_max_abs)
        super().__init__(
            units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs,
        )
        self.max_length = max_length
        self.recurrent_max_abs = recurrent_max_abs

    def _recurrent_kernel_shape(self):
        return (self.units,)  # one recurrent weight per unit

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        (recurrent_kernel,) = weights or self.recurrent_weights()
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        h = self.activation(projected + recurrent_kernel * h_in)
        return (h, [h], ()) if return_gates else (h, [h])

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length,
                "recurrent_max_abs": self.recurrent_max_abs}


@keras.saving.register_keras_serializable(package="zoo")
@document_layer
@proxy_cell_args
class IndRNN(CellLayer):
    """Independently recurrent layer (Li et al. 2018): h<t> = g(x<t> W + u ⊙ h<t-1> + b),
    driven by `zoo.cells.IndRNNCell` (see it for `max_length` and
    `recurrent_max_abs`). Where the shared Args below say otherwise, IndRNN's
    own defaults hold: `activation` "relu", `recurrent_initializer` U(0, 1)
    (U(0, bound) with `max_length`), `kernel` (features, units) and
    `recurrent_kernel` the vector u, of shape (units,).
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.IndRNN(4, max_length=500, return_sequences=True)
        >>> layer(np.zeros((32, 10, 8), "float32")).shape     # (32, 10, 4)
    """

    _cell_args = CellLayer._cell_args + ("max_length", "recurrent_max_abs")

    def __init__(self, units, activation="relu", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer=None,
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None,
                 max_length=None, recurrent_max_abs=None, input_projection="auto",
                 gradient="auto", **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, max_length=max_length,
            recurrent_max_abs=recurrent_max_abs)
        self._setup(IndRNNCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name="ind_rnn_cell", **kwargs))

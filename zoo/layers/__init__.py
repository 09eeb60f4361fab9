"""The zoo recurrent layers: drop-in replacements for Keras's recurrent layers.

- `RNN` runs any zoo cell, any cell that follows Keras's cell contract, or a
  list of cells (a deep stack) over time.
- `SimpleRNN`, `GRU` and `LSTM` take every constructor and call argument of
  `keras.layers.SimpleRNN/GRU/LSTM`, keep Keras's weight layout (weights
  transfer both ways with `set_weights`) and give the same numbers.

Shapes are (batch, timesteps, features). Masks are (batch, timesteps): at a
masked step the states are carried over and the output repeats the previous
output (zeros with `zero_output_for_mask=True`, and before the first unmasked step).
"""

import keras

from zoo import cells as zoo_cells
from zoo.layers.rnn import RNN

__all__ = ["RNN", "SimpleRNN", "GRU", "LSTM"]

_COMMON_ARGS = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
    "recurrent_dropout", "seed",
)

_LAYER_DOC = """
    Args:
        units: Positive integer, size of the hidden state and of the output.
        activation: Activation of the hidden/candidate state ("tanh"; None = linear).
        recurrent_activation: (GRU, LSTM) activation of the gates ("sigmoid").
        use_bias: Whether to use bias vectors.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers
            of `kernel` (features, k*units), `recurrent_kernel` (units, k*units)
            and `bias`.
        unit_forget_bias: (LSTM) add 1 to the forget-gate bias at initialization.
        kernel_regularizer, recurrent_regularizer, bias_regularizer,
        activity_regularizer: Optional regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Optional constraints.
        dropout: Fraction in [0, 1) of input units dropped in training (one mask
            per sequence).
        recurrent_dropout: Fraction in [0, 1) of state units dropped in the
            recurrent product in training (one mask per sequence).
        seed: Random seed of the dropout masks.
        reset_after: (GRU) reset gate after the recurrent product (True, bias
            (2, 3*units)) or before it (False, bias (3*units,)).
        return_sequences: Return all outputs (batch, timesteps, units) instead of
            the last output (batch, units).
        return_state: Also return the final states.
        go_backwards: Process the sequence in reverse (outputs in processing order).
        stateful: Carry final states to the next batch (fixed batch size needed;
            `reset_state()` zeros them).
        unroll: Unroll the time loop (fixed number of timesteps needed).
        zero_output_for_mask: Zeros instead of the previous output at masked steps.
        use_cudnn: (GRU, LSTM) accepted for compatibility with Keras; the zoo
            layers always run their own loop.

    Call arguments:
        sequences: (batch, timesteps, features) floating-point inputs.
        mask: Optional (batch, timesteps) boolean mask (from `Embedding(mask_zero=True)`
            or `Masking`): masked steps leave the states unchanged and repeat the
            previous output; a fully masked row returns zeros and its initial states.
        training: Whether dropout is active.
        initial_state: Optional list of initial states, each (batch, units).

    Returns:
        Output (batch, timesteps, units) or (batch, units), then the final
        states if `return_state` (SimpleRNN, GRU: [h]; LSTM: [h, c]).
"""


def _document(cls):
    cls.__doc__ = cls.__doc__.replace("    LAYER_ARGS\n", _LAYER_DOC)
    return cls


def _check_use_cudnn(use_cudnn):
    if use_cudnn not in ("auto", True, False):
        raise ValueError(
            f"`use_cudnn` must be one of 'auto', True, False. Received: use_cudnn={use_cudnn!r}"
        )
    return use_cudnn


class _CellLayer(RNN):
    """An RNN over one zoo cell whose arguments are also layer attributes."""

    _cell_args = _COMMON_ARGS

    def _setup(self, cell_class, cell_kwargs, layer_kwargs):
        cell_name = layer_kwargs.pop("cell_name")
        cell = cell_class(
            **cell_kwargs,
            dtype=layer_kwargs.get("dtype"),
            trainable=layer_kwargs.get("trainable", True),
            name=cell_name,
        )
        super().__init__(cell, **layer_kwargs)

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        config.update({name: cell_config[name] for name in self._cell_args})
        config["activity_regularizer"] = keras.saving.serialize_keras_object(
            self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


def _proxy(name):
    return property(lambda self: getattr(self.cell, name), doc=f"The cell's `{name}`.")


@keras.saving.register_keras_serializable(package="zoo")
@_document
class SimpleRNN(_CellLayer):
    """Fully connected RNN, a drop-in for `keras.layers.SimpleRNN`:
    a<t> = activation(x<t> Wax + a<t-1> Waa + ba), driven by `zoo.cells.SimpleRNNCell`.
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.SimpleRNN(4, return_sequences=True)
        >>> layer(np.zeros((32, 10, 8), "float32")).shape     # (32, 10, 4)
    """

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, seed=None, **kwargs):
        cell_kwargs = dict(
            units=units, activation=activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        self._setup(zoo_cells.SimpleRNNCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, cell_name="simple_rnn_cell", **kwargs))


@keras.saving.register_keras_serializable(package="zoo")
@_document
class GRU(_CellLayer):
    """Gated recurrent unit layer, a drop-in for `keras.layers.GRU`, driven by
    `zoo.cells.GRUCell` (gate order z, r, h).
    LAYER_ARGS
    Example:
        >>> gru = zoo.layers.GRU(4, return_sequences=True, return_state=True)
        >>> seq, h = gru(np.zeros((32, 10, 8), "float32"))   # (32, 10, 4), (32, 4)
    """

    _cell_args = _COMMON_ARGS + ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, reset_after=True, use_cudnn="auto", **kwargs):
        kwargs.pop("implementation", None)
        self.use_cudnn = _check_use_cudnn(use_cudnn)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, reset_after=reset_after,
            seed=seed)
        self._setup(zoo_cells.GRUCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, cell_name="gru_cell", **kwargs))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


@keras.saving.register_keras_serializable(package="zoo")
@_document
class LSTM(_CellLayer):
    """Long short-term memory layer, a drop-in for `keras.layers.LSTM`, driven by
    `zoo.cells.LSTMCell` (gate order i, f, c, o).
    LAYER_ARGS
    Example:
        >>> lstm = zoo.layers.LSTM(4, return_sequences=True, return_state=True)
        >>> seq, h, c = lstm(np.zeros((32, 10, 8), "float32"))  # (32, 10, 4), (32, 4), (32, 4)
    """

    _cell_args = _COMMON_ARGS + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias=True, kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, use_cudnn="auto", **kwargs):
        kwargs.pop("implementation", None)
        self.use_cudnn = _check_use_cudnn(use_cudnn)
        cell_kwargs = dict(
            units=units, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed)
        self._setup(zoo_cells.LSTMCell, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, cell_name="lstm_cell", **kwargs))

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


for _layer in (SimpleRNN, GRU, LSTM):
    for _name in _layer._cell_args:
        setattr(_layer, _name, _proxy(_name))
del _layer, _name

"""`CellLayer`: the shared base of `SimpleRNN`, `GRU` and `LSTM` (an `RNN` over
one zoo cell whose constructor arguments are also layer attributes), and the
documentation those layers share.

Shapes are (batch, timesteps, features). Masks are (batch, timesteps): at a
masked step the states are carried over and the output repeats the previous
output (zeros with `zero_output_for_mask=True`; before a row's first unmasked
step, zeros on TensorFlow and the first initial state on JAX, as in Keras).
"""

import keras

from zoo.layers.rnn import RNN

__all__ = ["CellLayer", "COMMON_CELL_ARGS", "check_use_cudnn", "document_layer",
           "proxy_cell_args"]

COMMON_CELL_ARGS = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
    "recurrent_dropout", "seed",
)

USE_CUDNN = ("auto", True, False)

_LAYER_DOC = """
    Args:
        units: Positive integer, size of the hidden state and of the output.
        activation: Activation of the hidden/candidate state ("tanh"; None = linear).
        recurrent_activation: (GRU, LSTM) activation of the gates ("sigmoid").
        use_bias: Whether to use bias vectors.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers
            of `kernel` (features, k*units), `recurrent_kernel` (units, k*units)
            and `bias`.
        unit_forget_bias: (LSTM) add 1 to the forget-gate bias at initialization
            (not with `chrono_init`).
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
        use_cudnn: (GRU, LSTM) as in Keras, one of "auto" (the default), True
            or False. The zoo layers have no cuDNN path and always run their
            own loop: "auto" and False run it, True raises a ValueError at
            construction (Keras raises where cuDNN cannot be used).
        implementation: (GRU, LSTM; keyword argument, as in Keras) 1 or 2
            (the default; 0, Keras 2's legacy value, is accepted). Stored
            and returned by `get_config`; as in Keras 3 it does not change
            the results, and the zoo cells always compute all gates with one
            matrix product (Keras's implementation 2).
        input_projection: Where the zoo cells project their inputs: "hoisted"
            (all timesteps in one matrix product before the loop), "per_step"
            (inside the loop) or "auto" (the default: hoisted on GPU/TPU, per
            step on CPU, where each measured faster).
        gradient: How the layer is differentiated while training: "fused"
            (the hand-written backward pass of `zoo.layers.fused` wherever the
            cell and options allow it), "autodiff" (the backend differentiates
            the loop; needed for second derivatives) or "auto" (the default:
            fused under XLA, i.e. on JAX and in TensorFlow `jit_compile=True`
            functions, where it measured faster; autodiff otherwise).

        chrono_init: (GRU, LSTM) None (the default) or T, an integer >= 3:
            chrono initialisation of the bias of the gate that keeps the
            state, b ~ log U(1, T - 1) (LSTM: forget gate, and -b for the
            input gate; GRU: z in the input bias); see the cell.

    Call arguments:
        sequences: (batch, timesteps, features) floating-point inputs
            (integer inputs are cast to the compute dtype, as in Keras).
        mask: Optional (batch, timesteps) boolean mask (from `Embedding(mask_zero=True)`
            or `Masking`): masked steps leave the states unchanged and repeat the
            previous output. Before a row's first unmasked step (in processing
            order, so the last steps with `go_backwards`) the output is zeros on
            TensorFlow and the first initial state on JAX, as Keras gives on
            each backend (zeros on both with `unroll=True`, and wherever the
            initial state is zeros); a fully masked row returns its initial states.
        training: Whether dropout is active.
        initial_state: Optional list of initial states, each (batch, units).

    Returns:
        Output (batch, timesteps, units) or (batch, units), then the final
        states if `return_state` (SimpleRNN, GRU: [h]; LSTM: [h, c]).
"""


def document_layer(cls):
    """Insert the Args shared by the layers into the class docstring."""
    cls.__doc__ = cls.__doc__.replace("    LAYER_ARGS\n", _LAYER_DOC)
    return cls


def check_use_cudnn(use_cudnn):
    """Keras's `use_cudnn` values; True raises, as the zoo layers have no cuDNN path."""
    if isinstance(use_cudnn, str) and use_cudnn == "auto" or use_cudnn is False:
        return use_cudnn
    if use_cudnn is True:
        raise ValueError(
            "`use_cudnn=True` was given, but the zoo layers have no cuDNN implementation "
            "(they always run their own loop). Pass use_cudnn='auto' or False, or use "
            "keras.layers.GRU/LSTM for cuDNN. Received: use_cudnn=True")
    raise ValueError(
        f"`use_cudnn` must be one of {list(USE_CUDNN)}. Received: use_cudnn={use_cudnn!r}")


class CellLayer(RNN):
    """An `RNN` over one zoo cell whose arguments are also layer attributes
    (the base of `SimpleRNN`, `GRU` and `LSTM`; see those for the arguments)."""

    _cell_args = COMMON_CELL_ARGS

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


def proxy_cell_args(cls):
    """Class decorator: each of `cls._cell_args` becomes a read-only attribute
    that reads the cell's (as Keras's layers expose their cell's arguments)."""
    for name in cls._cell_args:
        setattr(cls, name, property(lambda self, name=name: getattr(self.cell, name),
                                    doc=f"The cell's `{name}`."))
    return cls

"""`RNN`: the zoo layer that runs any recurrent cell (or a stack of cells) over time.

Shapes are (batch, timesteps, features) everywhere. For zoo cells the layer
reads the weights once, then runs `cell.project_inputs` (for all timesteps
before the loop, or inside it; see `RNN.input_projection`) and
`cell.recurrent_step` in the shared time loop of `zoo.layers.loop`; any other cell
that follows Keras's cell contract is stepped with its `call`. A stack of
cells runs one cell at a time over the whole sequence, which gives the same
results as stepping the stack (masked steps never reach a state).
"""

import inspect

import keras
from keras import ops

from zoo._checks import check_choice
from zoo.layers.base_cell import RecurrentCell
from zoo.layers.fused import fused_time_loop, supports_fused_gradient
from zoo.layers.loop import compiled_by_xla, time_loop

__all__ = ["RNN", "INPUT_PROJECTIONS", "GRADIENTS"]

# The values of `RNN(input_projection=...)` and `RNN(gradient=...)`.
INPUT_PROJECTIONS = ("auto", "hoisted", "per_step")
GRADIENTS = ("auto", "fused", "autodiff")


_ACCELERATOR = []


def _accelerator_present():
    """Whether Keras sees a GPU or TPU (cached after the first call)."""
    if not _ACCELERATOR:
        devices = keras.distribution.list_devices()
        _ACCELERATOR.append(any(not d.lower().startswith("cpu") for d in devices))
    return _ACCELERATOR[0]


class _StateStore:
    """Holds a stateful layer's state variables outside Keras's weight tracking
    (like Keras's own recurrent layers: states are not weights and are not saved)."""

    def __init__(self, variables):
        self.variables = variables


def _sizes(state_size):
    return list(state_size) if isinstance(state_size, (list, tuple)) else [state_size]


def _is_integer_dtype(dtype):
    return dtype.startswith(("int", "uint"))


def _shape_str(shape):
    return str(tuple(shape))


@keras.saving.register_keras_serializable(package="zoo")
class RNN(keras.layers.Layer):
    """Runs a recurrent cell (or a stack of cells) over a sequence.

    Works with the zoo cells (their weights gathered once per call, the input
    projection hoisted out of the loop on GPU/TPU, see `input_projection`; a
    hand-written backward pass when training under XLA, see `gradient`) and
    with any cell that follows Keras's cell contract (`call(x_t, states)`,
    `state_size`, optional `output_size` and `get_initial_state`). Behaves like
    `keras.layers.RNN`.

    Args:
        cell: A cell, or a list of cells (a deep stack: each cell reads the
            outputs of the previous one; wrapped in `keras.layers.StackedRNNCells`).
        return_sequences: Return the outputs of all timesteps
            (batch, timesteps, units) instead of the last one (batch, units).
        return_state: Also return the final states.
        go_backwards: Process the sequence in reverse; with `return_sequences`
            the outputs come in processing order (reversed), as in Keras.
        stateful: Carry the final states of a batch over as the initial states
            of the next batch (needs a fixed batch size; `reset_state()` zeros them).
        unroll: Unroll the time loop in Python (needs a fixed number of timesteps).
        zero_output_for_mask: Output zeros at masked timesteps instead of
            repeating the previous output.
        input_projection: Where zoo cells project their inputs (other cells
            ignore it): "hoisted" (all timesteps in one matrix product before
            the loop), "per_step" (inside the loop, where the projection of a
            step can overlap the recurrence of the previous one) or "auto"
            (the default: hoisted on GPU/TPU, per step on CPU, where it
            measured faster). Validated at construction.
        gradient: How zoo cells are differentiated while training: "fused"
            (the hand-written backward pass of `zoo.layers.fused`, where the
            cell supports it (`cell.supports_fused_gradient()`: tanh/sigmoid
            activations, GRU with reset_after=True) and there is no mask, no
            recurrent dropout and no unroll), "autodiff" (the backend
            differentiates the loop) or "auto" (the default: fused where XLA
            compiles the step, i.e. JAX and TensorFlow with jit_compile=True,
            where it measured 1.1-1.6x faster; autodiff on TensorFlow's graph
            loop, where fused measured slower). The fused pass has no second
            derivatives: pass "autodiff" for those. Validated at construction;
            assigning `layer.gradient = ...` later is validated too.
        **kwargs: Base layer arguments (name, dtype, trainable, activity_regularizer).

    Call arguments:
        sequences: (batch, timesteps, features) floating-point inputs
            (integer inputs are cast to the compute dtype, as in Keras).
        initial_state: Optional list of initial state tensors, each (batch, size)
            (for a stack: one entry per cell, nested or flat).
        mask: Optional (batch, timesteps) boolean mask, e.g. from
            `Embedding(mask_zero=True)` or `Masking`. At a masked step the states
            are carried over unchanged and the output repeats the previous output
            (always zeros with `zero_output_for_mask`). Before a row's first
            unmasked step the output is zeros on TensorFlow and the first
            initial state on JAX, as Keras's own layers give on each backend
            (zeros on both with `unroll=True`; see docs/layers.md); a fully
            masked row returns its initial states.
        training: Whether cell dropout is active (one mask per sequence).

    Returns:
        The output ((batch, timesteps, units) with `return_sequences`, else
        (batch, units)), followed by the final states when `return_state`.

    Example:
        >>> layer = RNN(zoo.cells.LSTMCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8), "float32")).shape   # (4, 10, 32)
        >>> stack = RNN([zoo.cells.GRUCell(16), zoo.cells.LSTMCell(8)], gradient="autodiff")
        >>> stack(np.zeros((4, 10, 8), "float32")).shape   # (4, 8)
    """

    # How cells with a parallel form (`cell.parallel_sweep`) run a sequence:
    # "auto" (parallel where Keras sees a GPU or TPU and `unroll` is off, the
    # loop otherwise), "parallel" or "step". A plain RNN
    # keeps "auto"; `zoo.layers.MinGRU` and `MinLSTM` take it as an argument.
    mode = "auto"

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False,
                 input_projection="auto", gradient="auto", **kwargs):
        if isinstance(cell, (list, tuple)):
            if not cell:
                raise ValueError("`cell` must be a cell or a non-empty list of cells. Received: []")
            cell = keras.layers.StackedRNNCells(list(cell))
        for attribute in ("call", "state_size"):
            if not hasattr(cell, attribute):
                raise ValueError(
                    f"`cell` must have a `{attribute}` attribute (Keras cell contract). "
                    f"Received: cell={cell!r}"
                )
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.zero_output_for_mask = zero_output_for_mask
        self.input_projection = input_projection
        self.gradient = gradient
        self.supports_masking = True
        self.state_size = _sizes(cell.state_size)
        self._state_store = _StateStore(None)
        self._expected_batch_size = None
        self._built_features = None

    # ------------------------------------------------------------- options
    @property
    def input_projection(self):
        """Where zoo cells project their inputs: one of `INPUT_PROJECTIONS`
        (validated when set, at construction or by assignment)."""
        return self._input_projection

    @input_projection.setter
    def input_projection(self, value):
        self._input_projection = check_choice("input_projection", value, INPUT_PROJECTIONS)

    @property
    def gradient(self):
        """How zoo cells are differentiated while training: one of `GRADIENTS`
        (validated when set, at construction or by assignment)."""
        return self._gradient

    @gradient.setter
    def gradient(self, value):
        self._gradient = check_choice("gradient", value, GRADIENTS)

    # ------------------------------------------------------------- structure
    @property
    def _cells(self):
        return list(self.cell.cells) if isinstance(self.cell, keras.layers.StackedRNNCells) \
            else [self.cell]

    @property
    def _stacked(self):
        return isinstance(self.cell, keras.layers.StackedRNNCells)

    @property
    def states(self):
        """The state variables of a stateful layer (None before build or if not stateful)."""
        return self._state_store.variables

    @staticmethod
    def _output_size(cell):
        size = getattr(cell, "output_size", None)
        return size if size is not None else _sizes(cell.state_size)[0]

    def _flat_state_sizes(self):
        return [size for cell in self._cells for size in _sizes(cell.state_size)]

    # ---------------------------------------------------------- validation
    def _check_sequences(self, shape, dtype=None):
        if len(shape) != 3:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank 3 "
                f"(batch, timesteps, features). Received: inputs with shape {_shape_str(shape)}"
            )
        if self._built_features is not None and shape[-1] is not None \
                and shape[-1] != self._built_features:
            raise ValueError(
                f"{type(self).__name__} '{self.name}' was built for inputs with "
                f"{self._built_features} features; the feature size may not change after "
                f"build. Received: inputs with shape {_shape_str(shape)}"
            )
        if self.unroll and shape[1] is None:
            raise ValueError(
                "`unroll=True` needs a fixed number of timesteps. Received: inputs with "
                f"shape {_shape_str(shape)}"
            )
        if dtype is not None:
            dtype = keras.backend.standardize_dtype(dtype)
            if not (keras.backend.is_float_dtype(dtype) or _is_integer_dtype(dtype)):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' expects floating-point or "
                    f"integer inputs (e.g. float32; integers are cast to the layer's "
                    f"compute dtype). Received: inputs with dtype {dtype}"
                )

    def _as_float(self, sequences):
        """Integer inputs cast to the compute dtype (as Keras's layers compute them)."""
        if _is_integer_dtype(keras.backend.standardize_dtype(sequences.dtype)):
            return ops.cast(sequences, self.compute_dtype)
        return sequences

    # ----------------------------------------------------------------- build
    def build(self, sequences_shape, initial_state_shape=None):
        self._check_sequences(sequences_shape)
        batch = sequences_shape[0]
        step_shape = (batch, sequences_shape[-1])
        for cell in self._cells:
            if isinstance(cell, keras.layers.Layer) and not cell.built:
                cell.build(step_shape)
                cell.built = True
            step_shape = (batch, self._output_size(cell))
        if self._stacked and not self.cell.built:
            self.cell.built = True
        self._built_features = sequences_shape[-1]
        if self.stateful:
            if batch is None:
                raise ValueError(
                    "`stateful=True` needs a fixed batch size: pass `batch_size=` (or "
                    "`batch_shape=`) to `keras.Input`. Received: inputs with shape "
                    f"{_shape_str(sequences_shape)}"
                )
            if self.states is None:
                self._create_state_variables(batch)
            else:
                self.reset_state()

    def _create_state_variables(self, batch_size):
        variables = []
        for cell in self._cells:
            for value in self._cell_initial_state(cell, batch_size):
                variables.append(keras.Variable(
                    value, trainable=False, dtype=self.variable_dtype, name="rnn_state"))
        self._state_store.variables = variables
        self._expected_batch_size = batch_size

    def reset_state(self, states=None):
        """Zero the states of a stateful layer, or set them to `states` (arrays)."""
        if self.states is None:
            return
        if states is None:
            for variable in self.states:
                variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))
            return
        states = keras.tree.flatten(states)
        if len(states) != len(self.states):
            raise ValueError(
                f"reset_state expects {len(self.states)} state arrays. "
                f"Received: {len(states)}"
            )
        for variable, value in zip(self.states, states):
            if tuple(ops.shape(value)) != tuple(variable.shape):
                raise ValueError(
                    f"reset_state expects a state of shape {tuple(variable.shape)}. "
                    f"Received: shape {tuple(ops.shape(value))}"
                )
            variable.assign(value)

    def reset_states(self):
        """Alias of `reset_state()`."""
        self.reset_state()

    # ------------------------------------------------------- initial states
    def _cell_initial_state(self, cell, batch_size):
        fn = getattr(cell, "get_initial_state", None)
        if fn is not None:
            return list(keras.tree.flatten(fn(batch_size=batch_size)))
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype)
                for size in _sizes(cell.state_size)]

    def get_initial_state(self, batch_size):
        """Zero initial states: a list (for a stack, one list per cell)."""
        per_cell = [self._cell_initial_state(cell, batch_size) for cell in self._cells]
        return per_cell if self._stacked else per_cell[0]

    def _initial_states(self, initial_state, sequences):
        """Flat list of initial states, validated and cast to the compute dtype."""
        batch = ops.shape(sequences)[0]
        if initial_state is None:
            if self.stateful and self.states is not None:
                return [ops.convert_to_tensor(v) for v in self.states]
            return [s for cell in self._cells for s in self._cell_initial_state(cell, batch)]
        given = keras.tree.flatten(initial_state)
        sizes = self._flat_state_sizes()
        if len(given) != len(sizes):
            raise ValueError(
                f"{type(self).__name__} '{self.name}' expects {len(sizes)} initial state "
                f"tensor(s) of sizes {sizes}. Received: {len(given)} tensor(s) with shapes "
                f"{[_shape_str(ops.shape(s)) for s in given]}"
            )
        static_batch = sequences.shape[0]
        states = []
        for state, size in zip(given, sizes):
            state = ops.convert_to_tensor(state)
            shape = state.shape
            if len(shape) != 2 or (shape[-1] is not None and shape[-1] != size) or (
                    static_batch is not None and shape[0] is not None and shape[0] != static_batch):
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' expects initial states of shapes "
                    f"{[(static_batch, s) for s in sizes]}. Received: initial state with shape "
                    f"{_shape_str(shape)}"
                )
            states.append(ops.cast(state, self.compute_dtype))
        return states

    # ------------------------------------------------------------------ call
    def call(self, sequences, initial_state=None, mask=None, training=None):
        self._check_sequences(sequences.shape, sequences.dtype)
        sequences = self._as_float(sequences)
        if self.stateful and self._expected_batch_size is not None and \
                sequences.shape[0] is not None and sequences.shape[0] != self._expected_batch_size:
            raise ValueError(
                f"A stateful layer needs the same batch size at every call: expected "
                f"{self._expected_batch_size}. Received: inputs with shape "
                f"{_shape_str(sequences.shape)}"
            )
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        states = self._initial_states(initial_state, sequences)

        x = ops.transpose(sequences, (1, 0, 2))  # time-major
        if mask is not None:
            mask = ops.transpose(ops.cast(mask, "bool"), (1, 0))
        if self.go_backwards:
            x = ops.flip(x, 0)
            mask = None if mask is None else ops.flip(mask, 0)

        final_states, last, position = [], None, 0
        for index, cell in enumerate(self._cells):
            count = len(_sizes(cell.state_size))
            keep_sequence = self.return_sequences or index < len(self._cells) - 1
            last, x, new_states = self._sweep(
                cell, x, states[position: position + count], mask, training, keep_sequence)
            final_states.append(new_states)
            position += count

        flat_final = [s for per_cell in final_states for s in per_cell]
        if self.stateful and self.states is not None:
            for variable, value in zip(self.states, flat_final):
                variable.assign(ops.cast(value, variable.dtype))

        output = ops.transpose(x, (1, 0, 2)) if self.return_sequences else last
        output = ops.cast(output, self.compute_dtype)
        if not self.return_state:
            return output
        if self._stacked:
            return (output, *[[ops.cast(s, self.compute_dtype) for s in per_cell]
                              for per_cell in final_states])
        return (output, *[ops.cast(s, self.compute_dtype) for s in flat_final])

    def _sweep(self, cell, x, states, mask, training, keep_sequence):
        """Run one cell over the time-major sequence `x`."""
        if isinstance(cell, RecurrentCell):
            cell.check_features(x.shape)
            input_mask, recurrent_mask = cell.get_dropout_masks(x[0], states[0], training)
            if input_mask is not None:
                x = x * input_mask
            if self._parallel_sweep(cell, x):
                return cell.parallel_sweep(x, states, mask, keep_sequence,
                                           zero_output_for_mask=self.zero_output_for_mask)
            if self._fused_gradient(cell, mask, recurrent_mask, training):
                return fused_time_loop(cell, x, states, hoisted=self._hoist_projection(),
                                       return_sequences=keep_sequence)
            # Weights are read once, outside the loop (see zoo.layers.base_cell).
            input_weights, weights = cell.input_weights(), cell.recurrent_weights()
            if self._hoist_projection():
                inputs = cell.project_inputs(x, input_weights)

                def step(projected, step_states):
                    return cell.recurrent_step(projected, step_states, recurrent_mask, weights)
            else:
                inputs = x

                def step(x_t, step_states):
                    projected = cell.project_inputs(x_t, input_weights)
                    return cell.recurrent_step(projected, step_states, recurrent_mask, weights)
        else:
            inputs, step = x, self._generic_step(cell, states, x, training)
        result = time_loop(
            step, inputs, states, self._output_size(cell), mask=mask,
            zero_output_for_mask=self.zero_output_for_mask, unroll=self.unroll,
            return_sequences=keep_sequence,
            output_is_state=isinstance(cell, RecurrentCell))
        if not isinstance(cell, RecurrentCell):
            for reset in ("reset_dropout_mask", "reset_recurrent_dropout_mask"):
                if hasattr(cell, reset):
                    getattr(cell, reset)()
        return result

    @staticmethod
    def _generic_step(cell, states, x, training):
        kwargs = {}
        if "training" in inspect.signature(cell.call).parameters:
            kwargs["training"] = training
        # Keras's dropout cells cache one mask per sequence; create it outside the loop.
        if hasattr(cell, "get_dropout_mask"):
            cell.get_dropout_mask(x[0])
        if hasattr(cell, "get_recurrent_dropout_mask"):
            cell.get_recurrent_dropout_mask(states[0])

        def step(x_t, step_states):
            output, new_states = cell(x_t, list(step_states), **kwargs)
            return output, keras.tree.flatten(new_states)

        return step

    def _parallel_sweep(self, cell, x):
        """Whether `cell` runs the whole time-major sequence `x` at once with its
        own `parallel_sweep` (cells whose gates read the inputs only, such as
        `zoo.cells.MinGRUCell`): where `mode` is "parallel", or "auto"
        without `unroll` where Keras sees a GPU or TPU; "step", and "auto" on
        CPUs alone (where the loop does less work and trains faster:
        benchmarks/long_sequences.py), run the shared time loop. The scan needs a
        known number of timesteps (its rounds are a Python loop over the static
        length), which JAX always has; on TensorFlow a graph traced for any
        length (a SavedModel signature) runs the loop, with the same numbers."""
        if not callable(getattr(cell, "parallel_sweep", None)):
            return False
        if x.shape[0] is None and keras.config.backend() == "tensorflow":
            return False
        return self.mode == "parallel" or (
            self.mode == "auto" and not self.unroll and _accelerator_present())

    def _fused_gradient(self, cell, mask, recurrent_mask, training):
        if self.gradient == "autodiff" or not training or self.unroll or mask is not None \
                or recurrent_mask is not None or not supports_fused_gradient(cell):
            return False
        return self.gradient == "fused" or compiled_by_xla()

    def _hoist_projection(self):
        if self.input_projection == "auto":
            return _accelerator_present()
        return self.input_projection == "hoisted"

    # ---------------------------------------------------- shapes and masks
    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        units = self._output_size(self._cells[-1])
        output = (batch, steps, units) if self.return_sequences else (batch, units)
        if not self.return_state:
            return output
        per_cell = [[(batch, s) for s in _sizes(cell.state_size)] for cell in self._cells]
        if self._stacked:
            return (output, *per_cell)
        return (output, *per_cell[0])

    def compute_output_spec(self, sequences, *args, **kwargs):
        self._check_sequences(sequences.shape, sequences.dtype)
        return super().compute_output_spec(sequences, *args, **kwargs)

    def compute_mask(self, _, mask):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            count = len(self._cells) if self._stacked else len(self.state_size)
            return [output_mask] + [None] * count
        return output_mask

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = {
            "return_sequences": self.return_sequences,
            "return_state": self.return_state,
            "go_backwards": self.go_backwards,
            "stateful": self.stateful,
            "unroll": self.unroll,
            "zero_output_for_mask": self.zero_output_for_mask,
            "input_projection": self.input_projection,
            "gradient": self.gradient,
            "cell": keras.saving.serialize_keras_object(self.cell),
        }
        return {**super().get_config(), **config}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = keras.saving.deserialize_keras_object(
            config.pop("cell"), custom_objects=custom_objects)
        return cls(cell, **config)

"""The minimal gated cells and their layers: `MinGRUCell`, `MinGRU`, `MinLSTMCell`
and `MinLSTM` (Feng et al., "Were RNNs All We Needed?", 2024).

Their gates read the inputs only, never the previous state:

    minGRU:  z = σ(x Wz + bz),  h~ = g(x Wh + bh),
             h<t> = (1 - z) ⊙ h<t-1> + z ⊙ h~
    minLSTM: f = σ(x Wf + bf),  i = σ(x Wi + bi),  h~ = g(x Wh + bh),
             f' = f / (f + i),  i' = i / (f + i),
             h<t> = f' ⊙ h<t-1> + i' ⊙ h~

with g(v) = v + 0.5 for v >= 0 and σ(v) for v < 0 (a positive candidate).
So h<t> = a<t> ⊙ h<t-1> + b<t> is a linear recurrence whose coefficients are
known for every step up front, and a whole sequence runs as one parallel
prefix scan (`log_scan`: Hillis & Steele's doubling in `keras.ops`) in log
space, as in the paper:

    log a = log(1 - z) = -softplus(k_z),  log b = log z + log g(k_h)
            (log z = -softplus(-k_z));
    minLSTM: d = softplus(-k_f) - softplus(-k_i),
            log a = log f' = -softplus(d),  log b = -softplus(-d) + log g(k_h);
    log g(v) = log(relu(v) + 0.5) for v >= 0, -softplus(-v) for v < 0.

Pairs combine as (A1, B1), (A2, B2) -> (A1 + A2, logaddexp(B1 + A2, B2)),
from zero, and h<t> = exp(B<t>) + exp(A<t>) ⊙ h<0>, so any initial state (of
either sign) works. A masked step keeps the state (log a = 0, log b = a large
negative finite value, so that gradients stay finite).

The layers' `mode` chooses the form: "parallel" (the scan), "step" (the
shared time loop of `zoo.layers.loop` over `recurrent_step`, the plain
equations one step at a time, which `cell.call`, generation and streaming
use too) or "auto" (parallel where Keras sees a GPU or TPU, unless
`unroll=True`; the loop on CPUs alone, where it trains faster: the scan does
O(T log T) work against the loop's O(T), and two CPU cores gain nothing from
its parallelism). Both give the same numbers.

Shapes are (batch, timesteps, features) for the layers and (batch, features)
for one step of the cells.
"""

import keras
from keras import ops

from zoo._checks import check_choice
from zoo.layers.base_cell import RecurrentCell
from zoo.layers.base_layer import CellLayer, proxy_cell_args
from zoo.layers.chrono import check_chrono_init, chrono_bias

__all__ = ["MinGRUCell", "MinGRU", "MinLSTMCell", "MinLSTM", "MODES", "candidate",
           "log_candidate"]

# The values of the layers' `mode`.
MODES = ("auto", "parallel", "step")

# log 0 stood in by a large negative finite number (exp gives 0, gradients stay
# finite); the scan runs in float32 at least, where it is representable.
_LOG_ZERO = -1e30

# The base-class arguments the min cells do not take: they have no recurrent
# weights, and their candidate map is g, not a free activation.
_NOT_TAKEN = ("activation", "recurrent_initializer", "recurrent_regularizer",
              "recurrent_constraint")


def candidate(v):
    """The paper's g: v + 0.5 for v >= 0, σ(v) below (positive and continuous)."""
    return ops.where(v >= 0, v + 0.5, ops.sigmoid(v))


def log_candidate(v):
    """log g(v), computed without taking the log of a small number."""
    return ops.where(v >= 0, ops.log(ops.relu(v) + 0.5), -ops.softplus(-v))


def _check_recurrent_dropout(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != 0:
        raise ValueError(
            "`recurrent_dropout` must be 0: the minimal cells have no recurrent weights "
            "(their gates read the inputs only), so there is no recurrent product to "
            f"drop units from; use `dropout` on the inputs. Received: recurrent_dropout={value!r}")
    return 0.0


def _scan_dtype(dtype):
    """The scan runs in float32 for 16-bit compute dtypes (log space needs the range)."""
    dtype = keras.backend.standardize_dtype(dtype)
    return "float32" if dtype in ("float16", "bfloat16") else dtype


def _combine(earlier, later):
    (a1, b1), (a2, b2) = earlier, later
    return a1 + a2, ops.logaddexp(b1 + a2, b2)


def log_scan(log_a, log_b):
    """Inclusive scan of `_combine` over axis 0 (time, static length): after it,
    entry t combines steps 0..t. Hillis & Steele's doubling: ceil(log2 T) rounds,
    each combining every entry with the one `offset` steps earlier (the identity
    (0, log 0) before the start), all in plain `keras.ops`.

    Not `keras.ops.associative_scan`: on TensorFlow its graph does not compile
    with XLA (a `cond` whose branches concatenate differently sized halves), and
    on JAX, XLA took 23 s to compile its 1000-step gradient on 2 CPU cores
    against 7.8 s for this one. It does T log T work against T, which a
    parallel machine absorbs; the benchmark measures both speed and memory.
    """
    steps, offset = log_a.shape[0], 1
    while offset < steps:
        earlier_a = ops.concatenate([ops.zeros_like(log_a[:offset]), log_a[:-offset]], axis=0)
        earlier_b = ops.concatenate([ops.full_like(log_b[:offset], _LOG_ZERO),
                                     log_b[:-offset]], axis=0)
        log_a, log_b = _combine((earlier_a, earlier_b), (log_a, log_b))
        offset *= 2
    return log_a, log_b


class _MinCell(RecurrentCell):
    """Shared part of `MinGRUCell` and `MinLSTMCell`: no recurrent weights,
    chrono initialisation of the gate biases, the parallel sweep."""

    _chrono_layout = ()

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, chrono_init=None, **kwargs):
        recurrent_dropout = _check_recurrent_dropout(recurrent_dropout)
        chrono_init = check_chrono_init(chrono_init, use_bias)
        super().__init__(
            units, activation=None, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.chrono_init = chrono_init

    # ----------------------------------------------------------------- weights
    def _recurrent_kernel_shape(self):
        return None  # the gates read the inputs only

    def recurrent_weights(self):
        return ()

    def _bias_init(self):
        if self.chrono_init is None:
            return self.bias_initializer
        return chrono_bias(self._chrono_layout, self.units, self.chrono_init,
                           self.bias_initializer, seed=self.seed)

    # ------------------------------------------------------------- the forms
    def log_coefficients(self, projected):
        """(log a, log b) of h<t> = a ⊙ h<t-1> + b from the projected inputs."""
        raise NotImplementedError

    def parallel_sweep(self, x, states, mask=None, keep_sequence=True,
                       zero_output_for_mask=False):
        """The whole time-major sequence `x` (timesteps, batch, features) at once.

        `mask` is time-major (timesteps, batch) or None. Returns what the shared
        time loop returns: (last output, outputs (timesteps, batch, units) or
        None without `keep_sequence`, [final state]), with its masking rules
        (a masked step repeats the previous output, or gives zeros with
        `zero_output_for_mask`; before a row's first unmasked step the output
        is zeros on TensorFlow and the initial state on JAX).
        """
        self.check_features(x.shape)
        dtype = states[0].dtype
        work = _scan_dtype(dtype)
        projected = ops.cast(self.project_inputs(x), work)
        h0 = ops.cast(states[0], work)
        log_a, log_b = self.log_coefficients(projected)
        if mask is not None:
            keep = ops.expand_dims(ops.cast(mask, "bool"), -1)
            log_a = ops.where(keep, log_a, ops.zeros_like(log_a))
            log_b = ops.where(keep, log_b, ops.full_like(log_b, _LOG_ZERO))
        big_a, big_b = log_scan(log_a, log_b)
        h = ops.exp(big_b) + ops.exp(big_a) * h0
        final = h[-1]
        outputs = h
        if mask is not None:
            if zero_output_for_mask:
                outputs = ops.where(keep, h, ops.zeros_like(h))
            elif keras.config.backend() != "jax":
                seen = ops.cumsum(ops.cast(keep, "int32"), axis=0) > 0
                outputs = ops.where(seen, h, ops.zeros_like(h))
        outputs = ops.cast(outputs, dtype)
        last = outputs[-1]
        return last, (outputs if keep_sequence else None), [ops.cast(final, dtype)]

    def get_config(self):
        config = super().get_config()
        for name in _NOT_TAKEN:
            config.pop(name)
        return {**config, "chrono_init": self.chrono_init}


_CELL_ARGS_DOC = """
    Args:
        units: Positive integer, size of the hidden state (and of the output).
        use_bias: Whether the cell uses a bias vector. Default True.
        kernel_initializer, bias_initializer: Initializers of `kernel` and
            `bias` (defaults "glorot_uniform", "zeros").
        kernel_regularizer, bias_regularizer: Optional regularizers.
        kernel_constraint, bias_constraint: Optional constraints.
        dropout: Fraction in [0, 1) of the input units to drop (training
            only, one mask per sequence, in both modes).
        recurrent_dropout: Must be 0 (accepted for the shared layer
            arguments): there are no recurrent weights to drop from.
        seed: Random seed of the dropout masks (and of `chrono_init`'s draw).
        chrono_init: None (the default: the bias is `bias_initializer`) or
            the longest dependency expected, T >= 3 steps: chrono
            initialisation (`zoo.layers.chrono`) of the gate biases, so
            that the state is kept for 1 to T steps.
    There is no `activation`: the candidate map is the paper's g, which the
    log-space scan needs positive; nor recurrent initializer, regularizer or
    constraint, as there is no recurrent kernel (`recurrent_kernel` is None).
"""


def _document_cell(cls):
    cls.__doc__ = cls.__doc__.replace("    ARGS_PLACEHOLDER\n", _CELL_ARGS_DOC)
    return cls


@keras.saving.register_keras_serializable(package="zoo")
@_document_cell
class MinGRUCell(_MinCell):
    """Minimal GRU cell (Feng et al. 2024): z = σ(x Wz + bz), h~ = g(x Wh + bh),
    h<t> = (1 - z) ⊙ h<t-1> + z ⊙ h~.

    `kernel` is (features, 2 * units) in the order [z, h], `bias` (2 * units,);
    there is no recurrent kernel. g(v) = v + 0.5 for v >= 0, σ(v) below. With
    `chrono_init=T` the bias of z is -b, b ~ log U(1, T - 1) (the state is kept
    by 1 - z = σ(b)); the candidate's bias keeps `bias_initializer`.
    ARGS_PLACEHOLDER
    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = zoo.cells.MinGRUCell(4, chrono_init=100)
        >>> zoo.layers.RNN(cell)(np.ones((2, 10, 8), "float32")).shape   # (2, 4)
    """

    _gates = 2
    _chrono_layout = ("write", None)

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        k_z, k_h = ops.split(projected, 2, axis=-1)
        z = ops.sigmoid(k_z)
        h = (1.0 - z) * states[0] + z * candidate(k_h)
        return (h, [h], ()) if return_gates else (h, [h])

    def log_coefficients(self, projected):
        k_z, k_h = ops.split(projected, 2, axis=-1)
        return -ops.softplus(k_z), -ops.softplus(-k_z) + log_candidate(k_h)


@keras.saving.register_keras_serializable(package="zoo")
@_document_cell
class MinLSTMCell(_MinCell):
    """Minimal LSTM cell (Feng et al. 2024): f = σ(x Wf + bf), i = σ(x Wi + bi),
    h~ = g(x Wh + bh), f' = f / (f + i), i' = i / (f + i),
    h<t> = f' ⊙ h<t-1> + i' ⊙ h~.

    `kernel` is (features, 3 * units) in the order [f, i, h], `bias`
    (3 * units,); there is no recurrent kernel and one state, h, as in the
    paper. f' is computed as σ(-d) with d = softplus(-k_f) - softplus(-k_i)
    (log(i / f)), the same number without dividing two small ones. With
    `chrono_init=T`, b_f ~ log U(1, T - 1) and b_i = -b_f; the candidate's
    bias keeps `bias_initializer`.
    ARGS_PLACEHOLDER
    Call arguments:
        inputs: (batch, features) inputs of one timestep.
        states: [h<t-1>] of shape (batch, units) (a single tensor is accepted).
        training: Whether dropout is active.

    Returns:
        (output, [new_state]), both (batch, units).

    Example:
        >>> cell = zoo.cells.MinLSTMCell(4)
        >>> h, (h,) = cell(np.ones((2, 8), "float32"), cell.get_initial_state(2))  # (2, 4)
    """

    _gates = 3
    _chrono_layout = ("keep", "write", None)

    @staticmethod
    def _log_ratio(k_f, k_i):
        return ops.softplus(-k_f) - ops.softplus(-k_i)  # log(i / f)

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        k_f, k_i, k_h = ops.split(projected, 3, axis=-1)
        d = self._log_ratio(k_f, k_i)
        h = ops.sigmoid(-d) * states[0] + ops.sigmoid(d) * candidate(k_h)
        return (h, [h], ()) if return_gates else (h, [h])

    def log_coefficients(self, projected):
        k_f, k_i, k_h = ops.split(projected, 3, axis=-1)
        d = self._log_ratio(k_f, k_i)
        return -ops.softplus(d), -ops.softplus(-d) + log_candidate(k_h)


_LAYER_ARGS_DOC = """
    Args:
        units: Positive integer, size of the hidden state and of the output.
        use_bias: Whether to use a bias vector.
        kernel_initializer, bias_initializer: Initializers of `kernel` and `bias`.
        kernel_regularizer, bias_regularizer, activity_regularizer: Optional
            regularizers.
        kernel_constraint, bias_constraint: Optional constraints.
        dropout: Fraction in [0, 1) of input units dropped in training (one
            mask per sequence, in both modes).
        recurrent_dropout: Must be 0: there are no recurrent weights.
        seed: Random seed of the dropout masks and of the chrono draw.
        chrono_init: None or T >= 3: chrono initialisation of the gate biases
            (see the cell).
        mode: "auto" (the default: the parallel scan where Keras sees a GPU
            or TPU, the time loop on CPUs alone or with `unroll=True`),
            "parallel" (the log-space scan over the whole sequence; `unroll`
            is then ignored) or "step" (the shared time loop, one step at a
            time). Validated at construction and when
            assigned; in `get_config`.
        return_sequences, return_state, go_backwards, stateful, unroll,
        zero_output_for_mask, input_projection, gradient: as for `zoo.layers.RNN`
            (`input_projection` acts in step mode only; the cells have no
            hand-written backward pass, so `gradient` is autodiff throughout).

    Call arguments:
        sequences: (batch, timesteps, features) inputs.
        mask: Optional (batch, timesteps) boolean mask: a masked step keeps the
            state and repeats the previous output (the zoo masking rules, in
            both modes).
        training: Whether dropout is active.
        initial_state: Optional [h<0>] of shape (batch, units), any sign.

    Returns:
        Output (batch, timesteps, units) or (batch, units), then the final
        state [h] if `return_state`.
"""


def _document_layer(cls):
    cls.__doc__ = cls.__doc__.replace("    LAYER_ARGS\n", _LAYER_ARGS_DOC)
    return cls


class _MinLayer(CellLayer):
    """Shared part of `MinGRU` and `MinLSTM`: the cell's arguments and `mode`."""

    _cell_args = tuple(name for name in CellLayer._cell_args if name not in _NOT_TAKEN) + (
        "chrono_init",)
    _cell_class = None
    _cell_name = None

    def __init__(self, units, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 dropout=0.0, recurrent_dropout=0.0, seed=None, chrono_init=None,
                 mode="auto", return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, input_projection="auto",
                 gradient="auto", **kwargs):
        mode = check_choice("mode", mode, MODES)
        cell_kwargs = dict(
            units=units, use_bias=use_bias, kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint, dropout=dropout,
            recurrent_dropout=recurrent_dropout, seed=seed, chrono_init=chrono_init)
        self._setup(self._cell_class, cell_kwargs, dict(
            return_sequences=return_sequences, return_state=return_state,
            go_backwards=go_backwards, stateful=stateful, unroll=unroll,
            activity_regularizer=activity_regularizer, input_projection=input_projection,
            gradient=gradient, cell_name=self._cell_name, **kwargs))
        self.mode = mode

    @property
    def mode(self):
        """How the sequence runs: one of `MODES` (validated when set)."""
        return self._mode

    @mode.setter
    def mode(self, value):
        self._mode = check_choice("mode", value, MODES)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="zoo")
@_document_layer
@proxy_cell_args
class MinGRU(_MinLayer):
    """Minimal GRU layer (Feng et al. 2024): z = σ(x Wz + bz), h~ = g(x Wh + bh),
    h<t> = (1 - z) ⊙ h<t-1> + z ⊙ h~, driven by `zoo.cells.MinGRUCell`; a whole
    sequence runs as a parallel log-space scan (see `mode`).
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.MinGRU(4, return_sequences=True, chrono_init=1000)
        >>> layer(np.zeros((32, 10, 8), "float32")).shape     # (32, 10, 4)
    """

    _cell_class = MinGRUCell
    _cell_name = "min_gru_cell"


@keras.saving.register_keras_serializable(package="zoo")
@_document_layer
@proxy_cell_args
class MinLSTM(_MinLayer):
    """Minimal LSTM layer (Feng et al. 2024): f' ⊙ h<t-1> + i' ⊙ h~ with
    normalised input-only gates f' = f / (f + i), i' = i / (f + i), driven by
    `zoo.cells.MinLSTMCell` (one state, h); a whole sequence runs as a
    parallel log-space scan (see `mode`).
    LAYER_ARGS
    Example:
        >>> layer = zoo.layers.MinLSTM(4, mode="step", return_state=True)
        >>> out, h = layer(np.zeros((32, 10, 8), "float32"))   # (32, 4), (32, 4)
    """

    _cell_class = MinLSTMCell
    _cell_name = "min_lstm_cell"

"""The one independent NumPy implementation of the recurrent equations (the
test reference of the layers, cells and model correctness tests).

Written from the equations, not from the layer code: one Python loop over
time, float64 by default, with Keras's masking rules (a masked step keeps the
states; its output is the previous output, or zeros with
`zero_output_for_mask`; zeros before the first unmasked step).

Weights use Keras's layout: kernel (features, k*units), recurrent_kernel
(units, k*units), bias (k*units,) or, for GRU with reset_after, (2, 3*units);
IndRNN's recurrent_kernel is a vector (units,); minGRU and minLSTM have no
recurrent_kernel (their weights are [kernel, bias]). The layer-normalised LSTM's
six normalisation weights follow the bias (see `layer_norm_lstm_step`).
"""

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
    "relu": lambda v: np.maximum(v, 0.0),
    "linear": lambda v: v,
    None: lambda v: v,
    "hard_sigmoid": lambda v: np.clip(v / 6.0 + 0.5, 0.0, 1.0),
}


def simple_rnn_step(x, states, kernel, recurrent_kernel, bias, activation="tanh"):
    """a<t> = g(x Wax + a<t-1> Waa + ba)."""
    (a,) = states
    pre = x @ kernel + a @ recurrent_kernel
    if bias is not None:
        pre = pre + bias
    a = ACTIVATIONS[activation](pre)
    return a, [a]


def gru_step(x, states, kernel, recurrent_kernel, bias, activation="tanh",
             recurrent_activation="sigmoid", reset_after=True):
    """GRU with gate order z, r, h; h' = z h + (1 - z) h~."""
    (h,) = states
    g, s = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    n = recurrent_kernel.shape[0]
    wz, wr, wh = kernel[:, :n], kernel[:, n:2 * n], kernel[:, 2 * n:]
    uz, ur, uh = recurrent_kernel[:, :n], recurrent_kernel[:, n:2 * n], recurrent_kernel[:, 2 * n:]
    if bias is None:
        bx = bh = np.zeros(3 * n)
    elif reset_after:
        bx, bh = bias[0], bias[1]
    else:
        bx, bh = bias, np.zeros(3 * n)
    z = s(x @ wz + bx[:n] + h @ uz + bh[:n])
    r = s(x @ wr + bx[n:2 * n] + h @ ur + bh[n:2 * n])
    if reset_after:
        candidate = g(x @ wh + bx[2 * n:] + r * (h @ uh + bh[2 * n:]))
    else:
        candidate = g(x @ wh + bx[2 * n:] + (r * h) @ uh)
    h = z * h + (1.0 - z) * candidate
    return h, [h]


def lstm_step(x, states, kernel, recurrent_kernel, bias, activation="tanh",
              recurrent_activation="sigmoid"):
    """LSTM with gate order i, f, c, o."""
    h, c = states
    g, s = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    n = recurrent_kernel.shape[0]
    pre = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        pre = pre + bias
    i, f = s(pre[:, :n]), s(pre[:, n:2 * n])
    candidate, o = g(pre[:, 2 * n:3 * n]), s(pre[:, 3 * n:])
    c = f * c + i * candidate
    h = o * g(c)
    return h, [h, c]


def indrnn_step(x, states, kernel, recurrent_kernel, bias, activation="relu"):
    """IndRNN (Li et al. 2018, eq. 2): h<t> = g(W x<t> + u ⊙ h<t-1> + b), with u a
    vector (one recurrent weight per unit)."""
    (h,) = states
    pre = x @ kernel + recurrent_kernel * h
    if bias is not None:
        pre = pre + bias
    h = ACTIVATIONS[activation](pre)
    return h, [h]


def _layer_norm(v, gamma, beta, epsilon):
    """γ ⊙ (v - mean(v)) / sqrt(var(v) + ε) + β over the last axis."""
    mean = v.mean(axis=-1, keepdims=True)
    variance = ((v - mean) ** 2).mean(axis=-1, keepdims=True)
    return gamma * (v - mean) / np.sqrt(variance + epsilon) + beta


def layer_norm_lstm_step(x, states, kernel, recurrent_kernel, bias, norm_weights,
                         epsilon=1e-3, activation="tanh", recurrent_activation="sigmoid"):
    """Layer-normalised LSTM (Ba, Kiros & Hinton 2016), gate order i, f, c, o:
    (i, f, c~, o) = LN(x W; γx, βx) + LN(h U; γh, βh) + b,
    c' = σ(f) c + σ(i) g(c~), h' = σ(o) g(LN(c'; γc, βc)).
    `norm_weights` is (γx, βx, γh, βh, γc, βc)."""
    gx, bx, gh, bh, gc, bc = norm_weights
    h, c = states
    g, s = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    n = recurrent_kernel.shape[0]
    pre = _layer_norm(x @ kernel, gx, bx, epsilon) + _layer_norm(h @ recurrent_kernel, gh, bh,
                                                                 epsilon)
    if bias is not None:
        pre = pre + bias
    i, f = s(pre[:, :n]), s(pre[:, n:2 * n])
    candidate, o = g(pre[:, 2 * n:3 * n]), s(pre[:, 3 * n:])
    c = f * c + i * candidate
    h = o * g(_layer_norm(c, gc, bc, epsilon))
    return h, [h, c]


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def min_candidate(v):
    """Feng et al. 2024's g: v + 0.5 for v >= 0, sigmoid(v) below."""
    return np.where(v >= 0, v + 0.5, _sigmoid(v))


def mingru_step(x, states, kernel, recurrent_kernel, bias):
    """minGRU (Feng et al. 2024): z = σ(x Wz + bz), h~ = g(x Wh + bh),
    h<t> = (1 - z) h<t-1> + z h~; kernel [z, h], no recurrent kernel."""
    (h,) = states
    pre = x @ kernel if bias is None else x @ kernel + bias
    n = kernel.shape[1] // 2
    z = _sigmoid(pre[:, :n])
    h = (1.0 - z) * h + z * min_candidate(pre[:, n:])
    return h, [h]


def minlstm_step(x, states, kernel, recurrent_kernel, bias):
    """minLSTM (Feng et al. 2024): f, i = σ(x W + b), h~ = g(x Wh + bh),
    h<t> = f / (f + i) h<t-1> + i / (f + i) h~; kernel [f, i, h]."""
    (h,) = states
    pre = x @ kernel if bias is None else x @ kernel + bias
    n = kernel.shape[1] // 3
    f, i = _sigmoid(pre[:, :n]), _sigmoid(pre[:, n:2 * n])
    h = f / (f + i) * h + i / (f + i) * min_candidate(pre[:, 2 * n:])
    return h, [h]


STEPS = {"simple": simple_rnn_step, "gru": gru_step, "lstm": lstm_step, "indrnn": indrnn_step,
         "layer_norm_lstm": layer_norm_lstm_step, "mingru": mingru_step,
         "minlstm": minlstm_step}
NUM_STATES = {"simple": 1, "gru": 1, "lstm": 2, "indrnn": 1, "layer_norm_lstm": 2, "mingru": 1,
              "minlstm": 1}
# Cells without a recurrent kernel (weights [kernel, bias]): their number of gate blocks.
NO_RECURRENT_KERNEL = {"mingru": 2, "minlstm": 3}


def run(kind, x, weights, *, mask=None, initial_state=None, go_backwards=False,
        zero_output_for_mask=False, return_sequences=False, use_bias=True, dtype=np.float64,
        **step_kwargs):
    """Run a recurrent layer over x (batch, timesteps, features).

    `weights` is the layer's `get_weights()`; the entries after the bias (the
    layer-normalised LSTM's normalisation weights) go to the step as
    `norm_weights`. Returns (output, final_states): output is (batch, timesteps, units) in
    processing order if return_sequences (reversed time for go_backwards),
    else the last output (batch, units).
    """
    x = np.asarray(x, dtype)
    if kind in NO_RECURRENT_KERNEL:
        kernel, recurrent_kernel = np.asarray(weights[0], dtype), None
        bias = np.asarray(weights[1], dtype) if use_bias else None
        units = kernel.shape[1] // NO_RECURRENT_KERNEL[kind]
    else:
        kernel, recurrent_kernel = (np.asarray(w, dtype) for w in weights[:2])
        bias = np.asarray(weights[2], dtype) if use_bias else None
        units = recurrent_kernel.shape[0]
    extra = [np.asarray(w, dtype) for w in weights[(3 if use_bias else 2):]] \
        if recurrent_kernel is not None else []
    if extra:
        step_kwargs = {**step_kwargs, "norm_weights": extra}
    batch, steps, _ = x.shape
    if initial_state is None:
        states = [np.zeros((batch, units), dtype) for _ in range(NUM_STATES[kind])]
    else:
        states = [np.asarray(s, dtype) for s in initial_state]
    keep = np.ones((batch, steps), bool) if mask is None else np.asarray(mask, bool)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    previous = np.zeros((batch, units), dtype)
    outputs = []
    for t in order:
        out, new_states = STEPS[kind](x[:, t], states, kernel, recurrent_kernel, bias,
                                      **step_kwargs)
        k = keep[:, t][:, None]
        states = [np.where(k, new, old) for new, old in zip(new_states, states)]
        out = np.where(k, out, 0.0 if zero_output_for_mask else previous)
        outputs.append(out)
        previous = out
    output = np.stack(outputs, axis=1) if return_sequences else outputs[-1]
    return output, states


def run_sequence(kind, weights, x, **step_kwargs):
    """One unbatched sequence x (timesteps, features) from the zero state:
    the outputs (timesteps, units), float64. GRU uses `reset_after=True`
    unless `reset_after=False` is passed. (The model correctness tests use it.)"""
    output, _ = run(kind, np.asarray(x)[None], weights, return_sequences=True, **step_kwargs)
    return output[0]

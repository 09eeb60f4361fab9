"""NumPy forward passes of the textbook recurrences (Keras weight layout),
the independent reference of the model correctness tests."""

import numpy as np


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def run(cell, weights, x):
    """Run `cell` ("simple" | "gru" | "lstm") over x (timesteps, features) from
    the zero state; returns the outputs (timesteps, units).

    weights: [kernel, recurrent_kernel, bias] as stored by Keras:
    simple  a<t> = tanh(x W + a<t-1> U + b);
    gru     (reset_after) gates z, r, h: bias (2, 3u) = input / recurrent bias;
    lstm    gates i, f, c, o; c<t> = f c<t-1> + i tanh(.); a<t> = o tanh(c<t>).
    """
    kernel, recurrent, bias = (np.asarray(w, dtype="float64") for w in weights)
    units = recurrent.shape[0]
    h = np.zeros(units)
    c = np.zeros(units)
    outputs = []
    for x_t in np.asarray(x, dtype="float64"):
        if cell == "simple":
            h = np.tanh(x_t @ kernel + h @ recurrent + bias)
        elif cell == "gru":
            xz, xr, xh = np.split(x_t @ kernel + bias[0], 3)
            hz, hr, hh = np.split(h @ recurrent + bias[1], 3)
            z = _sigmoid(xz + hz)
            r = _sigmoid(xr + hr)
            candidate = np.tanh(xh + r * hh)
            h = z * h + (1.0 - z) * candidate
        else:
            i, f, g, o = np.split(x_t @ kernel + h @ recurrent + bias, 4)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs)

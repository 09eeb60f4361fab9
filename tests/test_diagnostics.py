"""Tests for zoo.diagnostics: gradient flow through time (TF and JAX backends)."""

import keras
import numpy as np
import pytest

from zoo import cells, diagnostics, layers

pytestmark = pytest.mark.jax


def _numpy_flow(x, y, W, U, b, V, c):
    """Reference: backprop through a tanh RNN + Dense + MSE by hand."""
    batch, steps, _ = x.shape
    h = np.zeros((batch, U.shape[0]))
    hs = []
    for t in range(steps):
        h = np.tanh(x[:, t] @ W + h @ U + b)
        hs.append(h)
    out = h @ V + c
    d_out = 2.0 * (out - y) / (batch * y.shape[1])
    g = d_out @ V.T
    norms = [None] * steps
    for t in range(steps - 1, -1, -1):
        norms[t] = np.linalg.norm(g, axis=1).mean()
        g = (g * (1.0 - hs[t] ** 2)) @ U.T
    return np.array(norms)


@pytest.mark.parametrize("rnn", [layers.SimpleRNN, keras.layers.SimpleRNN])
def test_matches_numpy_backprop_through_time(rnn):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 12, 3)).astype("float32")
    y = rng.normal(size=(6, 2)).astype("float32")
    model = keras.Sequential([keras.Input((12, 3)), rnn(5, name="rnn"), keras.layers.Dense(2)])
    model.compile(loss="mse")
    flow = diagnostics.gradient_flow(model, x, y)
    assert flow.shape == (1, 12)
    assert diagnostics.recurrent_layer_names(model) == ["rnn"]
    W, U, b = model.layers[0].get_weights()
    V, c = model.layers[1].get_weights()
    expected = _numpy_flow(x.astype("float64"), y, W, U, b, V, c)
    np.testing.assert_allclose(flow[0], expected, rtol=1e-4, atol=1e-9)


def test_small_recurrent_weights_make_the_gradient_vanish():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 30, 2)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential([
        keras.Input((30, 2)),
        layers.SimpleRNN(8, recurrent_initializer=keras.initializers.Orthogonal(gain=0.5)),
        keras.layers.Dense(1),
    ])
    flow = diagnostics.gradient_flow(model, x, y, loss="mse")[0]
    # Each step back multiplies by at most 0.5 (|tanh'| <= 1, ||U|| = 0.5).
    assert np.all(flow[:-1] <= 0.5 * flow[1:] + 1e-12)
    assert flow[0] < 1e-8 * flow[-1]


@pytest.mark.slow
def test_deep_stack_matches_separate_layers():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 6, 3)).astype("float32")
    y = rng.normal(size=(4, 6, 2)).astype("float32")
    stacked = keras.Sequential([
        keras.Input((6, 3)),
        layers.RNN([cells.GRUCell(6), cells.LSTMCell(4)], return_sequences=True, name="deep"),
        keras.layers.Dense(2),
    ])
    separate = keras.Sequential([
        keras.Input((6, 3)),
        layers.GRU(6, return_sequences=True),
        layers.LSTM(4, return_sequences=True),
        keras.layers.Dense(2),
    ])
    separate.set_weights(stacked.get_weights())
    flow_stacked = diagnostics.gradient_flow(stacked, x, y, loss="mse")
    flow_separate = diagnostics.gradient_flow(separate, x, y, loss="mse")
    assert diagnostics.recurrent_layer_names(stacked) == ["deep/cell_0", "deep/cell_1"]
    assert flow_stacked.shape == (2, 6)
    np.testing.assert_allclose(flow_stacked, flow_separate, rtol=1e-5)
    # A loss at every step reaches every step of both layers.
    assert np.all(flow_stacked > 0)


def test_rejects_unsupported_models():
    bi = keras.Sequential([keras.Input((5, 2)), keras.layers.Bidirectional(layers.GRU(3)),
                           keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Bidirectional layer"):
        diagnostics.gradient_flow(bi, np.zeros((2, 5, 2)), np.zeros((2, 1)), loss="mse")
    dense = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="no recurrent layer"):
        diagnostics.gradient_flow(dense, np.zeros((2, 4)), np.zeros((2, 1)), loss="mse")
    rnn = keras.Sequential([keras.Input((5, 2)), layers.GRU(3), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Received: loss=None"):
        diagnostics.gradient_flow(rnn, np.zeros((2, 5, 2)), np.zeros((2, 1)))


def test_plot_writes_a_png(tmp_path):
    path = tmp_path / "flow.png"
    diagnostics.plot_gradient_flow(
        {"simple": np.geomspace(1e-6, 1.0, 20), "lstm": np.ones((2, 20))}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

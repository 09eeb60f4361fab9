"""The hand-written backward pass (zoo.layers.fused): gradients equal Keras's
built-in layers' (autodiff) within 1e-5, and `RNN.gradient` picks it only
where it is allowed and measured faster (under XLA)."""

import keras
import numpy as np
import pytest

import zoo
from tests.layers.test_parity import BATCH, FEATURES, STEPS, check_parity, forward_and_grads

pytestmark = pytest.mark.jax

OPTIONS = [
    dict(),
    dict(return_sequences=True, go_backwards=True, initial_state=True),
    dict(return_sequences=True, use_bias=False, input_projection="hoisted"),
    dict(return_state=False, initial_state=True, input_projection="per_step"),
]


def _ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"


@pytest.mark.parametrize("kind", ["simple", "gru", "lstm"])
@pytest.mark.parametrize("options", OPTIONS, ids=_ids)
def test_fused_gradients_match_keras(kind, options, fused_calls):
    """Outputs, final states and gradients (weights, inputs, initial states)."""
    check_parity(kind, gradient="fused", training=True, **options)
    assert fused_calls, "the fused backward pass did not run"


def test_fused_gradient_through_a_deep_stack(fused_calls):
    cells = [zoo.cells.LSTMCell(4), zoo.cells.GRUCell(3)]
    layer = zoo.layers.RNN(cells, return_sequences=True)
    layer.gradient = "fused"
    reference = zoo.layers.RNN([zoo.cells.LSTMCell(4), zoo.cells.GRUCell(3)],
                               return_sequences=True)
    reference.gradient = "autodiff"
    x = np.random.default_rng(2).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    layer.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(layer.get_weights())
    ours, our_grads = forward_and_grads(layer, x, training=True)
    theirs, their_grads = forward_and_grads(reference, x, training=True)
    assert fused_calls == ["LSTMCell", "GRUCell"]
    for a, b in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("layer_kwargs, call_kwargs", [
    (dict(activation="relu"), {}),
    (dict(recurrent_dropout=0.3), {}),
    (dict(unroll=True), {}),
    ({}, dict(mask=np.array([[1, 1, 0]] * 2, bool))),
], ids=["relu", "recurrent_dropout", "unroll", "mask"])
def test_options_without_a_fused_pass_use_autodiff(layer_kwargs, call_kwargs, fused_calls):
    layer = zoo.layers.LSTM(3, **layer_kwargs)
    layer.gradient = "fused"
    out = layer(np.ones((2, 3, 2), "float32"), training=True, **call_kwargs)
    assert out.shape == (2, 3) and not fused_calls


def test_gru_reset_before_uses_autodiff(fused_calls):
    layer = zoo.layers.GRU(3, reset_after=False)
    layer.gradient = "fused"
    layer(np.ones((2, 3, 2), "float32"), training=True)
    assert not fused_calls


def test_inference_never_runs_the_fused_pass(fused_calls):
    layer = zoo.layers.GRU(3)
    layer.gradient = "fused"
    layer(np.ones((2, 3, 2), "float32"), training=False)
    layer(np.ones((2, 3, 2), "float32"))
    assert not fused_calls


def test_auto_picks_the_fused_pass_only_under_xla(fused_calls):
    layer = zoo.layers.SimpleRNN(3)
    x = np.ones((2, 3, 2), "float32")
    layer(x)
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        tf.function(lambda v: layer(v, training=True))(x)
        assert not fused_calls  # TensorFlow's graph loop: autodiff measured faster
        tf.function(lambda v: layer(v, training=True), jit_compile=True)(x)
        assert fused_calls == ["SimpleRNNCell"]
    else:
        layer(x, training=True)
        assert fused_calls == ["SimpleRNNCell"]


def test_fit_with_the_fused_pass_reduces_the_loss(fused_calls):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 4.0
    layer = zoo.layers.GRU(8)
    layer.gradient = "fused"
    model = keras.Sequential([keras.Input((6, 3)), layer, keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.02), "mse")
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert fused_calls and model.evaluate(x, y, verbose=0) < 0.5 * before


def test_unknown_gradient_setting():
    """Rejected at construction, and when assigned later (not only at call time)."""
    with pytest.raises(ValueError, match=r"\['auto', 'fused', 'autodiff'\]\. "
                                         r"Received: gradient='symbolic'"):
        zoo.layers.LSTM(3, gradient="symbolic")
    layer = zoo.layers.LSTM(3)
    with pytest.raises(ValueError, match="Received: gradient='symbolic'"):
        layer.gradient = "symbolic"
    assert layer.gradient == "auto"

"""zoo.layers behaviour: Bidirectional, masks from Embedding/Masking, deep
stacks, foreign cells, stateful layers, dropout per sequence, shapes, training."""

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

NAMES = ["SimpleRNN", "GRU", "LSTM"]


def max_diff(a, b):
    a, b = keras.tree.flatten(a), keras.tree.flatten(b)
    assert len(a) == len(b)
    return max(float(np.abs(np.asarray(u) - np.asarray(v)).max()) for u, v in zip(a, b))


def inputs(shape=(3, 5, 4), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]], bool)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("merge_mode", ["concat", "sum", None])
@pytest.mark.slow
def test_bidirectional_matches_keras(name, merge_mode):
    x = inputs()
    ours = keras.layers.Bidirectional(
        getattr(zoo.layers, name)(6, return_sequences=True, return_state=True),
        merge_mode=merge_mode)
    theirs = keras.layers.Bidirectional(
        getattr(keras.layers, name)(6, return_sequences=True, return_state=True),
        merge_mode=merge_mode)
    theirs(x)
    ours(x)
    assert isinstance(ours.backward_layer, getattr(zoo.layers, name))
    assert ours.backward_layer.go_backwards and ours.forward_layer.zero_output_for_mask
    ours.set_weights(theirs.get_weights())
    assert max_diff(ours(x, mask=MASK), theirs(x, mask=MASK)) < 1e-5


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_mask_from_embedding_and_masking(name):
    tokens = np.array([[3, 1, 4, 0, 0], [2, 7, 1, 8, 2], [0, 0, 0, 0, 0]])

    def model(module):
        inp = keras.Input((None,), dtype="int32")
        emb = keras.layers.Embedding(10, 4, mask_zero=True)(inp)
        # Zeros at masked steps, so that Masking rebuilds the same mask for layer 2.
        seq = getattr(module, name)(6, return_sequences=True, zero_output_for_mask=True)(emb)
        masked = keras.layers.Masking(0.0)(seq)
        return keras.Model(inp, getattr(module, name)(3)(masked))

    ours, theirs = model(zoo.layers), model(keras.layers)
    ours.set_weights(theirs.get_weights())
    assert max_diff(ours(tokens), theirs(tokens)) < 1e-5
    # A fully masked row returns zeros; padding does not change a row's result.
    np.testing.assert_array_equal(np.asarray(ours(tokens))[2], 0.0)
    longer = np.concatenate([tokens, np.zeros((3, 4), int)], axis=1)
    np.testing.assert_allclose(np.asarray(ours(longer)), np.asarray(ours(tokens)), atol=1e-6)


@pytest.mark.slow
def test_deep_stack_matches_keras_stacked_cells():
    x = inputs()
    ours = zoo.layers.RNN([zoo.cells.LSTMCell(5), zoo.cells.GRUCell(3)],
                          return_sequences=True, return_state=True, go_backwards=True)
    # At leading masked steps Keras gives zeros on TensorFlow and the initial
    # state on JAX; zoo follows the backend's Keras (docs/layers.md).
    theirs = keras.layers.RNN([keras.layers.LSTMCell(5), keras.layers.GRUCell(3)],
                              return_sequences=True, return_state=True, go_backwards=True)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 0, 1, 1]], bool)
    initial = [[np.full((3, 5), 0.1, "float32"), np.full((3, 5), -0.2, "float32")],
               [np.full((3, 3), 0.3, "float32")]]
    result = ours(x, mask=mask, initial_state=initial)
    assert [tuple(t.shape) for t in keras.tree.flatten(result)] == \
        [(3, 5, 3), (3, 5), (3, 5), (3, 3)]
    assert max_diff(result, theirs(x, mask=mask, initial_state=initial)) < 1e-5


def test_foreign_keras_cell_with_dropout_runs_in_zoo_rnn():
    x = inputs()
    ours = zoo.layers.RNN(keras.layers.GRUCell(4, dropout=0.3), return_sequences=True)
    theirs = keras.layers.RNN(keras.layers.GRUCell(4, dropout=0.3), return_sequences=True)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    assert max_diff(ours(x, mask=MASK), theirs(x, mask=MASK)) < 1e-6
    trained = np.asarray(ours(x, training=True))
    assert trained.shape == (3, 5, 4) and np.isfinite(trained).all()
    assert not np.allclose(trained, np.asarray(ours(x)))


@pytest.mark.parametrize("name", NAMES)
def test_stateful_matches_keras_and_resets(name):
    x1, x2 = inputs(seed=1), inputs(seed=2)

    def model(module):
        return keras.Sequential([keras.Input((5, 4), batch_size=3),
                                 getattr(module, name)(4, stateful=True)])

    ours, theirs = model(zoo.layers), model(keras.layers)
    ours.set_weights(theirs.get_weights())
    assert len(ours.weights) == len(theirs.weights)  # states are not weights
    first = ours(x1)
    second = ours(x2)
    assert max_diff(first, theirs(x1)) < 1e-5 and max_diff(second, theirs(x2)) < 1e-5
    layer = ours.layers[0]
    assert max_diff(layer.states[0], theirs.layers[0].states[0]) < 1e-5
    layer.reset_states()  # the Keras 2 alias of reset_state()
    assert float(np.abs(np.asarray(layer.states[0])).max()) == 0.0
    fresh = keras.Sequential([keras.Input((5, 4), batch_size=3),
                              getattr(zoo.layers, name)(4, stateful=True)])
    fresh.set_weights(ours.get_weights())
    assert max_diff(ours(x2), fresh(x2)) < 1e-6
    values = [np.full(v.shape, 0.5, "float32") for v in layer.states]
    layer.reset_state(values)
    assert max_diff(layer.states, values) == 0.0


@pytest.mark.parametrize("name", NAMES)
def test_stateful_rejects_another_batch_size(name):
    layer = getattr(zoo.layers, name)(4, stateful=True)
    keras.Sequential([keras.Input((5, 4), batch_size=3), layer])
    with pytest.raises(ValueError, match=r"expected 3. Received: inputs with shape \(2, 5, 4\)"):
        layer(inputs((2, 5, 4)))


def test_input_dropout_uses_one_mask_per_sequence():
    """With identity kernels and no recurrence, every step outputs the input
    dropout mask itself: it must be the same at every timestep."""
    layer = zoo.layers.SimpleRNN(8, activation=None, dropout=0.5, use_bias=False,
                                 kernel_initializer="identity", recurrent_initializer="zeros",
                                 return_sequences=True, seed=4)
    out = np.asarray(layer(np.ones((16, 6, 8), "float32"), training=True))
    assert set(np.unique(out)) == {0.0, 2.0}
    np.testing.assert_array_equal(out, np.repeat(out[:, :1], 6, axis=1))
    np.testing.assert_array_equal(np.asarray(layer(np.ones((16, 6, 8), "float32"))), 1.0)


def test_recurrent_dropout_uses_one_mask_per_sequence():
    """With h_t = (h_{t-1} * m) @ I, dropped units stay zero at every step and kept
    units double at every step, only if the mask m is the same at every step."""
    layer = zoo.layers.SimpleRNN(8, activation=None, recurrent_dropout=0.5, use_bias=False,
                                 kernel_initializer="zeros", recurrent_initializer="identity",
                                 return_sequences=True, seed=5)
    out = np.asarray(layer(np.zeros((16, 4, 3), "float32"), training=True,
                           initial_state=[np.ones((16, 8), "float32")]))
    mask = out[:, 0] / 2.0
    assert set(np.unique(mask)) == {0.0, 1.0}
    for t in range(4):
        np.testing.assert_array_equal(out[:, t], mask * 2.0 ** (t + 1))


def test_go_backwards_is_forward_on_the_reversed_sequence():
    x = inputs()
    forward = zoo.layers.GRU(4, return_sequences=True, return_state=True)
    backward = zoo.layers.GRU(4, return_sequences=True, return_state=True, go_backwards=True)
    forward(x)
    backward(x)
    backward.set_weights(forward.get_weights())
    assert max_diff(backward(x), forward(x[:, ::-1])) < 1e-6


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_symbolic_shapes_and_masks(name, return_sequences):
    inp = keras.Input((None, 4))
    out = getattr(zoo.layers, name)(6, return_sequences=return_sequences, return_state=True)(inp)
    states = 2 if name == "LSTM" else 1
    assert len(out) == 1 + states
    assert tuple(out[0].shape) == ((None, None, 6) if return_sequences else (None, 6))
    assert all(tuple(s.shape) == (None, 6) for s in out[1:])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_fit_reduces_loss_and_jit_predict(name):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None] / 4.0
    model = keras.Sequential([keras.Input((6, 3)), getattr(zoo.layers, name)(8),
                              keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.02), "mse", jit_compile=True)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.5 * before
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(model(x)), atol=1e-5)


def test_mixed_precision_runs_in_half_and_matches_float32():
    x = inputs()
    full = zoo.layers.LSTM(4, return_sequences=True)
    half = zoo.layers.LSTM(4, return_sequences=True, dtype="mixed_bfloat16")
    full(x)
    half(x)
    half.set_weights(full.get_weights())
    out = half(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    np.testing.assert_allclose(np.asarray(out, dtype="float32"), np.asarray(full(x)), atol=0.05)

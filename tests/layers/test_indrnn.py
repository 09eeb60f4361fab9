"""IndRNN (Li et al., CVPR 2018): the layer against the NumPy reference of the paper's
equation (masks, go_backwards, initial state), float64 finite differences, the bound on
the recurrent weights for a sequence length (initial range and the clip after an update),
serialization and bad arguments."""

import keras
import numpy as np
import pytest

import zoo
from tests import numpy_reference
from tests.layers.test_parity import _projection, forward_and_grads, make_mask, random_weights
from zoo.layers.indrnn import RecurrentClip, recurrent_bound

pytestmark = pytest.mark.jax

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("mask_kind", [None, "padded", "holes"])
# go_backwards=True is slow: the default (and the JAX) run keeps the forward half
# of the matrix; CI's TensorFlow run takes all of it.
@pytest.mark.parametrize("go_backwards", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_outputs_and_states_equal_the_reference(activation, mask_kind, go_backwards):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    mask = make_mask(mask_kind)
    layer = zoo.layers.IndRNN(UNITS, activation=activation, return_sequences=True,
                              return_state=True, go_backwards=go_backwards)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng))
    kwargs = {} if mask is None else {"mask": mask}
    out, h = layer(x, initial_state=[h0], **kwargs)
    ref, (ref_h,) = numpy_reference.run(
        "indrnn", x, layer.get_weights(), mask=mask, initial_state=[h0],
        go_backwards=go_backwards, return_sequences=True, activation=activation)
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-5)
    # Before a row's first unmasked step the layer's output follows Keras's backend rule
    # (tests/layers/test_parity.py); compare the steps after it.
    seen = np.ones((BATCH, STEPS), bool) if mask is None else np.cumsum(
        mask[:, ::-1] if go_backwards else mask, axis=1) > 0
    got = np.asarray(out)
    np.testing.assert_allclose(got[seen], ref[seen], rtol=1e-5, atol=1e-5)


def test_gradient_matches_finite_differences():
    dtype, tolerance = ("float64", 1e-7) if keras.config.backend() == "tensorflow" \
        else ("float32", 2e-5)
    rng = np.random.default_rng(3)
    # tanh: differentiable everywhere (relu's kink would make central differences flaky).
    layer = zoo.layers.IndRNN(3, activation="tanh", return_sequences=True, dtype=dtype)
    x = rng.normal(size=(2, 4, 2)).astype(dtype)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng))
    _, grads = forward_and_grads(layer, x, mask=mask, seed=11)
    projection = _projection((2, 4, 3), 11)
    weights = [w.astype(np.float64) for w in layer.get_weights()]

    def loss(ws, inputs):
        out, _ = numpy_reference.run("indrnn", inputs, ws, mask=mask, return_sequences=True,
                                     activation="tanh")
        return float((out * projection).sum())

    eps, x64 = 1e-6, x.astype(np.float64)
    for _ in range(3):
        dirs_w = [rng.normal(size=w.shape) for w in weights]
        dir_x = rng.normal(size=x.shape)
        plus = loss([w + eps * d for w, d in zip(weights, dirs_w)], x64 + eps * dir_x)
        minus = loss([w - eps * d for w, d in zip(weights, dirs_w)], x64 - eps * dir_x)
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float((g * d).sum()) for g, d in zip(grads, dirs_w + [dir_x]))
        assert abs(numeric - analytic) <= tolerance * max(1.0, abs(numeric)), (numeric, analytic)


def test_the_bound_follows_the_sequence_length():
    # The authors' adding-problem code: MAG ** (1 / T) with MAG = 2 for relu, and
    # (MAG / 0.9 ** (T / 10)) ** (1 / T) for tanh.
    assert recurrent_bound(1000) == pytest.approx(2 ** (1 / 1000), rel=1e-12)
    assert recurrent_bound(100, "tanh") == pytest.approx((2 / 0.9 ** 10) ** (1 / 100), rel=1e-12)
    cell = zoo.cells.IndRNNCell(64, max_length=50)
    assert cell.recurrent_max_abs == pytest.approx(2 ** (1 / 50))
    cell.build((None, 3))
    u = np.asarray(cell.recurrent_kernel)
    assert u.shape == (64,) and u.min() >= 0.0 and u.max() <= cell.recurrent_max_abs
    assert u.std() > 0.1  # U(0, bound), not a constant
    assert zoo.cells.IndRNNCell(4, max_length=50, recurrent_max_abs=0.5).recurrent_max_abs == 0.5
    free = zoo.cells.IndRNNCell(4)
    assert free.recurrent_max_abs is None and free.recurrent_constraint is None


def test_an_update_past_the_bound_is_clipped():
    layer = zoo.layers.IndRNN(4, max_length=10)
    model = keras.Sequential([keras.Input((10, 2)), layer, keras.layers.Dense(1)])
    layer.cell.recurrent_kernel.assign(np.array([5.0, -5.0, 0.5, -0.5], "float32"))
    # Zero inputs keep h at 0, so u's gradient is 0: the step moves nothing, the clip does.
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(np.zeros((2, 10, 2), "float32"), np.ones((2, 1), "float32"), epochs=1, verbose=0)
    bound = 2 ** (1 / 10)
    np.testing.assert_allclose(np.asarray(layer.cell.recurrent_kernel),
                               [bound, -bound, 0.5, -0.5], rtol=1e-5)


def test_keras_file_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    model = keras.Sequential([keras.Input((7, 3)), zoo.layers.IndRNN(4, max_length=7),
                              keras.layers.Dense(1)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
    cell = loaded.layers[0].cell
    assert isinstance(cell.recurrent_constraint, RecurrentClip)
    assert (cell.max_length, cell.recurrent_max_abs) == (7, pytest.approx(2 ** (1 / 7)))
    assert loaded.layers[0].get_config() == model.layers[0].get_config()


@pytest.mark.parametrize("kwargs, message", [
    ({"max_length": 0}, "`max_length` must be a positive integer .* Received: max_length=0"),
    ({"max_length": 2.5}, "Received: max_length=2.5"),
    ({"max_length": True}, "Received: max_length=True"),
    ({"recurrent_max_abs": -1.0},
     "`recurrent_max_abs` must be a positive number .*Received: recurrent_max_abs=-1.0"),
    ({"units": 0}, "units"),
])
def test_bad_arguments_are_refused_with_what_was_received(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.layers.IndRNN(**{"units": 4, **kwargs})

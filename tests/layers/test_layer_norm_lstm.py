"""LayerNormLSTM (Ba, Kiros & Hinton 2016): the layer against the NumPy reference of the
paper's equations (masks, go_backwards, initial state, hoisted and per-step input
projection, random normalisation weights), float64 finite differences, the weights and
their initial values, serialization and bad arguments."""

import keras
import numpy as np
import pytest

import zoo
from tests import numpy_reference
from tests.layers.test_parity import _projection, forward_and_grads, make_mask
from zoo.layers.layer_norm_lstm import layer_norm

pytestmark = pytest.mark.jax

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5
NORM_WEIGHTS = ["input_gamma", "input_beta", "recurrent_gamma", "recurrent_beta",
                "cell_gamma", "cell_beta"]


def random_weights(layer, rng):
    """Random kernels and bias; gammas around 1 and betas around 0, neither constant."""
    weights = []
    for variable, value in zip(layer.weights, layer.get_weights()):
        noise = rng.normal(scale=0.5, size=value.shape)
        if variable.name.endswith("gamma"):
            noise = 1.0 + 0.6 * noise
        weights.append(noise.astype(value.dtype))
    return weights


@pytest.mark.parametrize("input_projection", ["hoisted", "per_step"])
@pytest.mark.parametrize("mask_kind", [None, "padded", "holes"])
# go_backwards=True is slow: the default (and the JAX) run keeps the forward half
# of the matrix; CI's TensorFlow run takes all of it.
@pytest.mark.parametrize("go_backwards", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_outputs_and_states_equal_the_reference(input_projection, mask_kind, go_backwards):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    h0, c0 = (rng.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(2))
    mask = make_mask(mask_kind)
    layer = zoo.layers.LayerNormLSTM(UNITS, return_sequences=True, return_state=True,
                                     go_backwards=go_backwards, norm_epsilon=1e-2,
                                     input_projection=input_projection)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng))
    kwargs = {} if mask is None else {"mask": mask}
    out, h, c = layer(x, initial_state=[h0, c0], **kwargs)
    ref, (ref_h, ref_c) = numpy_reference.run(
        "layer_norm_lstm", x, layer.get_weights(), mask=mask, initial_state=[h0, c0],
        go_backwards=go_backwards, return_sequences=True, epsilon=1e-2)
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c), ref_c, rtol=1e-5, atol=1e-5)
    # Before a row's first unmasked step the output follows Keras's backend rule
    # (tests/layers/test_parity.py); compare the steps after it.
    seen = np.ones((BATCH, STEPS), bool) if mask is None else np.cumsum(
        mask[:, ::-1] if go_backwards else mask, axis=1) > 0
    np.testing.assert_allclose(np.asarray(out)[seen], ref[seen], rtol=1e-5, atol=1e-5)


def test_without_bias_and_with_other_activations_equals_the_reference():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    layer = zoo.layers.LayerNormLSTM(4, use_bias=False, activation="relu",
                                     recurrent_activation="hard_sigmoid")
    layer.build(x.shape)
    assert [w.name for w in layer.weights] == ["kernel", "recurrent_kernel"] + NORM_WEIGHTS
    layer.set_weights(random_weights(layer, rng))
    ref, _ = numpy_reference.run("layer_norm_lstm", x, layer.get_weights(), use_bias=False,
                                 activation="relu", recurrent_activation="hard_sigmoid")
    np.testing.assert_allclose(np.asarray(layer(x)), ref, rtol=1e-5, atol=1e-5)


def test_the_cell_step_and_the_hoisted_projection_agree():
    rng = np.random.default_rng(2)
    cell = zoo.cells.LayerNormLSTMCell(UNITS)
    x = rng.normal(size=(STEPS, BATCH, FEATURES)).astype("float32")
    cell.build(x.shape[1:])
    cell.set_weights(random_weights(cell, rng))
    # Normalised over the last axis: projecting a whole sequence equals step by step.
    whole = np.asarray(cell.project_inputs(x))
    for t in range(STEPS):
        np.testing.assert_allclose(whole[t], np.asarray(cell.project_inputs(x[t])),
                                   rtol=1e-5, atol=1e-5)
    states = cell.get_initial_state(BATCH)
    h, (h, c) = cell(x[0], states)
    ref, (ref_h, ref_c) = numpy_reference.run(
        "layer_norm_lstm", np.transpose(x[:1], (1, 0, 2)), cell.get_weights())
    np.testing.assert_allclose(np.asarray(h), ref_h, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(c), ref_c, rtol=1e-5, atol=1e-5)


def test_layer_norm_normalises_the_last_axis():
    v = np.random.default_rng(0).normal(3.0, 2.0, size=(2, 3, 8)).astype("float32")
    out = np.asarray(layer_norm(v, np.ones(8, "float32"), np.zeros(8, "float32"), 1e-6))
    np.testing.assert_allclose(out.mean(-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(-1), 1.0, atol=1e-4)


def test_initial_weights():
    cell = zoo.cells.LayerNormLSTMCell(3)
    cell.build((None, 2))
    shapes = {w.name: tuple(w.shape) for w in cell.weights}
    assert shapes == {"kernel": (2, 12), "recurrent_kernel": (3, 12), "bias": (12,),
                      "input_gamma": (12,), "input_beta": (12,), "recurrent_gamma": (12,),
                      "recurrent_beta": (12,), "cell_gamma": (3,), "cell_beta": (3,)}
    for name in NORM_WEIGHTS:
        value = np.asarray(getattr(cell, name))
        np.testing.assert_array_equal(value, 1.0 if name.endswith("gamma") else 0.0)
    # unit_forget_bias as the LSTM's: ones in the f block (i, f, c, o).
    np.testing.assert_array_equal(np.asarray(cell.bias), [0] * 3 + [1] * 3 + [0] * 6)
    assert not cell.supports_fused_gradient()


def test_gradient_matches_finite_differences():
    dtype, tolerance = ("float64", 1e-7) if keras.config.backend() == "tensorflow" \
        else ("float32", 5e-5)
    rng = np.random.default_rng(3)
    layer = zoo.layers.LayerNormLSTM(3, return_sequences=True, dtype=dtype,
                                     input_projection="hoisted")
    x = rng.normal(size=(2, 4, 2)).astype(dtype)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng))
    _, grads = forward_and_grads(layer, x, mask=mask, seed=11)
    projection = _projection((2, 4, 3), 11)
    weights = [w.astype(np.float64) for w in layer.get_weights()]

    def loss(ws, inputs):
        out, _ = numpy_reference.run("layer_norm_lstm", inputs, ws, mask=mask,
                                     return_sequences=True)
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


def test_gradient_fused_falls_back_to_autodiff(fused_calls):
    layer = zoo.layers.LayerNormLSTM(3, gradient="fused")
    x = np.random.default_rng(1).normal(size=(2, 4, 2)).astype("float32")
    _, grads = forward_and_grads(layer, x, training=True)
    assert fused_calls == []
    assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)


@pytest.mark.slow
def test_trains_and_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 7, 3)).astype("float32")
    model = keras.Sequential([
        keras.Input((7, 3)),
        zoo.layers.LayerNormLSTM(4, norm_epsilon=1e-4, chrono_init=7, dropout=0.1),
        keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse")
    before = np.asarray(model.layers[0].cell.cell_gamma).copy()
    model.fit(x, np.ones((4, 1), "float32"), epochs=2, verbose=0)
    assert not np.allclose(np.asarray(model.layers[0].cell.cell_gamma), before)
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
    layer = loaded.layers[0]
    assert type(layer) is zoo.layers.LayerNormLSTM
    assert (layer.norm_epsilon, layer.chrono_init) == (1e-4, 7)
    assert layer.get_config() == model.layers[0].get_config()
    cell = zoo.cells.LayerNormLSTMCell(3, norm_epsilon=0.5, unit_forget_bias=False)
    clone = zoo.cells.LayerNormLSTMCell.from_config(cell.get_config())
    assert clone.get_config() == cell.get_config() and clone.norm_epsilon == 0.5


def test_runs_in_a_zoo_rnn_stack():
    stack = zoo.layers.RNN([zoo.cells.LayerNormLSTMCell(3), zoo.cells.LayerNormLSTMCell(2)])
    assert stack(np.ones((2, 5, 4), "float32")).shape == (2, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"norm_epsilon": 0}, "`norm_epsilon` must be a positive number. Received: norm_epsilon=0"),
    ({"norm_epsilon": -1e-3}, "Received: norm_epsilon=-0.001"),
    ({"norm_epsilon": True}, "Received: norm_epsilon=True"),
    ({"units": 0}, "`units` must be a positive integer. Received: units=0"),
    ({"chrono_init": 2}, "Received: chrono_init=2"),
])
def test_bad_arguments_are_refused_with_what_was_received(kwargs, message):
    with pytest.raises(ValueError, match=message):
        zoo.layers.LayerNormLSTM(**{"units": 4, **kwargs})
    with pytest.raises(ValueError, match=message):
        zoo.cells.LayerNormLSTMCell(**{"units": 4, **kwargs})


def test_a_feature_change_after_build_is_refused():
    layer = zoo.layers.LayerNormLSTM(3)
    layer(np.ones((2, 4, 5), "float32"))
    with pytest.raises(ValueError, match="built for inputs with 5 features"):
        layer(np.ones((2, 4, 6), "float32"))


def test_16_bit_inputs_are_normalised_in_float32():
    """Values whose squares overflow float16 (a cell state grown over many steps)."""
    v = keras.ops.convert_to_tensor(np.array([[300.0, -300.0, 100.0, 0.0]]), "float16")
    out = layer_norm(v, keras.ops.ones((4,), "float16"), keras.ops.zeros((4,), "float16"), 1e-3)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    ref = np.array([300.0, -300.0, 100.0, 0.0]) - 25.0
    ref = ref / np.sqrt((ref ** 2).mean() + 1e-3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[0].astype("float64"), ref,
                               atol=2e-3)

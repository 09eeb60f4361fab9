"""zoo.cells: weight layout, one-step equations, Keras cell parity, dropout,
config round trip and argument validation."""

import inspect

import keras
import numpy as np
import pytest

from tests import numpy_reference
from zoo import cells

pytestmark = pytest.mark.jax

CELLS = {
    "simple": (cells.SimpleRNNCell, keras.layers.SimpleRNNCell, {}),
    "gru": (cells.GRUCell, keras.layers.GRUCell, {"reset_after": True}),
    "gru_v1": (cells.GRUCell, keras.layers.GRUCell, {"reset_after": False}),
    "lstm": (cells.LSTMCell, keras.layers.LSTMCell, {}),
}
GATES = {"simple": 1, "gru": 3, "gru_v1": 3, "lstm": 4}


def built(kind, units=5, features=3, **kwargs):
    zoo_cls, _, extra = CELLS[kind]
    cell = zoo_cls(units, **{**extra, **kwargs})
    cell.build((None, features))
    return cell


def randomize(cell, rng):
    cell.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                      for w in cell.get_weights()])


@pytest.mark.parametrize("kind", list(CELLS))
def test_weight_layout_matches_keras(kind):
    zoo_cls, keras_cls, extra = CELLS[kind]
    ours, theirs = zoo_cls(5, **extra), keras_cls(5, **extra)
    ours.build((None, 3))
    theirs.build((None, 3))
    k = GATES[kind]
    assert [w.shape for w in ours.weights][:2] == [(3, k * 5), (5, k * 5)]
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"]
    expected_bias = (2, 15) if kind == "gru" else (k * 5,)
    assert tuple(ours.bias.shape) == expected_bias


def test_lstm_unit_forget_bias_initialization():
    bias = keras.ops.convert_to_numpy(built("lstm", units=4, bias_initializer="zeros").bias)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    bias = keras.ops.convert_to_numpy(built("lstm", units=4, unit_forget_bias=False).bias)
    np.testing.assert_array_equal(bias, np.zeros(16))


@pytest.mark.parametrize("kind", list(CELLS))
def test_one_step_matches_numpy_equations(kind):
    rng = np.random.default_rng(0)
    cell = built(kind)
    randomize(cell, rng)
    x = rng.normal(size=(2, 3)).astype("float32")
    states = [rng.normal(size=(2, 5)).astype("float32")
              for _ in keras.tree.flatten(cell.state_size)]
    output, new_states = cell(x, states)
    step = numpy_reference.STEPS[kind.split("_")[0]]
    expected, expected_states = step(x.astype("float64"), [s.astype("float64") for s in states],
                                     *[w.astype("float64") for w in cell.get_weights()],
                                     **CELLS[kind][2])
    np.testing.assert_allclose(np.asarray(output), expected, rtol=1e-5, atol=1e-6)
    assert len(new_states) == len(expected_states)
    for ours, theirs in zip(new_states, expected_states):
        np.testing.assert_allclose(np.asarray(ours), theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(CELLS))
def test_one_step_matches_keras_cell_both_ways(kind):
    _, keras_cls, extra = CELLS[kind]
    rng = np.random.default_rng(1)
    ours = built(kind, activation="relu")
    theirs = keras_cls(5, activation="relu", **extra)
    theirs.build((None, 3))
    randomize(ours, rng)
    theirs.set_weights(ours.get_weights())
    x = rng.normal(size=(4, 3)).astype("float32")
    states = theirs.get_initial_state(4)
    states = [s + 0.3 for s in states]
    out_zoo, st_zoo = ours(x, states)
    out_keras, st_keras = theirs(x, states)
    np.testing.assert_allclose(np.asarray(out_zoo), np.asarray(out_keras), rtol=1e-5, atol=1e-6)
    for a, b in zip(keras.tree.flatten(st_zoo), keras.tree.flatten(st_keras)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    randomize(theirs, rng)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, states)[0]), np.asarray(theirs(x, states)[0]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", list(CELLS))
def test_call_is_projection_then_recurrent_step(kind):
    """The fast path (all inputs projected at once) equals the per-step call."""
    rng = np.random.default_rng(2)
    cell = built(kind)
    randomize(cell, rng)
    xs = rng.normal(size=(6, 2, 3)).astype("float32")
    states = cell.get_initial_state(2)
    projected = cell.project_inputs(xs)
    assert tuple(projected.shape) == (6, 2, GATES[kind] * 5)
    fast_states, step_states = list(states), list(states)
    for t in range(6):
        fast_out, fast_states = cell.recurrent_step(projected[t], fast_states)
        step_out, step_states = cell(xs[t], step_states)
        np.testing.assert_allclose(np.asarray(fast_out), np.asarray(step_out), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kind", list(CELLS))
def test_single_tensor_state_and_initial_state(kind):
    cell = built(kind)
    initial = cell.get_initial_state(batch_size=3)
    assert [tuple(s.shape) for s in initial] == [(3, 5)] * (2 if kind == "lstm" else 1)
    assert all(keras.backend.standardize_dtype(s.dtype) == "float32" for s in initial)
    if kind != "lstm":
        out, state = cell(np.ones((3, 3), "float32"), initial[0])
        assert not isinstance(state, (list, tuple))
        np.testing.assert_array_equal(np.asarray(out), np.asarray(state))


@pytest.mark.parametrize("kind", list(CELLS))
def test_dropout_only_in_training(kind):
    rng = np.random.default_rng(3)
    plain, dropped = built(kind), built(kind, dropout=0.5, recurrent_dropout=0.5, seed=1)
    randomize(plain, rng)
    dropped.set_weights(plain.get_weights())
    x = rng.normal(size=(8, 3)).astype("float32")
    states = [s + 0.5 for s in plain.get_initial_state(8)]
    reference = np.asarray(plain(x, states)[0])
    np.testing.assert_allclose(np.asarray(dropped(x, states, training=False)[0]), reference,
                               rtol=1e-6, atol=1e-6)
    assert not np.allclose(np.asarray(dropped(x, states, training=True)[0]), reference, atol=1e-3)


def test_dropout_masks_are_scaled_and_binary():
    cell = built("gru", dropout=0.25, recurrent_dropout=0.5, seed=3)
    input_mask, recurrent_mask = cell.get_dropout_masks(
        np.ones((64, 3), "float32"), np.ones((64, 5), "float32"), training=True)
    assert set(np.unique(np.asarray(input_mask))) <= {0.0, np.float32(1 / 0.75)}
    assert set(np.unique(np.asarray(recurrent_mask))) <= {0.0, 2.0}
    assert cell.get_dropout_masks(np.ones((2, 3)), np.ones((2, 5)), training=False) == (None, None)


def _constructor_args(cls):
    return [name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("kind", list(CELLS))
def test_same_constructor_as_keras_and_config_round_trip(kind):
    zoo_cls, keras_cls, extra = CELLS[kind]
    # The gated zoo cells add chrono initialisation (zoo.layers.chrono).
    zoo_only = {"chrono_init"} if kind != "simple" else set()
    assert set(_constructor_args(zoo_cls)) == set(_constructor_args(keras_cls)) | zoo_only
    cell = zoo_cls(7, **extra, activation="relu", dropout=0.25, seed=5,
                   kernel_regularizer="l2", bias_constraint="non_neg")
    config = cell.get_config()
    for name in _constructor_args(zoo_cls):
        assert hasattr(cell, name), name
        assert name in config, name
    clone = zoo_cls.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(cell))
    assert type(restored) is zoo_cls and restored.get_config() == config


@pytest.mark.parametrize("units", [0, -3, 2.5, "4", True])
def test_invalid_units(units):
    with pytest.raises(ValueError, match=f"Received: units={units!r}"):
        cells.LSTMCell(units)


@pytest.mark.parametrize("arg", ["activation", "recurrent_activation"])
def test_unknown_activation(arg):
    with pytest.raises(ValueError, match=f"Received: {arg}='tanhh'"):
        cells.GRUCell(4, **{arg: "tanhh"})


@pytest.mark.parametrize("arg", ["dropout", "recurrent_dropout"])
@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5])
def test_dropout_out_of_range(arg, value):
    with pytest.raises(ValueError, match=rf"\[0, 1\). Received: {arg}={value}"):
        cells.SimpleRNNCell(4, **{arg: value})


def test_feature_size_change_after_build():
    cell = built("lstm", features=3)
    with pytest.raises(ValueError, match=r"built for inputs with 3 features.*Received: input with "
                                         r"shape \(2, 4\)"):
        cell(np.ones((2, 4), "float32"), cell.get_initial_state(2))

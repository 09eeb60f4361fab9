"""zoo.layers as drop-in replacements of keras.layers, where they meet other
Keras layers: static shapes (TimeDistributed), integer inputs, and masked
steps before a row's first unmasked step with an initial state, each against
the Keras layer with the same weights on the backend that runs. The
TensorFlow-only checks (tf.function traces, string tensors) are in
test_dropin_tf.py."""

import re

import keras
import numpy as np
import pytest

import zoo
from tests import covering

pytestmark = pytest.mark.jax

NAMES = ["SimpleRNN", "GRU", "LSTM"]
BATCH, STEPS, FEATURES, UNITS = 8, 6, 3, 4
TOL = dict(rtol=1e-5, atol=1e-5)

# The paths of the time loop as option axes. Every pair of their values meets in at
# least one case of the covering set (tests/covering.py); ZOO_TEST_EXHAUSTIVE=1 runs
# their full product. `gradient` and `input_projection` are zoo's own options (the
# fused backward pass and the hoisted input projection); `masked` puts a Masking
# layer (or a mask) before the layer.
AXES = {
    "name": NAMES,
    "go_backwards": [False, True],
    "return_state": [False, True],
    "unroll": [False, True],
    "gradient": ["auto", "fused"],
    "input_projection": ["auto", "hoisted"],
    "masked": [False, True],
}
_SHARED = ("go_backwards", "return_state", "unroll")


def path_cases():
    """The covering set of the loop's paths, as pytest params of one case dict each."""
    return [pytest.param(case, id="-".join(f"{k}={v}" for k, v in case.items()))
            for case in covering.cases(AXES)]


def options(case):
    """(zoo's layer options, Keras's layer options) of a case."""
    shared = {k: case[k] for k in _SHARED if case[k]}
    ours = dict(shared, gradient=case["gradient"], input_projection=case["input_projection"])
    return ours, shared


def _pair(name, zoo_kwargs, keras_kwargs, **common):
    return (getattr(zoo.layers, name)(UNITS, **common, **zoo_kwargs),
            getattr(keras.layers, name)(UNITS, **common, **keras_kwargs))


def _time_distributed_model(layer, case):
    inputs = keras.Input((STEPS if case["unroll"] else None, FEATURES))
    x = keras.layers.Masking()(inputs) if case["masked"] else inputs
    h = layer(x)
    if isinstance(h, (list, tuple)):
        h = h[0]
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(FEATURES))(h)
    return keras.Model(inputs, outputs)


def _sequences(masked=False):
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    if masked:
        x[1, 4:] = 0.0
        x[2, :2] = 0.0
    return x


@pytest.mark.parametrize("case", path_cases())
@pytest.mark.slow
def test_time_distributed_after_the_layer_predicts_and_fits_as_with_keras(case):
    """TimeDistributed reads the timesteps from the static shape of the
    recurrent layer's output; with (batch, None, units) it mapped over the
    wrong axis ((4, 4, 3) for (4, 6, 3) inputs, or an out-of-bounds slice)."""
    zoo_layer, keras_layer = _pair(case["name"], *options(case), return_sequences=True)
    ours = _time_distributed_model(zoo_layer, case)
    theirs = _time_distributed_model(keras_layer, case)
    ours.set_weights(theirs.get_weights())
    x = _sequences(masked=case["masked"])
    expected = theirs.predict(x, batch_size=BATCH, verbose=0)
    got = ours.predict(x, batch_size=BATCH, verbose=0)
    assert got.shape == expected.shape == (BATCH, STEPS, FEATURES)
    np.testing.assert_allclose(got, expected, **TOL)

    y = np.random.default_rng(1).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    losses = []
    for model in (theirs, ours):
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        losses.append(model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0,
                                shuffle=False).history["loss"])
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
@pytest.mark.parametrize("name", NAMES)
def test_integer_inputs_are_cast_to_the_compute_dtype_as_in_keras(name, dtype):
    x = np.random.default_rng(0).integers(0, 5, size=(2, STEPS, FEATURES)).astype(dtype)
    ours, theirs = _pair(name, {}, {}, return_sequences=True)
    expected = theirs(x)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), **TOL)
    # In a functional model with an integer Input, and under a float16 policy.
    model = keras.Model(*(lambda i: (i, ours(i)))(keras.Input((None, FEATURES), dtype=dtype)))
    np.testing.assert_allclose(model.predict(x, verbose=0), np.asarray(expected), **TOL)
    half = getattr(zoo.layers, name)(UNITS, dtype="mixed_float16")
    assert keras.backend.standardize_dtype(half(x).dtype) == "float16"


@pytest.mark.parametrize("name", NAMES)
def test_boolean_inputs_are_refused(name):
    layer = getattr(zoo.layers, name)(UNITS)
    message = (f"{name} '{layer.name}' expects floating-point or integer inputs (e.g. float32; "
               "integers are cast to the layer's compute dtype). Received: inputs with dtype bool")
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(np.zeros((2, STEPS, FEATURES), bool))
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(keras.Input((None, FEATURES), dtype="bool"))


# ------------------------------------------ leading masked steps + initial state
# Row 0 is full, row 1 starts with two masked steps, row 2 ends with two, row 3
# is fully masked.
_MASK = np.array([[1] * 6, [0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0], [0] * 6], bool)


def _initial_state(name, batch, seed=2):
    rng = np.random.default_rng(seed)
    count = 2 if name == "LSTM" else 1
    return [rng.normal(size=(batch, UNITS)).astype("float32") for _ in range(count)]


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_masked_leading_steps_with_an_initial_state_match_keras(name, go_backwards, unroll):
    """Keras on JAX outputs the initial state at the steps before a row's
    first unmasked step (its scan loop repeats the first state), Keras on
    TensorFlow and Keras's unrolled loop output zeros; the zoo layers match
    the Keras of the backend that runs."""
    x = np.random.default_rng(0).normal(size=(4, STEPS, FEATURES)).astype("float32")
    state = _initial_state(name, 4)
    options = dict(return_sequences=True, return_state=True, go_backwards=go_backwards,
                   unroll=unroll)
    ours, theirs = _pair(name, {}, {}, **options)
    expected = theirs(x, initial_state=state, mask=_MASK)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    got = ours(x, initial_state=state, mask=_MASK)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), **TOL)
    # The rows' leading masked steps (in processing order) are what differ by backend.
    sequence = np.asarray(got[0])
    row = 2 if go_backwards else 1
    leading = sequence[row, :2]
    wanted = state[0][row] if keras.config.backend() == "jax" and not unroll else 0.0
    np.testing.assert_allclose(leading, np.broadcast_to(wanted, leading.shape), **TOL)


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_bidirectional_masked_with_initial_states_matches_keras(name, return_sequences):
    """Bidirectional forces zero_output_for_mask with return_sequences; without
    it the fully masked row's last output is where the backends differ."""
    x = np.random.default_rng(0).normal(size=(4, STEPS, FEATURES)).astype("float32")
    states = _initial_state(name, 4, seed=2) + _initial_state(name, 4, seed=3)
    ours = keras.layers.Bidirectional(
        getattr(zoo.layers, name)(UNITS, return_sequences=return_sequences))
    theirs = keras.layers.Bidirectional(
        getattr(keras.layers, name)(UNITS, return_sequences=return_sequences))
    expected = theirs(x, initial_state=states, mask=_MASK)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x, initial_state=states, mask=_MASK)),
                               np.asarray(expected), **TOL)

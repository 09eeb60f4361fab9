"""MinGRU and MinLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): both modes against
the NumPy reference of the paper's plain equations (masks, go_backwards, negative initial
states), the parallel log-space scan against the step loop (outputs and gradients at 64
steps), float64 finite differences of the parallel mode, chrono initialisation of the gate
biases, serialization, stateful calls, a deep stack at 1000 steps and bad arguments."""

import keras
import numpy as np
import pytest

import zoo
from tests import numpy_reference
from tests.layers.test_parity import _projection, forward_and_grads, make_mask, random_weights
from zoo.layers.min_rnn import MinGRUCell, MinLSTMCell

pytestmark = pytest.mark.jax

BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5
LAYERS = {"mingru": zoo.layers.MinGRU, "minlstm": zoo.layers.MinLSTM}
CELLS = {"mingru": MinGRUCell, "minlstm": MinLSTMCell}
TOL = dict(rtol=1e-5, atol=1e-5)


def _layer(kind, rng, shape=(BATCH, STEPS, FEATURES), scale=1.0, **kwargs):
    layer = LAYERS[kind](UNITS, **kwargs)
    layer.build(shape)
    layer.set_weights(random_weights(layer, rng, scale=scale))
    return layer


def _before_first_step(mask, go_backwards):
    """(batch, timesteps) in processing order: True before a row's first unmasked step."""
    order = mask[:, ::-1] if go_backwards else mask
    return np.cumsum(order, axis=1) == 0


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("mode", ["parallel", "step"])
@pytest.mark.parametrize("mask_kind", [None, "padded", "holes"])
# go_backwards=True is slow: the default (and the JAX) run keeps the forward half
# of the matrix; CI's TensorFlow run takes all of it.
@pytest.mark.parametrize("go_backwards", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_outputs_and_states_equal_the_reference(kind, mode, mask_kind, go_backwards):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    h0 = rng.normal(scale=2.0, size=(BATCH, UNITS)).astype("float32")
    h0[0] = -np.abs(h0[0])  # a negative initial state (the scan adds exp(A) * h0)
    mask = make_mask(mask_kind)
    layer = _layer(kind, rng, mode=mode, return_sequences=True, return_state=True,
                   go_backwards=go_backwards)
    kwargs = {} if mask is None else {"mask": mask}
    out, h = layer(x, initial_state=[h0], **kwargs)
    ref, (ref_h,) = numpy_reference.run(kind, x, layer.get_weights(), mask=mask,
                                        initial_state=[h0], go_backwards=go_backwards,
                                        return_sequences=True)
    np.testing.assert_allclose(np.asarray(h), ref_h, **TOL)
    got = np.asarray(out)
    before = np.zeros((BATCH, STEPS), bool) if mask is None else \
        _before_first_step(mask, go_backwards)
    np.testing.assert_allclose(got[~before], ref[~before], **TOL)
    # Before a row's first unmasked step: zeros on TensorFlow, the initial state on JAX,
    # as the shared time loop gives (zoo.layers.loop), in both modes.
    fill = np.broadcast_to(h0[:, None], got.shape) if keras.config.backend() == "jax" \
        else np.zeros_like(got)
    np.testing.assert_allclose(got[before], fill[before], **TOL)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("mode", ["parallel", "step"])
def test_zero_output_for_mask_and_last_output(kind, mode):
    rng = np.random.default_rng(8)
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    mask = make_mask("holes")
    layer = _layer(kind, rng, mode=mode, zero_output_for_mask=True, return_state=True)
    out, h = layer(x, mask=mask)
    ref, (ref_h,) = numpy_reference.run(kind, x, layer.get_weights(), mask=mask,
                                        zero_output_for_mask=True)
    np.testing.assert_allclose(np.asarray(out), ref, **TOL)
    np.testing.assert_allclose(np.asarray(h), ref_h, **TOL)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_one_cell_step_is_the_plain_equation(kind):
    rng = np.random.default_rng(2)
    cell = CELLS[kind](UNITS)
    cell.build((BATCH, FEATURES))
    assert cell.recurrent_kernel is None and cell.recurrent_weights() == ()
    assert [w.shape for w in cell.get_weights()] == \
        [(FEATURES, cell._gates * UNITS), (cell._gates * UNITS,)]
    cell.set_weights(random_weights(cell, rng, scale=1.0))
    x = rng.normal(size=(BATCH, FEATURES)).astype("float32")
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    out, (h,) = cell(x, [h0])
    ref, _ = numpy_reference.STEPS[kind](x, [h0], *cell.get_weights()[:1], None,
                                         cell.get_weights()[1])
    np.testing.assert_allclose(np.asarray(h), ref, **TOL)
    np.testing.assert_allclose(np.asarray(out), ref, **TOL)


def _long_mask(steps):
    mask = np.ones((BATCH, steps), bool)
    mask[1, steps // 2:] = False                      # right padding
    mask[2, :5] = False                               # left padding and holes
    mask[2, 20:30:2] = False
    return mask


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.slow
def test_parallel_and_step_modes_agree_in_outputs_and_gradients(kind, masked):
    steps = 64
    rng = np.random.default_rng(11)
    shape = (BATCH, steps, FEATURES)
    layers = {mode: _layer(kind, np.random.default_rng(1), shape, mode=mode,
                           return_sequences=True, return_state=True)
              for mode in ("parallel", "step")}
    x = rng.normal(size=shape).astype("float32")
    h0 = rng.normal(size=(BATCH, UNITS)).astype("float32")
    mask = _long_mask(steps) if masked else None
    (out_p, grads_p), (out_s, grads_s) = (
        forward_and_grads(layers[m], x, [h0], mask) for m in ("parallel", "step"))
    for a, b in zip(out_p, out_s):
        np.testing.assert_allclose(a, b, **TOL)
    assert len(grads_p) == len(grads_s) == 4  # kernel, bias, inputs, initial state
    for a, b in zip(grads_p, grads_s):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(b).max()))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_parallel_gradient_matches_finite_differences(kind):
    # float64 on TensorFlow; on JAX (no float64 without x64) float32 with a float32-sized
    # tolerance, as tests/layers/test_parity.py does.
    dtype, tolerance = ("float64", 1e-7) if keras.config.backend() == "tensorflow" \
        else ("float32", 2e-5)
    rng = np.random.default_rng(3)
    layer = LAYERS[kind](3, mode="parallel", return_sequences=True, dtype=dtype)
    x = rng.normal(size=(2, 4, 2)).astype(dtype)
    h0 = rng.normal(size=(2, 3)).astype(dtype)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng, scale=1.0))
    _, grads = forward_and_grads(layer, x, [h0], mask=mask, seed=11)
    assert all(g.dtype == np.dtype(dtype) for g in grads)
    projection = _projection((2, 4, 3), 11)
    weights = [w.astype(np.float64) for w in layer.get_weights()]

    def loss(ws, inputs, state):
        out, _ = numpy_reference.run(kind, inputs, ws, mask=mask, initial_state=[state],
                                     return_sequences=True)
        # The layer's rule before a row's first unmasked step (row 1, step 0).
        if keras.config.backend() == "jax":
            out[1, 0] = state[1]
        return float((out * projection).sum())

    eps, x64, h64 = 1e-6, x.astype(np.float64), h0.astype(np.float64)
    for _ in range(3):
        dirs_w = [rng.normal(size=w.shape) for w in weights]
        dir_x, dir_h = rng.normal(size=x.shape), rng.normal(size=h0.shape)
        plus = loss([w + eps * d for w, d in zip(weights, dirs_w)], x64 + eps * dir_x,
                    h64 + eps * dir_h)
        minus = loss([w - eps * d for w, d in zip(weights, dirs_w)], x64 - eps * dir_x,
                     h64 - eps * dir_h)
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float((g * d).sum())
                       for g, d in zip(grads, dirs_w + [dir_x, dir_h]))
        assert abs(numeric - analytic) <= tolerance * max(1.0, abs(numeric)), (numeric, analytic)


def _assert_log_uniform(b, high):
    """exp(b) ~ U(1, high): range, mean and a Kolmogorov-Smirnov distance (1 % level)."""
    u = np.sort(np.exp(b.astype(np.float64)))
    assert u.min() >= 1.0 - 1e-4 and u.max() <= high * (1 + 1e-5)
    assert abs(u.mean() - (1 + high) / 2) < 0.05 * (high - 1)
    cdf = (u - 1.0) / (high - 1.0)
    n = len(u)
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.63 / np.sqrt(n), ks


def test_chrono_init_draws_the_gate_biases():
    units, length = 2000, 1000
    gru = MinGRUCell(units, chrono_init=length, seed=4)
    gru.build((None, 2))
    b_z, b_h = np.split(np.asarray(gru.bias), 2)
    _assert_log_uniform(-b_z, length - 1)   # the state is kept by 1 - z = σ(-b_z)
    np.testing.assert_array_equal(b_h, 0.0)
    lstm = MinLSTMCell(units, chrono_init=length, seed=4)
    lstm.build((None, 2))
    b_f, b_i, b_h = np.split(np.asarray(lstm.bias), 3)
    _assert_log_uniform(b_f, length - 1)
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(b_h, 0.0)
    for cls in (MinGRUCell, MinLSTMCell):
        plain = cls(4)
        plain.build((None, 2))
        np.testing.assert_array_equal(np.asarray(plain.bias), 0.0)
        assert plain.chrono_init is None
    layer = zoo.layers.MinLSTM(4, chrono_init=50)
    assert layer.chrono_init == 50 and layer.get_config()["chrono_init"] == 50


@pytest.mark.parametrize("mode", ["parallel", "step"])
def test_input_dropout_acts_in_both_modes_alike(mode):
    x = np.random.default_rng(0).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    layer = _layer("mingru", np.random.default_rng(1), mode=mode, dropout=0.5, seed=3,
                   return_sequences=True)
    other = _layer("mingru", np.random.default_rng(1), mode="step", dropout=0.5, seed=3,
                   return_sequences=True)
    dropped = np.asarray(layer(x, training=True))
    np.testing.assert_allclose(dropped, np.asarray(other(x, training=True)), **TOL)
    assert not np.allclose(dropped, np.asarray(layer(x)))
    np.testing.assert_allclose(np.asarray(layer(x)), np.asarray(other(x)), **TOL)


def _count_scans(monkeypatch, cls):
    """A list that gets one entry per call of `cls.parallel_sweep` (the scan)."""
    calls = []
    original = cls.parallel_sweep

    def spy(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "parallel_sweep", spy)
    return calls


@pytest.mark.parametrize("accelerator", [True, False])
def test_mode_routes_the_sequence(monkeypatch, accelerator):
    """"auto" runs the scan where Keras sees a GPU or TPU and the loop on CPUs alone,
    where the loop trains faster (benchmarks/long_sequences.py: at T = 1000 on 2 CPU
    cores the scan is about 15x slower than the loop)."""
    from zoo.layers import rnn

    calls = _count_scans(monkeypatch, MinGRUCell)
    monkeypatch.setattr(rnn, "_accelerator_present", lambda: accelerator)
    x = np.zeros((2, 4, 3), "float32")
    for options, parallel in [({}, accelerator), ({"mode": "parallel"}, True),
                              ({"mode": "step"}, False), ({"unroll": True}, False),
                              ({"mode": "parallel", "unroll": True}, True)]:
        calls.clear()
        zoo.layers.MinGRU(2, **options)(x)
        assert bool(calls) == parallel, options
    calls.clear()
    zoo.layers.RNN(MinGRUCell(2))(x)  # a plain RNN over the cell: "auto"
    assert bool(calls) == accelerator


def test_a_graph_for_any_length_runs_the_loop_on_tensorflow(monkeypatch):
    """A tf.function traced for unknown timesteps (a SavedModel signature) cannot run
    the scan, whose rounds are a Python loop over the static length: the layer runs
    the step loop there, with the numbers of the scan."""
    layer = _layer("minlstm", np.random.default_rng(4), mode="parallel", return_sequences=True)
    x = np.random.default_rng(5).normal(size=(2, 7, FEATURES)).astype("float32")
    mask = np.arange(7)[None, :] < np.array([[7], [4]])
    expected = np.asarray(layer(x, mask=mask))
    if keras.config.backend() != "tensorflow":
        pytest.skip("only TensorFlow traces graphs with unknown timesteps")
    import tensorflow as tf

    calls = _count_scans(monkeypatch, MinLSTMCell)
    traced = tf.function(lambda x, m: layer(x, mask=m), input_signature=[
        tf.TensorSpec((None, None, FEATURES), "float32"), tf.TensorSpec((None, None), "bool")])
    np.testing.assert_allclose(traced(x, mask).numpy(), expected, **TOL)
    assert not calls  # the loop ran, not the scan
    layer(x, mask=mask)
    assert calls  # and the same layer scans a sequence of known length


def test_mixed_precision_runs_the_scan_in_float32(monkeypatch):
    from zoo.layers import min_rnn

    scanned = []
    original = min_rnn.log_scan

    def spy(log_a, log_b):
        scanned.append((keras.backend.standardize_dtype(log_a.dtype),
                        keras.backend.standardize_dtype(log_b.dtype)))
        return original(log_a, log_b)

    monkeypatch.setattr(min_rnn, "log_scan", spy)
    shape = (BATCH, STEPS, FEATURES)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    full = _layer("minlstm", np.random.default_rng(1), shape, mode="parallel",
                  return_sequences=True)
    half = LAYERS["minlstm"](UNITS, mode="parallel", return_sequences=True,
                             dtype="mixed_float16")
    half.build(shape)
    half.set_weights(full.get_weights())
    scanned.clear()
    out = half(x)
    # The log-space pairs are float32 (float16 would turn the masked steps' -1e30
    # into -inf), and the output is cast back to the compute dtype.
    assert scanned == [("float32", "float32")]
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    np.testing.assert_allclose(np.asarray(out, "float32"), np.asarray(full(x)),
                               rtol=1e-2, atol=1e-2)


def test_keras_file_round_trip(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 7, 3)).astype("float32")
    model = keras.Sequential([
        keras.Input((7, 3)),
        zoo.layers.MinGRU(4, chrono_init=7, return_sequences=True, mode="step"),
        zoo.layers.MinLSTM(3, chrono_init=20, dropout=0.1),
        keras.layers.Dense(1)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
    for ours, theirs in zip(loaded.layers[:2], model.layers[:2]):
        assert type(ours) is type(theirs)
        assert ours.get_config() == theirs.get_config()
    assert loaded.layers[0].mode == "step" and loaded.layers[1].chrono_init == 20
    cell = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(MinLSTMCell(3, chrono_init=9)))
    assert isinstance(cell, MinLSTMCell) and cell.chrono_init == 9
    assert "activation" not in cell.get_config()


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("mode", ["parallel", "step"])
@pytest.mark.slow
def test_stateful_calls_equal_one_long_call(kind, mode):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 10, FEATURES)).astype("float32")
    whole = _layer(kind, np.random.default_rng(1), (2, 10, FEATURES), mode=mode,
                   return_sequences=True)
    stateful = _layer(kind, np.random.default_rng(1), (2, 4, FEATURES), mode=mode,
                      return_sequences=True, stateful=True)
    parts = [np.asarray(stateful(x[:, :4])), np.asarray(stateful(x[:, 4:8])),
             np.asarray(stateful(x[:, 8:]))]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), np.asarray(whole(x)), **TOL)
    stateful.reset_state()
    np.testing.assert_allclose(np.asarray(stateful(x[:, :4])), parts[0], **TOL)


# XLA on CPU takes over a minute (two cores) to compile the scan's gradient for the
# stack at 1000 steps, so on JAX this runs with `-m slow` (or `-m ""`) only. The
# stack is set to "parallel": "auto" would run the loop on a CPU-only machine.
@pytest.mark.parametrize("steps", [
    pytest.param(1000, marks=(pytest.mark.slow,) if keras.config.backend() == "jax" else ())])
def test_deep_stack_gradient_is_finite_over_long_sequences(steps):
    rng = np.random.default_rng(9)
    stack = zoo.layers.RNN([MinGRUCell(6, chrono_init=steps), MinLSTMCell(4, chrono_init=steps)],
                           return_sequences=True)
    stack.mode = "parallel"
    x = rng.normal(size=(2, steps, 3)).astype("float32")
    stack.build(x.shape)
    outs, grads = forward_and_grads(stack, x)
    assert outs[0].shape == (2, steps, 4) and np.all(np.isfinite(outs[0]))
    assert len(grads) == 5 and all(np.all(np.isfinite(g)) for g in grads)
    assert np.abs(grads[-1][:, 0]).max() > 0  # the first step still reaches the loss


@pytest.mark.parametrize("make, message", [
    (lambda: zoo.layers.MinGRU(0), r"`units` must be a positive integer. Received: units=0"),
    (lambda: MinLSTMCell(-2), r"Received: units=-2"),
    (lambda: zoo.layers.MinLSTM(4, mode="nope"),
     r"`mode` must be one of \['auto', 'parallel', 'step'\]. Received: mode='nope'"),
    (lambda: zoo.layers.MinGRU(4, recurrent_dropout=0.5),
     r"`recurrent_dropout` must be 0: the minimal cells have no recurrent weights.*"
     r"Received: recurrent_dropout=0.5"),
    (lambda: MinGRUCell(4, chrono_init=2), r"`chrono_init` must be None .* chrono_init=2"),
    (lambda: zoo.layers.MinLSTM(4, chrono_init=True), r"Received: chrono_init=True"),
])
def test_bad_arguments_are_refused_with_what_was_received(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_mode_assignment_and_feature_change_are_refused():
    layer = zoo.layers.MinGRU(3)
    with pytest.raises(ValueError, match="Received: mode='fast'"):
        layer.mode = "fast"
    layer(np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match="was built for inputs with 3 features.*"
                                         r"Received: inputs with shape \(2, 4, 5\)"):
        layer(np.zeros((2, 4, 5), "float32"))
    cell = MinLSTMCell(3)
    cell.build((None, 3))
    with pytest.raises(ValueError, match="was built for inputs with 3 features"):
        cell.parallel_sweep(np.zeros((4, 2, 5), "float32"), [np.zeros((2, 3), "float32")])


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.slow
def test_a_model_trains_with_the_scan_in_a_compiled_function(jit):
    """fit traces the layer in a graph (XLA with jit): the scan's output keeps its static
    shape, so the layers after it build, and the loss falls."""
    inputs = keras.Input((12, FEATURES))
    hidden = zoo.layers.MinGRU(UNITS, mode="parallel")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse", jit_compile=jit)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 12, FEATURES)).astype("float32")
    y = x[:, 0, :1]  # the first step, 12 steps back
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

"""Parity of zoo.layers with keras.layers (same weights): outputs, final states
and gradients within 1e-5 in float32, over the layer options; plus agreement
with the independent NumPy reference and a float64 finite-difference check.

Every tier runs a pairwise covering set of the option combinations (every pair
of option values in at least one case); the exhaustive tier
(``ZOO_TEST_EXHAUSTIVE=1``) runs their full product.
"""

import keras
import numpy as np
import pytest

import zoo
from tests import covering, numpy_reference

pytestmark = pytest.mark.jax

KINDS = {
    "simple": ("SimpleRNN", {}),
    "gru": ("GRU", {"reset_after": True}),
    "gru_v1": ("GRU", {"reset_after": False}),
    "lstm": ("LSTM", {}),
}
BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5
TOL = dict(rtol=1e-5, atol=1e-5)


def make_mask(kind):
    """Masks with a full row, a right-padded row and a fully masked row."""
    if kind is None:
        return None
    if kind == "padded":
        return np.array([[1] * 6, [1, 1, 1, 1, 0, 0], [0] * 6], bool)
    if kind == "holes":  # left padding and gaps
        return np.array([[0, 0, 1, 1, 1, 1], [1, 0, 1, 0, 0, 1], [0] * 6], bool)
    raise ValueError(kind)


def random_weights(layer, rng, scale=0.5):
    return [rng.normal(scale=scale, size=w.shape).astype(w.dtype) for w in layer.get_weights()]


def _projection(shape, seed):
    """A fixed pseudo-random array of `shape` (the loss weights of one output)."""
    size = int(np.prod(shape))
    return np.sin(np.arange(size) * 0.7315 + seed).reshape(shape)


def forward_and_grads(layer, x, initial_state=None, mask=None, seed=7, training=None):
    """Outputs of `layer` and the gradients of a fixed projection of all outputs
    (loss = sum_i sum(out_i * P_i)) with respect to (trainable weights..., inputs,
    initial states...)."""
    backend = keras.config.backend()
    initial_state = list(initial_state) if initial_state is not None else []
    kwargs = {} if mask is None else {"mask": mask}
    if training is not None:
        kwargs["training"] = training

    def loss_of(outs):
        outs = keras.tree.flatten(outs)
        terms = [keras.ops.sum(o * _projection(o.shape, seed + i).astype(
                     keras.backend.standardize_dtype(o.dtype))) for i, o in enumerate(outs)]
        return sum(terms[1:], terms[0]), outs

    if backend == "tensorflow":
        import tensorflow as tf

        inputs = [tf.convert_to_tensor(v) for v in [x] + initial_state]
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss, outs = loss_of(layer(inputs[0], initial_state=inputs[1:] or None, **kwargs))
        grads = tape.gradient(loss, list(layer.trainable_variables) + inputs)
    elif backend == "jax":
        import jax

        if not layer.built:
            layer.build(x.shape)
        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        def loss_fn(weights, inputs):
            outs, _ = layer.stateless_call(
                weights, non_trainable, inputs[0], initial_state=inputs[1:] or None, **kwargs)
            return loss_of(outs)

        (_, outs), (grad_w, grad_in) = jax.jit(
            jax.value_and_grad(loss_fn, argnums=(0, 1), has_aux=True))(
            trainable, [jax.numpy.asarray(v) for v in [x] + initial_state])
        grads = list(grad_w) + list(grad_in)
    else:  # pragma: no cover
        pytest.skip(f"no gradient helper for backend {backend}")
    return [np.asarray(o) for o in outs], [np.asarray(g) for g in grads]


def build_pair(kind, options, rng):
    name, cell_kwargs = KINDS[kind]
    kwargs = {**cell_kwargs, **options}
    zoo_layer = getattr(zoo.layers, name)(UNITS, **kwargs)
    keras_layer = getattr(keras.layers, name)(UNITS, **kwargs)
    shape = (BATCH, STEPS, FEATURES)
    zoo_layer.build(shape)
    keras_layer.build(shape)
    keras_layer.set_weights(random_weights(keras_layer, rng))
    zoo_layer.set_weights(keras_layer.get_weights())
    return zoo_layer, keras_layer


def check_parity(kind, mask=None, initial_state=False, input_projection="auto",
                 gradient="auto", training=None, **options):
    rng = np.random.default_rng(0)
    options.setdefault("return_state", True)
    keras_options = options
    if options.get("unroll") and options.get("go_backwards") and mask is not None and \
            options.get("zero_output_for_mask") and options.get("return_sequences"):
        # Keras's unrolled TF loop zeroes the masked outputs of a backward pass
        # with the mask in forward order; its scan/while loops agree with zoo.
        keras_options = {**options, "unroll": False}
    elif keras.config.backend() == "jax" and mask is not None and \
            options.get("zero_output_for_mask"):
        # Keras's unrolled JAX loop ignores zero_output_for_mask; its scan loop
        # agrees with zoo. (At the steps before a row's first unmasked step the
        # scan loop repeats the initial state and the unrolled one gives zeros,
        # and so does zoo on JAX: tests/layers/test_dropin.py.)
        keras_options = {**options, "unroll": False}
    zoo_layer, _ = build_pair(kind, options, rng)
    zoo_layer.input_projection = input_projection
    zoo_layer.gradient = gradient
    _, keras_layer = build_pair(kind, keras_options, np.random.default_rng(0))
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    states = None
    if initial_state:
        states = [rng.normal(size=(BATCH, UNITS)).astype("float32")
                  for _ in range(numpy_reference.NUM_STATES[kind.split("_")[0]])]
    mask = make_mask(mask)
    zoo_out, zoo_grads = forward_and_grads(zoo_layer, x, states, mask, training=training)
    keras_out, keras_grads = forward_and_grads(keras_layer, x, states, mask, training=training)
    assert len(zoo_out) == len(keras_out)
    for ours, theirs in zip(zoo_out, keras_out):
        assert ours.shape == theirs.shape
        np.testing.assert_allclose(ours, theirs, **TOL)
    assert len(zoo_grads) == len(keras_grads)
    for ours, theirs in zip(zoo_grads, keras_grads):
        np.testing.assert_allclose(ours, theirs, **TOL)
    return zoo_layer, x, states, mask, zoo_out


# The layer options as axes: every pair of their values meets in at least one case of
# the covering set (tests/covering.py); ZOO_TEST_EXHAUSTIVE=1 runs their full product.
AXES = {
    "kind": list(KINDS),
    "return_sequences": [False, True],
    "go_backwards": [False, True],
    "mask": [None, "padded", "holes"],
    "zero_output_for_mask": [False, True],
    "initial_state": [False, True],
    "unroll": [False, True],
    "use_bias": [True, False],
    "activations": ["default", "relu"],
}


def _meaningful(case):
    # zero_output_for_mask acts on masked steps only.
    return not (case["zero_output_for_mask"] and case["mask"] is None)


def _ids(options):
    return "-".join(f"{k}={v}" for k, v in options.items()) or "defaults"


def _parity_cases():
    for case in covering.cases(AXES, _meaningful):
        options = dict(case)
        kind = options.pop("kind")
        if options.pop("activations") == "relu":
            options["activation"] = "relu"
            if kind != "simple":
                options["recurrent_activation"] = "hard_sigmoid"
        yield pytest.param(kind, options, id=f"{kind}-{_ids(options)}")


@pytest.mark.parametrize("kind, options", list(_parity_cases()))
def test_parity_with_keras(kind, options):
    check_parity(kind, **options)


def test_the_parity_cases_cover_every_pair_of_options():
    chosen = covering.cases(AXES, _meaningful)
    reachable = set().union(*(covering.pairs_of(c, list(AXES))
                              for c in covering.product(AXES, _meaningful)))
    held = set().union(*(covering.pairs_of(c, list(AXES)) for c in chosen))
    assert held == reachable
    assert all(_meaningful(c) for c in chosen)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("options", [
    dict(return_sequences=True, go_backwards=True, mask="holes", initial_state=True),
], ids=_ids)
@pytest.mark.parametrize("input_projection", ["hoisted", "per_step"])
def test_parity_with_either_input_projection(kind, options, input_projection):
    """Both places of the input projection (before the loop / per step) agree."""
    check_parity(kind, input_projection=input_projection, **options)


@pytest.mark.parametrize("kind", list(KINDS))
def test_weights_transfer_from_zoo_to_keras(kind):
    """The other direction: zoo's own initial weights loaded into Keras's layer."""
    name, cell_kwargs = KINDS[kind]
    zoo_layer = getattr(zoo.layers, name)(UNITS, return_sequences=True, **cell_kwargs)
    keras_layer = getattr(keras.layers, name)(UNITS, return_sequences=True, **cell_kwargs)
    x = np.random.default_rng(1).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    ours = np.asarray(zoo_layer(x))
    keras_layer.build(x.shape)
    assert [w.shape for w in keras_layer.get_weights()] == \
        [w.shape for w in zoo_layer.get_weights()]
    keras_layer.set_weights(zoo_layer.get_weights())
    np.testing.assert_allclose(ours, np.asarray(keras_layer(x)), **TOL)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("options", [
    dict(return_sequences=True),
    dict(return_sequences=True, go_backwards=True, mask="holes", initial_state=True),
    dict(mask="padded", zero_output_for_mask=True),
], ids=_ids)
def test_matches_numpy_reference(kind, options):
    """Outputs and final states agree with the NumPy equations."""
    name, cell_kwargs = KINDS[kind]
    rng = np.random.default_rng(5)
    layer = getattr(zoo.layers, name)(UNITS, return_state=True, **cell_kwargs, **{
        k: v for k, v in options.items() if k not in ("mask", "initial_state")})
    layer.build((BATCH, STEPS, FEATURES))
    layer.set_weights(random_weights(layer, rng))
    x = rng.normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    base = kind.split("_")[0]
    states = [rng.normal(size=(BATCH, UNITS)).astype("float32")
              for _ in range(numpy_reference.NUM_STATES[base])] \
        if options.get("initial_state") else None
    mask = make_mask(options.get("mask"))
    ours = [np.asarray(o) for o in layer(x, mask=mask, initial_state=states)]
    expected_out, expected_states = numpy_reference.run(
        base, x, layer.get_weights(), mask=mask, initial_state=states,
        go_backwards=options.get("go_backwards", False),
        zero_output_for_mask=options.get("zero_output_for_mask", False),
        return_sequences=options.get("return_sequences", False), **cell_kwargs)
    if keras.config.backend() == "jax" and mask is not None and states is not None \
            and options.get("return_sequences") and not options.get("zero_output_for_mask"):
        expected_out = _initial_state_before_first_step(
            expected_out, mask, states[0], options.get("go_backwards", False))
    np.testing.assert_allclose(ours[0], expected_out, rtol=1e-5, atol=1e-5)
    assert len(ours) == 1 + len(expected_states)
    for got, expected in zip(ours[1:], expected_states):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def _initial_state_before_first_step(outputs, mask, initial_h, go_backwards):
    """The reference's outputs (zeros before a row's first unmasked step) as
    Keras on JAX gives them: the initial state there (processing order)."""
    outputs = np.array(outputs)
    order = mask[:, ::-1] if go_backwards else mask
    for row in range(mask.shape[0]):
        steps = np.argmax(order[row]) if order[row].any() else mask.shape[1]
        outputs[row, :steps] = initial_h[row]
    return outputs


@pytest.mark.parametrize("kind", list(KINDS))
def test_gradient_matches_finite_differences(kind):
    """Analytic gradients of the layer against central differences of the
    float64 NumPy reference, along random directions in weight and input space.

    The layer runs in float64 on TensorFlow. On JAX it runs in float32 (with a
    float32-sized tolerance): Keras's JAX `ops.tanh` returns float32 even for
    float64 inputs, so no Keras recurrent layer computes in float64 there.
    """
    dtype, tolerance = ("float64", 1e-7) if keras.config.backend() == "tensorflow" \
        else ("float32", 2e-5)
    name, cell_kwargs = KINDS[kind]
    base = kind.split("_")[0]
    rng = np.random.default_rng(3)
    layer = getattr(zoo.layers, name)(3, return_sequences=True, dtype=dtype, **cell_kwargs)
    x = rng.normal(size=(2, 4, 2)).astype(dtype)
    mask = np.array([[1, 1, 1, 0], [0, 1, 1, 1]], bool)
    layer.build(x.shape)
    layer.set_weights(random_weights(layer, rng))
    _, grads = forward_and_grads(layer, x, mask=mask, seed=11)
    assert all(g.dtype == np.dtype(dtype) for g in grads)
    projection = _projection((2, 4, 3), 11)
    weights = [w.astype(np.float64) for w in layer.get_weights()]

    def loss(ws, inputs):
        out, _ = numpy_reference.run(base, inputs, ws, mask=mask, return_sequences=True,
                                     **cell_kwargs)
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

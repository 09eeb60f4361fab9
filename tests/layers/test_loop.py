"""The time loop (`zoo.layers.loop`): outputs, last output and masking rules against
a plain Python loop, on every primitive of the backend under test."""

import keras
import numpy as np
import pytest
from keras import ops

from zoo.layers import loop

T, B, N = 5, 3, 4


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, N)).astype("float32")
    h0 = rng.normal(size=(B, N)).astype("float32")
    mask = rng.random((T, B)) > 0.4
    mask[:, 0] = False  # a fully masked row
    return x, h0, mask


def _state_step(x_t, states):
    h = np.tanh(x_t + 0.5 * states[0]) if isinstance(x_t, np.ndarray) else \
        ops.tanh(x_t + 0.5 * states[0])
    return h, [h]


def _offset_step(x_t, states):
    """A step whose output is not its state (as a generic Keras cell may)."""
    h, _ = _state_step(x_t, states)
    return h + 1.0, [h]


def _reference(step, x, h0, mask, zero_output_for_mask, fill_with_state=False):
    """`fill_with_state`: a masked step outputs the state before it (Keras's
    JAX scan loop), not the previous output (zeros before the first one)."""
    state, previous, outputs = h0, np.zeros_like(h0), []
    for t in range(T):
        output, (new_state,) = step(x[t], [state])
        if mask is not None:
            keep = mask[t][:, None]
            new_state = np.where(keep, new_state, state)
            fill = state if fill_with_state else previous
            output = np.where(keep, output, 0.0 if zero_output_for_mask else fill)
        state, previous = new_state, output
        outputs.append(output)
    return outputs[-1], np.stack(outputs), state


@pytest.mark.jax
@pytest.mark.parametrize("unroll", [False, True], ids=["loop", "unrolled"])
@pytest.mark.parametrize("masking", ["none", "repeat", "zeros"])
@pytest.mark.parametrize("return_sequences", [True, False], ids=["seq", "last"])
@pytest.mark.parametrize("output_is_state", [True, False], ids=["state_out", "other_out"])
def test_time_loop_matches_a_python_loop(unroll, masking, return_sequences, output_is_state):
    x, h0, mask = _data()
    mask = None if masking == "none" else mask
    step = _state_step if output_is_state else _offset_step

    def run(x, h0, mask):
        return loop.time_loop(
            step, x, [h0], N, mask=mask, zero_output_for_mask=masking == "zeros",
            unroll=unroll, return_sequences=return_sequences,
            output_is_state=output_is_state)

    last, outputs, (state,) = run(ops.convert_to_tensor(x), ops.convert_to_tensor(h0),
                                  None if mask is None else ops.convert_to_tensor(mask))
    # Keras on JAX (scan, not unrolled) repeats the state before a masked step.
    fill_with_state = keras.config.backend() == "jax" and not unroll
    ref_last, ref_outputs, ref_state = _reference(step, x, h0, mask, masking == "zeros",
                                                  fill_with_state)
    np.testing.assert_allclose(ops.convert_to_numpy(last), ref_last, atol=1e-6)
    np.testing.assert_allclose(ops.convert_to_numpy(state), ref_state, atol=1e-6)
    if return_sequences:
        np.testing.assert_allclose(ops.convert_to_numpy(outputs), ref_outputs, atol=1e-6)
    else:
        assert outputs is None


@pytest.mark.jax
def test_sequence_loop_runs_forward_and_reverse_with_several_outputs():
    x, h0, _ = _data(1)

    def body(carry, xs):
        (h,) = carry
        h = ops.tanh(xs[0] + 0.5 * h)
        return (h,), (h, 2.0 * h)

    for reverse in (False, True):
        final, (ys, doubled) = loop.sequence_loop(
            body, [ops.convert_to_tensor(h0)], [ops.convert_to_tensor(x)],
            [ops.zeros((B, N)), ops.zeros((B, N))], reverse=reverse)
        h, expected = h0, np.zeros_like(x)
        for t in (reversed(range(T)) if reverse else range(T)):
            h = np.tanh(x[t] + 0.5 * h)
            expected[t] = h
        np.testing.assert_allclose(ops.convert_to_numpy(ys), expected, atol=1e-6)
        np.testing.assert_allclose(ops.convert_to_numpy(doubled), 2 * expected, atol=1e-6)
        np.testing.assert_allclose(ops.convert_to_numpy(final[0]), h, atol=1e-6)


@pytest.mark.skipif(keras.config.backend() != "tensorflow", reason="TensorFlow's loop primitive")
def test_tensorflow_loop_keeps_only_the_last_output_without_return_sequences():
    """Without `return_sequences` TensorFlow's primitive returns the last
    step's output as (1, batch, size): one element, not one per step."""
    import tensorflow as tf

    x, h0, _ = _data(2)

    def body(carry, xs):
        h = tf.tanh(xs[0] + 0.5 * carry[0])
        return (h,), h + 1.0

    primitive = loop.PRIMITIVES["tensorflow"]
    assert primitive.keeps_last_output
    final, ys = tf.function(primitive)(body, (tf.constant(h0),), (tf.constant(x),),
                                       tf.zeros((B, N)), False)
    _, ref_outputs, ref_state = _reference(_offset_step, x, h0, None, False)
    assert tuple(ys.shape) == (1, B, N)
    np.testing.assert_allclose(ys.numpy()[0], ref_outputs[-1], atol=1e-6)
    np.testing.assert_allclose(final[0].numpy(), ref_state, atol=1e-6)

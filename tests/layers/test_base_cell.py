"""zoo.layers.base_cell: the cell protocol. A new cell that subclasses
`RecurrentCell` in its own module (here: this test file) trains with the
hand-written backward pass without any edit to `zoo.layers.fused` or `RNN`,
and its gradients equal autodiff's."""

import keras
import numpy as np
import pytest
from keras import ops

import zoo
from tests.layers.test_parity import forward_and_grads
from zoo.layers import fused
from zoo.layers.base_cell import RecurrentCell

pytestmark = pytest.mark.jax


class LeakyCell(RecurrentCell):
    """h = (1 - a) h_prev + a tanh(x W + h_prev U + b), a fixed leak a = 0.25."""

    leak = 0.25

    def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                       return_gates=False):
        (recurrent_kernel,) = weights or self.recurrent_weights()
        h_prev = states[0]
        h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
        n = ops.tanh(projected + ops.matmul(h_in, recurrent_kernel))
        h = (1.0 - self.leak) * h_prev + self.leak * n
        return (h, [h], (n,)) if return_gates else (h, [h])

    def supports_fused_gradient(self):
        return True

    @property
    def fused_gate_count(self):
        return 1

    def backward_step(self, d_states, gates, previous, kernel_t):
        (h_grad,), (n,) = d_states, gates
        d_pre = h_grad * self.leak * (1.0 - n * n)
        return d_pre, d_pre, [h_grad * (1.0 - self.leak) + ops.matmul(d_pre, kernel_t)]


@pytest.mark.parametrize("options", [
    dict(),
    dict(return_sequences=True, go_backwards=True, input_projection="hoisted"),
], ids=["defaults", "sequences-backwards-hoisted"])
def test_a_new_cell_trains_with_its_own_backward_step(options, fused_calls):
    x = np.random.default_rng(4).normal(size=(3, 6, 4)).astype("float32")
    h0 = [np.random.default_rng(5).normal(size=(3, 5)).astype("float32")]
    layer = zoo.layers.RNN(LeakyCell(5), gradient="fused", return_state=True, **options)
    reference = zoo.layers.RNN(LeakyCell(5), gradient="autodiff", return_state=True, **options)
    layer.build(x.shape)
    reference.build(x.shape)
    rng = np.random.default_rng(6)
    reference.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32")
                           for w in reference.get_weights()])
    layer.set_weights(reference.get_weights())
    ours, our_grads = forward_and_grads(layer, x, h0, training=True)
    theirs, their_grads = forward_and_grads(reference, x, h0, training=True)
    assert fused_calls == ["LeakyCell"]
    assert len(our_grads) == len(their_grads) == 3 + 2  # kernel, recurrent, bias, x, h0
    for a, b in zip(ours + our_grads, theirs + their_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_the_driver_asks_the_cell():
    assert fused.supports_fused_gradient(LeakyCell(3))
    assert not fused.supports_fused_gradient(keras.layers.LSTMCell(3))
    assert fused.supports_fused_gradient(zoo.cells.GRUCell(3))
    assert not fused.supports_fused_gradient(zoo.cells.GRUCell(3, reset_after=False))
    assert not fused.supports_fused_gradient(zoo.cells.LSTMCell(3, activation="relu"))
    assert not fused.supports_fused_gradient(zoo.cells.SimpleRNNCell(3, activation="relu"))


def test_the_base_class_has_no_backward_step():
    class PlainCell(RecurrentCell):
        def recurrent_step(self, projected, states, recurrent_mask=None, weights=None,
                           return_gates=False):
            return projected, [projected]

    cell = PlainCell(2)
    assert not cell.supports_fused_gradient()
    assert cell.fused_gate_count == 0 and not cell.fused_separate_recurrent_gradient
    with pytest.raises(NotImplementedError, match="PlainCell has no hand-written backward"):
        cell.backward_step([None], (), [None], None)


def test_zoo_cells_are_recurrent_cells_and_keep_their_public_names():
    for name in ("SimpleRNNCell", "GRUCell", "LSTMCell"):
        cls = getattr(zoo.cells, name)
        assert issubclass(cls, zoo.cells.RecurrentCell)
        assert keras.saving.get_registered_name(cls) == f"zoo>{name}"
    for name in ("RNN", "SimpleRNN", "GRU", "LSTM"):
        assert keras.saving.get_registered_name(getattr(zoo.layers, name)) == f"zoo>{name}"

"""Prototype: an LSTM sequence with a hand-written backward pass.

Autodiff of the time loop differentiates every step's ops one by one: per step
it pushes each intermediate, runs ~40 gradient ops, and accumulates the weight
gradient with one small product per step. Written by hand, the backward loop
only carries dh, dc through the gates (about a dozen elementwise ops and one
product per step) and stores dz; the weight gradient is then ONE large product
over all timesteps (the way fused CPU/GPU kernels do it).

Variants (Input -> layer -> Dense(1), SGD, MSE; round-robin in one process):
  keras      keras.layers.LSTM
  zoo        zoo.layers.LSTM with RNN.gradient as it was (autodiff of the loop)
  fused      custom gradient, projection per step in the forward loop
  fused_h    custom gradient, projection hoisted before the loop
  fused_acc  custom gradient, weight gradients accumulated per step in the
             backward loop (off the recurrence, as autodiff does)

    python -m benchmarks.prototypes.fused_backward [--jit] [--repeats 10]
    KERAS_BACKEND=jax python -m benchmarks.prototypes.fused_backward --jit

Measured on this 2-core CPU (LSTM, B64 T100 D64 H256, best of 10, seq/s):
TF graph: keras 614, zoo 615, fused 481, fused_h 452, fused_acc 509 (autodiff
wins: TF's graph executor overlaps the per-step weight products with the
recurrence); TF XLA: keras 503, zoo 503, fused 613, fused_h 560; JAX jit:
keras 486, zoo 493, fused 549, fused_h 477. zoo.fused is the `fused` variant.
"""

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402


def _tf_loop(body, carry, xs, n_out, reverse=False):
    """tf.while_loop over TensorArrays (keras.ops.scan elsewhere).

    body(carry, xs_t) -> (carry, outs)."""
    if keras.backend.backend() != "tensorflow":
        carry, ys = ops.scan(lambda c, x: body(c, x), tuple(carry), tuple(xs), reverse=reverse)
        return carry, tuple(ys)
    import tensorflow as tf

    steps = tf.shape(xs[0])[0]
    static = xs[0].shape[0]
    ins = [tf.TensorArray(x.dtype, size=steps, element_shape=x.shape[1:]).unstack(x) for x in xs]
    outs = tuple(tf.TensorArray(d, size=steps, element_shape=s) for d, s in n_out)

    def loop_body(t, c, *arrays):
        index = steps - 1 - t if reverse else t
        c, ys = body(c, tuple(a.read(index) for a in ins))
        return (t + 1, tuple(c)) + tuple(a.write(index, y) for a, y in zip(arrays, ys))

    res = tf.while_loop(lambda t, *_: t < steps, loop_body, (tf.constant(0), tuple(carry)) + outs,
                        maximum_iterations=static if static is not None else steps,
                        parallel_iterations=32)
    return res[1], tuple(a.stack() for a in res[2:])


def lstm_sequence(x, kernel, bias, h0, c0, rkernel, hoist):
    """x: (T, B, D) time-major. Returns hs (T, B, H), h_T, c_T."""

    @ops.custom_gradient
    def run(x, kernel, bias, h0, c0, rkernel):
        units = rkernel.shape[0]
        if hoist is True:
            xs = (ops.matmul(x, kernel) + bias,)
        else:
            xs = (x,)

        def step(carry, inp):
            h, c = carry
            projected = inp[0] if hoist is True else ops.matmul(inp[0], kernel) + bias
            z = ops.matmul(h, rkernel) + projected
            zi, zf, zg, zo = ops.split(z, 4, axis=-1)
            i, f, g, o = ops.sigmoid(zi), ops.sigmoid(zf), ops.tanh(zg), ops.sigmoid(zo)
            c = f * c + i * g
            tc = ops.tanh(c)
            h = o * tc
            return (h, c), (h, ops.concatenate([i, f, g, o], axis=-1), c, tc)

        b = ops.shape(x)[1]
        spec = [(x.dtype, (x.shape[1], units)), (x.dtype, (x.shape[1], 4 * units)),
                (x.dtype, (x.shape[1], units)), (x.dtype, (x.shape[1], units))]
        (h_t, c_t), (hs, acts, cs, tcs) = _tf_loop(step, (h0, c0), xs, spec)
        del b

        def grad(*upstream):
            if len(upstream) == 1 and isinstance(upstream[0], (tuple, list)):
                upstream = upstream[0]
            dhs, dh_t, dc_t = upstream
            c_prev = ops.concatenate([c0[None], cs[:-1]], axis=0)
            h_prev = ops.concatenate([h0[None], hs[:-1]], axis=0)
            rkernel_t = ops.transpose(rkernel)
            sig = np.ones((4 * units,), "float32")
            sig[2 * units: 3 * units] = 0.0
            alpha = ops.convert_to_tensor(sig)
            beta = 1.0 - alpha

            def back(carry, inp):
                dh_next, dc_next = carry
                dh_out, act, cp, tc = inp
                dh = dh_out + dh_next
                i, f, g, o = ops.split(act, 4, axis=-1)
                do = dh * tc
                dc = dc_next + dh * o * (1.0 - tc * tc)
                dpre = ops.concatenate([dc * g, dc * cp, dc * i, do], axis=-1)
                dz = dpre * (act * alpha - act * act + beta)
                return (ops.matmul(dz, rkernel_t), dc * f), (dz,)

            if hoist == "acc":
                kernel_t = ops.transpose(kernel)

                def back_acc(carry, inp):
                    (dh_next, dc_next, d_rk, d_k, d_b), (dh_out, act, cp, tc, hp, xt) = carry, inp
                    (dh_prev, dc_prev), (dz,) = back((dh_next, dc_next), (dh_out, act, cp, tc))
                    d_rk = d_rk + ops.matmul(ops.transpose(hp), dz)
                    d_k = d_k + ops.matmul(ops.transpose(xt), dz)
                    return (dh_prev, dc_prev, d_rk, d_k, d_b + ops.sum(dz, axis=0)), \
                        (ops.matmul(dz, kernel_t),)

                (dh0, dc0, d_rkernel, d_kernel, d_bias), (dx,) = _tf_loop(
                    back_acc, (dh_t, dc_t, ops.zeros_like(rkernel), ops.zeros_like(kernel),
                               ops.zeros_like(bias)),
                    (dhs, acts, c_prev, tcs, h_prev, x),
                    [(x.dtype, (x.shape[1], x.shape[2]))], reverse=True)
                return dx, d_kernel, d_bias, dh0, dc0, d_rkernel
            (dh0, dc0), (dzs,) = _tf_loop(
                back, (dh_t, dc_t), (dhs, acts, c_prev, tcs),
                [(x.dtype, (x.shape[1], 4 * units))], reverse=True)
            dzs_flat = ops.reshape(dzs, (-1, 4 * units))
            d_rkernel = ops.matmul(ops.transpose(ops.reshape(h_prev, (-1, units))), dzs_flat)
            d_kernel = ops.matmul(ops.transpose(ops.reshape(x, (-1, x.shape[-1]))), dzs_flat)
            d_bias = ops.sum(dzs_flat, axis=0)
            dx = ops.matmul(dzs, ops.transpose(kernel))
            return dx, d_kernel, d_bias, dh0, dc0, d_rkernel

        return (hs, h_t, c_t), grad

    return run(x, kernel, bias, h0, c0, rkernel)


class FusedLSTM(keras.layers.Layer):
    def __init__(self, units, hoist=False, **kwargs):
        super().__init__(**kwargs)
        self.units, self.hoist = units, hoist

    def build(self, shape):
        self.kernel = self.add_weight(shape=(shape[-1], 4 * self.units),
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(shape=(self.units, 4 * self.units),
                                                initializer="orthogonal")
        self.bias = self.add_weight(shape=(4 * self.units,), initializer="zeros")

    def call(self, x):
        x = ops.transpose(x, (1, 0, 2))
        b = ops.shape(x)[1]
        h0 = ops.zeros((b, self.units))
        hs, h_t, c_t = lstm_sequence(x, ops.copy(self.kernel), ops.copy(self.bias), h0, h0,
                                     ops.copy(self.recurrent_kernel), self.hoist)
        return h_t

    def compute_output_shape(self, shape):
        return (shape[0], self.units)


def check_parity():
    import zoo

    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 7, 5)).astype("float32")
    ref = zoo.layers.LSTM(6)
    ref(x)
    import jax

    for hoist in (False, True, "acc"):
        fused = FusedLSTM(6, hoist=hoist)
        fused(x)
        fused.set_weights(ref.get_weights())

        def loss(weights, layer):
            fixed = [v.value for v in layer.non_trainable_variables]
            out, _ = layer.stateless_call(weights, fixed, x)
            return ops.sum(out * ops.arange(6, dtype="float32")), out

        def value_and_grad(layer):
            weights = [v.value for v in layer.trainable_weights]
            return jax.value_and_grad(loss, has_aux=True)(weights, layer)

        (_, a), ga = value_and_grad(ref)
        (_, b), gb = value_and_grad(fused)
        print("hoist", hoist, "out", float(ops.max(ops.abs(a - b))),
              "grads", [float(ops.max(ops.abs(p - q))) for p, q in zip(ga, gb)])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--jit", action="store_true")
    args = parser.parse_args()
    if keras.backend.backend() == "jax":
        check_parity()
    import zoo

    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 100, 64)).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")
    variants = {
        "keras": lambda: keras.layers.LSTM(256),
        "zoo": lambda: zoo.layers.LSTM(256),
        "fused": lambda: FusedLSTM(256),
        "fused_h": lambda: FusedLSTM(256, hoist=True),
        "fused_acc": lambda: FusedLSTM(256, hoist="acc"),
    }
    models = {}
    for name, make in variants.items():
        inputs = keras.Input((None, 64))
        model = keras.Model(inputs, keras.layers.Dense(1)(make()(inputs)))
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse", jit_compile=args.jit)
        for _ in range(2):
            model.train_on_batch(x, y)
        models[name] = model
    times = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - t0)
    for name, ts in times.items():
        print(f"{name:8s} best {64 / min(ts):7.1f} seq/s  median {64 / statistics.median(ts):7.1f}")


if __name__ == "__main__":
    main()

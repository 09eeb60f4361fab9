"""Where an LSTM training step's time goes, per backend and compilation mode.

Times, at the reference shape (B=64, T=100, D=64, H=256) and fastest of N:

- ``matmul_big``: one square float32 product (the machine's rate);
- ``rec_mm_chain``: the T recurrent products alone, (B, H) @ (H, 4H), chained
  through the loop as the recurrence is (the floor of a forward loop);
- ``rec_mm_batch``: the same T products with no dependency, as one batched
  product (what the matmul engine does without the loop);
- ``forward``: the hoisted input projection plus the LSTM loop;
- ``forward_backward``: value and gradient of sum(last h) w.r.t. the weights;
- the same loop without the elementwise gate maths (``fwd_no_gates``).

The loop is ``keras.ops.scan`` on JAX and TF-graph, ``keras.ops.while_loop``
with ``maximum_iterations`` under XLA on TF (scan cannot be differentiated
there). Gradients use the backend's own autodiff (``tf.GradientTape`` /
``jax.grad``): this is a profile, not library code.

    KERAS_BACKEND=jax python -m benchmarks.prototypes.step_profile
    KERAS_BACKEND=tensorflow python -m benchmarks.prototypes.step_profile --jit both
"""

import argparse
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

BACKEND = keras.backend.backend()


def lstm_loop(xw, u, steps, gates=True, use_while=False):
    """xw: (T, B, 4H) projected inputs; returns the last h."""
    h_units = u.shape[0]
    batch = xw.shape[1]
    h0 = ops.zeros((batch, h_units))

    if gates == "onetanh":
        # sigmoid(x) = 0.5 + 0.5 * tanh(x / 2): every gate in ONE tanh pass over
        # (B, 4H) with per-column scale and offset (gate order i, f, g, o).
        half = np.full((4 * h_units,), 0.5, "float32")
        half[2 * h_units: 3 * h_units] = 1.0
        off = np.full((4 * h_units,), 0.5, "float32")
        off[2 * h_units: 3 * h_units] = 0.0
        scale, offset = ops.convert_to_tensor(half), ops.convert_to_tensor(off)

    def step(h, c, xt):
        z = xt + ops.matmul(h, u)
        if not gates:
            return z[:, :h_units], c
        if gates == "onetanh":
            a = ops.tanh(z * scale) * scale + offset
            i, f = a[:, :h_units], a[:, h_units: 2 * h_units]
            g, o = a[:, 2 * h_units: 3 * h_units], a[:, 3 * h_units:]
            c = f * c + i * g
            return o * ops.tanh(c), c
        i = ops.sigmoid(z[:, :h_units])
        f = ops.sigmoid(z[:, h_units: 2 * h_units])
        g = ops.tanh(z[:, 2 * h_units: 3 * h_units])
        o = ops.sigmoid(z[:, 3 * h_units:])
        c = f * c + i * g
        return o * ops.tanh(c), c

    if use_while:
        def body(t, h, c):
            h, c = step(h, c, xw[t])
            return t + 1, h, c

        _, h, _ = ops.while_loop(lambda t, h, c: t < steps, body, (0, h0, h0),
                                 maximum_iterations=steps)
        return h

    def f(carry, xt):
        h, c = step(*carry, xt)
        return (h, c), None

    (h, _), _ = ops.scan(f, (h0, h0), xw, length=steps)
    return h


def compile_fn(fn, jit):
    if BACKEND == "jax":
        import jax

        return jax.jit(fn)
    import tensorflow as tf

    return tf.function(fn, jit_compile=jit)


def grad_fn(loss_fn, argnums_count):
    if BACKEND == "jax":
        import jax

        return jax.value_and_grad(loss_fn, argnums=tuple(range(argnums_count)))
    import tensorflow as tf

    def vg(*args):
        with tf.GradientTape() as tape:
            tape.watch(args)
            loss = loss_fn(*args)
        return loss, tape.gradient(loss, args)

    return vg


def fastest(fn, args, repeats):
    out = fn(*args)
    keras.tree.map_structure(ops.convert_to_numpy, out)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn(*args)
        keras.tree.map_structure(ops.convert_to_numpy, out)
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def profile(jit, repeats, b=64, t=100, d=64, h=256):
    rng = np.random.default_rng(0)
    tensor = ops.convert_to_tensor
    x = tensor(rng.standard_normal((b, t, d)).astype("float32"))
    w = tensor((rng.standard_normal((d, 4 * h)) * 0.1).astype("float32"))
    u = tensor((rng.standard_normal((h, 4 * h)) * 0.05).astype("float32"))
    big = tensor(rng.standard_normal((2048, 2048)).astype("float32"))
    hs = tensor(rng.standard_normal((t * b, h)).astype("float32"))
    use_while = BACKEND == "tensorflow" and jit

    def chain(u):
        h0 = ops.zeros((b, h))

        def f(hc, _):
            # use every output column: a slice of a product would let the
            # compiler shrink the product to the slice
            z = ops.reshape(ops.matmul(hc, u), (b, 4, h))
            return ops.mean(z, axis=1), None

        if use_while:
            return ops.while_loop(lambda i, hc: i < t, lambda i, hc: (i + 1, f(hc, 0)[0]),
                                  (0, h0), maximum_iterations=t)[1]
        return ops.scan(f, h0, None, length=t)[0]

    def forward(x, w, u, gates=True):
        xw = ops.transpose(ops.matmul(x, w), (1, 0, 2))
        return lstm_loop(xw, u, t, gates=gates, use_while=use_while)

    def loss(x, w, u):
        return ops.sum(forward(x, w, u))

    def loss_onetanh(x, w, u):
        return ops.sum(forward(x, w, u, gates="onetanh"))

    fns = {
        "matmul_big (2048^3)": (compile_fn(lambda a: ops.matmul(a, a), jit), (big,),
                                2 * 2048 ** 3),
        "rec_mm_batch (T*B,H)@(H,4H)": (compile_fn(lambda a, u: ops.matmul(a, u), jit),
                                        (hs, u), 2 * t * b * h * 4 * h),
        "rec_mm_chain": (compile_fn(chain, jit), (u,), 2 * t * b * h * 4 * h),
        "fwd_no_gates": (compile_fn(lambda x, w, u: forward(x, w, u, gates=False), jit),
                         (x, w, u), 2 * t * b * (d + h) * 4 * h),
        "forward": (compile_fn(forward, jit), (x, w, u), 2 * t * b * (d + h) * 4 * h),
        "forward_backward": (compile_fn(grad_fn(loss, 3), jit), (x, w, u),
                             3 * 2 * t * b * (d + h) * 4 * h),
        "forward_onetanh": (compile_fn(lambda x, w, u: forward(x, w, u, gates="onetanh"), jit),
                            (x, w, u), 2 * t * b * (d + h) * 4 * h),
        "forward_backward_onetanh": (compile_fn(grad_fn(loss_onetanh, 3), jit), (x, w, u),
                                     3 * 2 * t * b * (d + h) * 4 * h),
    }
    mode = {"jax": "jax.jit", "tensorflow": "tf.function(jit_compile=%s)" % jit}[BACKEND]
    print(f"{BACKEND} {mode}: LSTM B={b} T={t} D={d} H={h}, fastest / median of {repeats}")
    results = {name: [] for name in fns}
    for _ in range(repeats):  # round-robin rounds, so noise is shared
        for name, (fn, args, _) in fns.items():
            results[name].append(fastest(fn, args, 1)[0])
    for name, (_, _, flops) in fns.items():
        best, med = min(results[name]), float(np.median(results[name]))
        print(f"  {name:28s} {1e3 * best:8.2f} ms {1e3 * med:8.2f} ms  "
              f"{flops / best / 1e9:6.1f} GFLOP/s  per step {1e6 * best / t:7.0f} us")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--jit", default="true", choices=["true", "false", "both"])
    p.add_argument("--repeats", type=int, default=10)
    a = p.parse_args(argv)
    jits = {"true": [True], "false": [False], "both": [False, True]}[a.jit]
    if BACKEND == "jax":
        jits = [True]
    for jit in jits:
        profile(jit, a.repeats)


if __name__ == "__main__":
    main()

"""Micro-benchmark: where a recurrent layer's training step spends its time.

A prototype recurrent layer written with ``keras.ops`` only, with switches for
each design choice a hand-written RNN loop has to make:

- loop primitive: ``keras.ops.scan``, ``keras.ops.fori_loop`` (indexing the
  inputs with the loop counter), or a Python-unrolled loop;
- ``hoist``: the input projection ``x @ kernel + bias`` for all timesteps as
  one matrix product before the loop (else one product per step inside it);
- ``fused``: all gates of a step in one recurrent product (else one per gate);
- ``time_major``: transpose the projected inputs to (time, batch, k*units)
  once, or index (batch, time, ...) inside the loop;
- ``ys``: emit every step's output (what ``return_sequences=True`` needs:
  scan ys, or ``slice_update`` into a buffer for fori), or only the carry;
- ``mask``: an all-ones mask passed in and applied with ``where`` each step
  (the cost a layer pays when it does not skip mask handling);
- ``unroll``: the ``unroll`` argument of ``keras.ops.scan``.

Each variant is a model Input -> layer -> Dense(1) trained with SGD on MSE;
variants are timed round-robin in one process (fastest and median of N single
training steps) so machine noise hits them alike.

Run one process per backend, e.g.::

    KERAS_BACKEND=jax python -m benchmarks.prototypes.loop_variants --cell lstm
    KERAS_BACKEND=tensorflow python -m benchmarks.prototypes.loop_variants \\
        --cell lstm --jit both
"""

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

GATES = {"simple": 1, "gru": 3, "lstm": 4}


class ProtoRNN(keras.layers.Layer):
    """Prototype recurrent layer; returns the last step's output (batch, units)."""

    def __init__(self, units, cell="lstm", loop="scan", hoist=True, fused=True,
                 time_major=True, ys=False, mask=False, unroll=1, unstack=False,
                 take=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.cell = cell
        self.loop = loop
        self.hoist = hoist
        self.fused = fused
        self.time_major = time_major
        self.ys = ys
        self.mask = mask
        self.unroll = unroll
        self.unstack = unstack
        self.take = take

    def build(self, input_shape):
        k = GATES[self.cell]
        self.kernel = self.add_weight(shape=(input_shape[-1], k * self.units),
                                      initializer="glorot_uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, k * self.units),
                                                initializer="orthogonal",
                                                name="recurrent_kernel")
        bias_shape = (2, k * self.units) if self.cell == "gru" else (k * self.units,)
        self.bias = self.add_weight(shape=bias_shape, initializer="zeros", name="bias")

    # ---- per-step maths, given the projected input xw_t (batch, k*units)
    def _recurrent(self, h):
        if self.fused:
            return ops.matmul(h, self.recurrent_kernel)
        parts = ops.split(self.recurrent_kernel, GATES[self.cell], axis=1)
        return ops.concatenate([ops.matmul(h, p) for p in parts], axis=1)

    def _step(self, xw_t, state):
        u = self.units
        if self.cell == "simple":
            h = ops.tanh(xw_t + self._recurrent(state[0]))
            return h, (h,)
        if self.cell == "gru":
            h_tm1 = state[0]
            hu = self._recurrent(h_tm1) + self.bias[1]
            zr = ops.sigmoid(xw_t[:, : 2 * u] + hu[:, : 2 * u])
            z, r = zr[:, :u], zr[:, u:]
            hh = ops.tanh(xw_t[:, 2 * u:] + r * hu[:, 2 * u:])
            h = hh + z * (h_tm1 - hh)
            return h, (h,)
        h_tm1, c_tm1 = state
        zz = xw_t + self._recurrent(h_tm1)
        i = ops.sigmoid(zz[:, :u])
        f = ops.sigmoid(zz[:, u: 2 * u])
        g = ops.tanh(zz[:, 2 * u: 3 * u])
        o = ops.sigmoid(zz[:, 3 * u:])
        c = f * c_tm1 + i * g
        h = o * ops.tanh(c)
        return h, (h, c)

    def _project(self, x):
        b = self.bias[0] if self.cell == "gru" else self.bias
        return ops.matmul(x, self.kernel) + b

    def call(self, x):
        batch = ops.shape(x)[0]
        steps = x.shape[1]
        if steps is None:  # dynamic length: only the while loop handles it here
            steps = ops.shape(x)[1]
        zeros = ops.zeros((batch, self.units), dtype=x.dtype)
        state = (zeros, zeros) if self.cell == "lstm" else (zeros,)
        seq = self._project(x) if self.hoist else x
        if self.time_major:
            seq = ops.transpose(seq, (1, 0, 2))
        m = ops.ones((steps, batch, 1), dtype="bool") if self.mask else None

        def step_at(xt, st, mt=None):
            xw_t = xt if self.hoist else self._project(xt)
            h, new = self._step(xw_t, st)
            if mt is not None:
                new = tuple(ops.where(mt, n, s) for n, s in zip(new, st))
                h = new[0]
            return h, new

        def take_t(t):
            if self.take:  # gather: its gradient is sparse (IndexedSlices) on TF
                return ops.take(seq, t, axis=0 if self.time_major else 1)
            return seq[t] if self.time_major else seq[:, t]

        if self.loop == "scan":
            xs = (seq, m) if self.mask else seq

            def f(st, inp):
                xt, mt = inp if self.mask else (inp, None)
                h, new = step_at(xt, st, mt)
                # TF's ops.scan wants ys shaped like the carry.
                return new, (new if self.ys else None)

            last, out = ops.scan(f, state, xs, length=steps, unroll=self.unroll)
            return out[0][-1] if self.ys else last[0]
        if self.loop in ("fori", "while"):
            buf = ops.zeros((steps, batch, self.units), dtype=x.dtype) if self.ys else ()

            def body(t, carry):
                st, b = carry
                mt = m[t] if self.mask else None
                h, new = step_at(take_t(t), st, mt)
                if self.ys == "scatter":  # TF: slice_update has no gradient there
                    b = ops.scatter_update(b, ops.reshape(t, (1, 1)), h[None])
                elif self.ys:
                    b = ops.slice_update(b, (t, 0, 0), h[None])
                return new, b

            if self.loop == "fori":
                st, buf = ops.fori_loop(0, steps, body, (state, buf))
            else:  # while_loop with a static trip count (XLA needs it for gradients)
                _, (st, buf) = ops.while_loop(
                    lambda t, c: t < steps, lambda t, c: (t + 1, body(t, c)),
                    (0, (state, buf)), maximum_iterations=steps)
            return buf[-1] if self.ys else st[0]
        if self.loop == "unroll":
            outs = []
            st = state
            # unstack: its gradient is one stack; seq[t] costs a full-size
            # zero tensor per step in the backward pass on TF.
            xs = ops.unstack(seq, axis=0 if self.time_major else 1) if self.unstack else None
            for t in range(steps):
                xt = xs[t] if self.unstack else take_t(t)
                h, st = step_at(xt, st, m[t] if self.mask else None)
                outs.append(h)
            return ops.stack(outs, axis=1)[:, -1] if self.ys else st[0]
        raise ValueError(f"unknown loop {self.loop!r}")


def make_model(layer, shape, jit, dynamic_time=False):
    inputs = keras.Input(shape=(None if dynamic_time else shape[1], shape[2]))
    out = keras.layers.Dense(1)(layer(inputs))
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", jit_compile=jit)
    return model


VARIANTS = {
    # name: ProtoRNN keyword arguments (the baseline is the first one)
    "scan": {},
    "scan_nohoist": {"hoist": False},
    "scan_unfused": {"fused": False},
    "scan_ys": {"ys": True},
    "scan_mask": {"mask": True},
    "scan_unroll4": {"unroll": 4},
    "scan_unroll32": {"unroll": 32},
    "scan_nohoist_unroll32": {"unroll": 32, "hoist": False},
    "fori": {"loop": "fori"},
    "fori_batchmajor": {"loop": "fori", "time_major": False},
    "fori_ys": {"loop": "fori", "ys": True},
    "while": {"loop": "while"},
    "while_batchmajor": {"loop": "while", "time_major": False},
    "while_nohoist": {"loop": "while", "hoist": False},
    "while_take": {"loop": "while", "take": True},
    "while_take_nohoist": {"loop": "while", "take": True, "hoist": False},
    "while_take_ys_scatter": {"loop": "while", "take": True, "ys": "scatter"},
    "while_ys": {"loop": "while", "ys": True},
    "while_ys_scatter": {"loop": "while", "ys": "scatter"},
    "unroll": {"loop": "unroll"},
    "unroll_batchmajor": {"loop": "unroll", "time_major": False},
    "unroll_nohoist": {"loop": "unroll", "hoist": False},
    "unroll_unstack": {"loop": "unroll", "unstack": True},
    "unroll_unstack_nohoist": {"loop": "unroll", "unstack": True, "hoist": False},
}


def builtin(cell, units):
    cls = {"simple": keras.layers.SimpleRNN, "gru": keras.layers.GRU,
           "lstm": keras.layers.LSTM}[cell]
    return cls(units)


def run(cell, jit, names, batch, steps, features, units, repeats, log, dynamic_time=False):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    models = {}
    for name in names:
        t0 = time.perf_counter()
        layer = builtin(cell, units) if name == "keras" else ProtoRNN(
            units, cell=cell, **VARIANTS[name])
        try:
            model = make_model(layer, x.shape, jit, dynamic_time)
            model.train_on_batch(x, y)
            model.train_on_batch(x, y)
        except Exception as e:  # a variant a backend cannot run
            log(f"  {name}: FAILED {type(e).__name__}: {str(e).splitlines()[0][:120]}")
            continue
        models[name] = model
        log(f"  {name}: build+compile+2 steps {time.perf_counter() - t0:.1f}s")
    times = {n: [] for n in models}
    for _ in range(repeats):
        for name, model in models.items():
            t0 = time.perf_counter()
            model.train_on_batch(x, y)
            times[name].append(time.perf_counter() - t0)
    ref = min(times["keras"]) if "keras" in times else None
    log(f"{keras.backend.backend()} {cell} jit={jit} B={batch} T={steps} D={features} "
        f"H={units}: fastest / median of {repeats} training steps")
    for name, ts in sorted(times.items(), key=lambda kv: min(kv[1])):
        best = min(ts)
        rel = f"  x{ref / best:.2f} vs keras" if ref else ""
        log(f"  {name:20s} {1000 * best:8.1f} ms  {1000 * statistics.median(ts):8.1f} ms"
            f"  {batch / best:7.0f} seq/s{rel}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", default="lstm", choices=sorted(GATES))
    p.add_argument("--jit", default="both", choices=["true", "false", "both"])
    p.add_argument("--variants", default="keras," + ",".join(VARIANTS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--features", type=int, default=64)
    p.add_argument("--units", type=int, default=256)
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--dynamic-time", action="store_true", help="Input(shape=(None, D))")
    a = p.parse_args(argv)
    jits = {"true": [True], "false": [False], "both": [False, True]}[a.jit]
    for jit in jits:
        run(a.cell, jit, a.variants.split(","), a.batch, a.steps, a.features, a.units,
            a.repeats, lambda s: print(s, flush=True), a.dynamic_time)


if __name__ == "__main__":
    main()

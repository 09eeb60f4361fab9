"""What XLA (JAX, CPU) does with the LSTM's matrix products, without Keras.

Two floors that bound zoo's LSTM on JAX:

- ``--what latency``: a plain ``jax.jit`` + ``lax.scan`` LSTM at batch 1,
  100 steps (the benchmark's latency shape), with the recurrent and input
  products whole or split into 2 or 4 independent column blocks (to see
  whether XLA runs independent products on both cores), the input
  projection per step or hoisted, and the scan unrolled by 1 or 4.
- ``--what chains``: the per-step products of a training step at the
  reference shape (B=64, H=256, D=64, T=100) chained through ``lax.scan`` as
  the recurrence chains them (forward ``x@W + h@U``, recurrent ``h@U`` alone,
  backward ``d@U.T``), the same products batched into one, and one product
  in NumPy; printed as ms and GFLOP/s.

    KERAS_BACKEND=jax python -m benchmarks.prototypes.xla_floors --what latency
    KERAS_BACKEND=jax python -m benchmarks.prototypes.xla_floors --what chains
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

B, T, D, H = 64, 100, 64, 256


def _time_round_robin(fns, repeats):
    for f in fns.values():
        for _ in range(3):
            f()
    times = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: (min(t), statistics.median(t)) for k, t in times.items()}


def latency_variants():
    rng = np.random.default_rng(0)
    kernel = jnp.asarray(rng.standard_normal((D, 4 * H), dtype=np.float32) * 0.1)
    recurrent = jnp.asarray(rng.standard_normal((H, 4 * H), dtype=np.float32) * 0.05)
    bias = jnp.zeros((4 * H,))
    x = jnp.asarray(rng.standard_normal((T, 1, D), dtype=np.float32))

    def make(parts, hoist, unroll):
        us, ws = jnp.split(recurrent, parts, axis=1), jnp.split(kernel, parts, axis=1)

        def run(x, us, ws):
            xs = jnp.concatenate([x @ w for w in ws], -1) + bias if hoist else x

            def step(carry, xt):
                h, c = carry
                if hoist:
                    z = xt + jnp.concatenate([h @ u for u in us], -1)
                else:
                    z = jnp.concatenate([xt @ w + h @ u for w, u in zip(ws, us)], -1) + bias
                i, f, g, o = jnp.split(z, 4, -1)
                c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
                return (jax.nn.sigmoid(o) * jnp.tanh(c), c), None

            zeros = jnp.zeros((1, H))
            return jax.lax.scan(step, (zeros, zeros), xs, unroll=unroll)[0][0]

        compiled = jax.jit(run)
        return lambda: compiled(x, us, ws).block_until_ready()

    return {f"parts={p} hoist={h} unroll={u}": make(p, h, u)
            for p in (1, 2, 4) for h in (False, True) for u in (1, 4)}, None


def chain_variants():
    rng = np.random.default_rng(0)
    recurrent = jnp.asarray(rng.standard_normal((H, 4 * H), dtype=np.float32) * 0.05)
    recurrent_t = jnp.asarray(np.asarray(recurrent).T.copy())
    kernel = jnp.asarray(rng.standard_normal((D, 4 * H), dtype=np.float32) * 0.1)
    x = jnp.asarray(rng.standard_normal((T, B, D), dtype=np.float32))
    h0 = jnp.zeros((B, H))

    @jax.jit
    def forward(x, u, w):
        return jax.lax.scan(lambda h, xt: ((h @ u + xt @ w)[:, :H] * 0.01, None), h0, x)[0]

    @jax.jit
    def recurrent_only(u):
        return jax.lax.scan(lambda h, _: ((h @ u)[:, :H] * 0.01, None), h0, None, length=T)[0]

    @jax.jit
    def backward(ut):
        return jax.lax.scan(lambda d, _: (jnp.tile(d @ ut, (1, 4)) * 0.01, None),
                            jnp.ones((B, 4 * H)), None, length=T)[0]

    @jax.jit
    def batched(u):
        return jnp.einsum("tbh,hk->tbk", jnp.ones((T, B, H)), u)

    flops = {"forward chain x@W + h@U": 2 * T * B * (D + H) * 4 * H}
    for name in ("recurrent chain h@U", "backward chain d@U.T", "the same products batched"):
        flops[name] = 2 * T * B * H * 4 * H
    fns = {
        "forward chain x@W + h@U": lambda: forward(x, recurrent, kernel).block_until_ready(),
        "recurrent chain h@U": lambda: recurrent_only(recurrent).block_until_ready(),
        "backward chain d@U.T": lambda: backward(recurrent_t).block_until_ready(),
        "the same products batched": lambda: batched(recurrent).block_until_ready(),
    }
    return fns, flops


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--what", choices=["latency", "chains"], default="latency")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    fns, flops = latency_variants() if args.what == "latency" else chain_variants()
    for name, (best, median) in _time_round_robin(fns, args.repeats).items():
        rate = f"  {flops[name] / best / 1e9:6.1f} GFLOP/s" if flops else ""
        print(f"{name:28s} best {1e3 * best:7.3f} ms  median {1e3 * median:7.3f} ms{rate}")
    if flops:
        a = np.ones((B, H), np.float32)
        u = np.ones((H, 4 * H), np.float32)
        best = min(_one(lambda: a @ u) for _ in range(200))
        print(f"numpy, one (64, 256) @ (256, 1024): {1e6 * best:.1f} us, "
              f"{2 * B * H * 4 * H / best / 1e9:.1f} GFLOP/s")


def _one(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()

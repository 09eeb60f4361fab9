"""Prototype: batch-1 inference latency of zoo's layers per loop setting.

Inference needs no gradient, so the trade-offs measured for training (the
input projection per step beats hoisting it, because the backward pass of
the hoisted tensor costs more than it saves) may not hold. Times
`model.predict_on_batch` at batch 1, 100 steps (the benchmark's latency
shape), for zoo's layer with the input projection hoisted or per step and the
scan unrolled by 1, 2, 4 or 8 steps (JAX), against Keras's layer and PyTorch.

    KERAS_BACKEND=jax python -m benchmarks.prototypes.inference_variants
    python -m benchmarks.prototypes.inference_variants      # TensorFlow
"""

import argparse
import os
import statistics
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import zoo  # noqa: E402
from zoo import loop  # noqa: E402

NAMES = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}


def _unrolled_scan(unroll):
    from keras import ops

    def primitive(body, init, xs, y_init, return_sequences):
        if return_sequences:
            return ops.scan(body, init, xs, unroll=unroll)
        return ops.scan(lambda c, x: (body(c, x)[0], None), init, xs, unroll=unroll)[0], None

    return primitive


def _with_projection(layer, projection):
    layer.input_projection = projection
    return layer


class Variant:
    def __init__(self, name, make, unroll=1):
        self.name, self.unroll = name, unroll
        inputs = keras.Input((None, 64))
        self.model = keras.Model(inputs, keras.layers.Dense(1)(make()(inputs)))

    def infer(self, x):
        backend = keras.backend.backend()
        saved = loop.PRIMITIVES[backend]
        if self.unroll != 1:
            loop.PRIMITIVES[backend] = _unrolled_scan(self.unroll)
        try:
            self.model.predict_on_batch(x)
        finally:
            loop.PRIMITIVES[backend] = saved


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", default="simple,gru,lstm")
    parser.add_argument("--repeats", type=int, default=60)
    args = parser.parse_args()
    backend = keras.backend.backend()
    x = np.random.default_rng(0).standard_normal((1, 100, 64)).astype("float32")
    for cell in args.cells.split(","):
        name = NAMES[cell]
        zoo_cls, keras_cls = getattr(zoo.layers, name), getattr(keras.layers, name)
        variants = [Variant("keras", lambda: keras_cls(256))]
        for projection in ("per_step", "hoisted"):
            unrolls = (1, 2, 4, 8) if backend == "jax" else (1,)
            for unroll in unrolls:
                variants.append(Variant(
                    f"zoo {projection} unroll={unroll}",
                    lambda p=projection: _with_projection(zoo_cls(256), p), unroll))
        try:
            import torch

            torch_cls = getattr(torch.nn, {"simple": "RNN"}.get(cell, name))
            torch_rnn = torch_cls(64, 256, batch_first=True)
            head = torch.nn.Linear(256, 1)
            xt = torch.from_numpy(x)

            class TorchVariant:
                def __init__(self, threads):
                    self.name, self.threads = f"torch {threads} thr", threads

                def infer(self, _):
                    torch.set_num_threads(self.threads)
                    with torch.inference_mode():
                        head(torch_rnn(xt)[0][:, -1])

            variants += [TorchVariant(1), TorchVariant(2)]
        except ImportError:
            pass
        times = {v.name: [] for v in variants}
        for v in variants:
            for _ in range(3):
                v.infer(x)
        for _ in range(args.repeats):
            for v in variants:
                t0 = time.perf_counter()
                v.infer(x)
                times[v.name].append(time.perf_counter() - t0)
        print(f"{name} ({backend}), batch 1, 100 steps, ms:")
        for label, ts in times.items():
            best, median = 1e3 * min(ts), 1e3 * statistics.median(ts)
            print(f"  {label:26s} best {best:6.2f}  median {median:6.2f}")


if __name__ == "__main__":
    main()

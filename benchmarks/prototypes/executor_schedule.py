"""Prototype: one LSTM per process on TensorFlow's graph loop, its speed and
where the step's time goes (TensorFlow only).

TensorFlow's executor learns, from a graph's first runs, which ops to run
inline on the current thread and which to hand to the thread pool (every op
starts "expensive"; below 8000 cycles of measured average it becomes
"inexpensive" for good). An LSTM step's elementwise ops on (64, 256) tensors
sit right at that threshold, so each process settles on its own schedule and
keeps it. Run this script several times to see how often a layer gets the
fast one; `--trace DIR` also profiles one step and prints, for the forward and
the backward loop, how long each took and how busy the two cores were.

    python -m benchmarks.prototypes.executor_schedule --layer zoo
    python -m benchmarks.prototypes.executor_schedule --layer keras --trace /tmp/trace

Measured on this 2-core CPU (B64 T100 D64 H256, best of 10 steps, one process
per run, 26 Nov 2026): zoo with its loop of that day 17 of 18 processes at
579-611 seq/s (one at 564); with the loop before it (carry-ordered loop
variables, last output read from the final states) 6 of 10 at 597-613 and 4
at 527-534. Traces of step 1: fast process forward 49 ms, backward 64 ms
with 87 % of both cores busy; slow process forward 49 ms, backward 81 ms with
71 % busy, the backward loop's `dz @ U.T` queued behind `x_t.T @ dz` on one
thread.

The trace is read with TensorFlow's XPlane protobuf module
(`tensorflow.tsl.profiler.protobuf.xplane_pb2`), which TensorFlow installs but
does not document as public API; only this prototype uses it.
"""

import argparse
import glob
import os
import statistics
import sys
import time

import numpy as np

B, T, D, H = 64, 100, 64, 256


def build(layer):
    import keras

    import zoo

    keras.utils.set_random_seed(0)
    rnn = keras.layers.LSTM(H) if layer == "keras" else zoo.layers.LSTM(H)
    model = keras.Sequential([keras.Input((None, D)), rnn, keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", jit_compile=False)
    return model


def loop_spans(logdir):
    """(forward ms, forward busy ms, backward ms, backward busy ms) of the
    first traced training step, from the compute threads' op events."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
    space = xplane_pb2.XSpace()
    with open(path, "rb") as f:
        space.ParseFromString(f.read())
    plane = next(p for p in space.planes if p.name == "/host:CPU")
    names = {k: v.name for k, v in plane.event_metadata.items()}
    steps = sorted(
        line.timestamp_ns * 1000 + ev.offset_ps
        for line in plane.lines if line.name == "python"
        for ev in line.events
        if names[ev.metadata_id].startswith("EagerLocalExecute: __inference_one_step"))
    start, end = steps[0], (steps[1] if len(steps) > 1 else float("inf"))
    spans = {"forward": [], "backward": []}
    for line in plane.lines:
        if not line.name.startswith("tf_Compute"):
            continue
        for ev in line.events:
            name = names[ev.metadata_id]
            t0 = line.timestamp_ns * 1000 + ev.offset_ps
            if not start <= t0 < end or name in ("ExecutorState::Process", "ParallelFor"):
                continue
            if "while_grad/body" in name:
                spans["backward"].append((t0, t0 + ev.duration_ps))
            elif "while/body" in name and "gradient_tape" not in name:
                spans["forward"].append((t0, t0 + ev.duration_ps))
    out = []
    for key in ("forward", "backward"):
        events = spans[key]
        wall = (max(e for _, e in events) - min(s for s, _ in events)) / 1e9
        busy = sum(e - s for s, e in events) / 1e9
        out.append((wall, busy))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layer", choices=("zoo", "keras"), default="zoo")
    p.add_argument("--repeats", type=int, default=10)
    p.add_argument("--trace", help="profile one step into this folder and print the loop spans")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import tensorflow as tf

    model = build(args.layer)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, D)).astype("float32")
    y = np.zeros((B, 1), "float32")
    for _ in range(3):
        model.train_on_batch(x, y)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
    print(f"{args.layer} LSTM, TF graph: best {B / min(times):.0f} seq/s, "
          f"median {B / statistics.median(times):.0f}")
    if args.trace:
        tf.profiler.experimental.start(args.trace)
        for _ in range(2):
            model.train_on_batch(x, y)
        tf.profiler.experimental.stop()
        (fw, fw_busy), (bw, bw_busy) = loop_spans(args.trace)
        cores = os.cpu_count()
        print(f"traced step: forward loop {fw:.1f} ms ({fw_busy / fw / cores:.0%} of {cores} "
              f"cores busy), backward loop {bw:.1f} ms ({bw_busy / bw / cores:.0%})")


if __name__ == "__main__":
    sys.exit(main())

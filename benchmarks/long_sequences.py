"""Long sequences: training speed of the parallel-scan cells against the step loop.

Every contender trains the same model, ``Input -> layer(units) -> Dense(1)``,
MSE, plain SGD, with ``jit_compile=True`` (XLA on TensorFlow, ``jax.jit`` on
JAX), at each sequence length of ``--lengths`` (default 100, 1000, 4000;
batch 32, 128 units, 16 features):

- zoo ``MinGRU`` and ``MinLSTM`` in their parallel mode (the prefix scan
  in log space) and ``MinGRU`` in its step mode (the shared time loop);
- zoo ``IndRNN``, ``GRU`` and ``LSTM``; ``keras.layers.LSTM``; PyTorch's
  ``nn.LSTM`` when torch is importable.

Speed: single ``train_on_batch`` steps after warm-up, the contenders
alternating round-robin in a new random order each round; the fastest of
``--repeats`` steps, as training steps/s and sequences/s, and as a ratio to
zoo's LSTM at the same length, measured in the same process.

Memory (JAX only): the temporary memory XLA allocates for one compiled
training-gradient computation of each zoo contender
(``jax.jit(...).lower(...).compile().memory_analysis()``), i.e. what the
forward pass keeps for the backward pass; the ratio of ``MinGRU`` parallel to
``MinGRU`` step at each length is the cost of the scan.

    python -m benchmarks.long_sequences --backend jax
    python -m benchmarks.long_sequences --backend tensorflow
    python -m benchmarks.long_sequences --backend jax --quick   # smoke run
    # options: --lengths 100,1000,4000 --batch 32 --units 128 --features 16
    #          --repeats 5 --json results.json
"""

import argparse
import functools
import json
import os
import sys

import numpy as np

from benchmarks.rnn_throughput import (
    KerasContender,
    TorchContender,
    _settle,
    _timed,
    machine_description,
    torch_thread_counts,
)

REFERENCE = dict(lengths=(100, 1000, 4000), batch=32, units=128, features=16)
QUICK = dict(lengths=(8, 16), batch=4, units=8, features=3)
# name -> (zoo.layers class, layer keyword arguments); "keras_lstm" and "torch_lstm" aside.
ZOO = {
    "mingru_parallel": ("MinGRU", {"mode": "parallel"}),
    "mingru_step": ("MinGRU", {"mode": "step"}),
    "minlstm_parallel": ("MinLSTM", {"mode": "parallel"}),
    "indrnn": ("IndRNN", {}),
    "gru": ("GRU", {}),
    "lstm": ("LSTM", {}),
}
CONTENDERS = tuple(ZOO) + ("keras_lstm", "torch_lstm")
BASELINE = "lstm"


def build(name, shape, notes):
    """The contender `name` for shape (batch, steps, features, units), or None
    (with a note) when it cannot run here."""
    import keras

    from zoo import layers

    if name == "torch_lstm":
        threads = torch_thread_counts()
        if not threads:
            note = "torch_lstm skipped: torch is not importable"
            if note not in notes:
                notes.append(note)
            return None
        contender = TorchContender("lstm", shape, threads[0])
    elif name == "keras_lstm":
        contender = KerasContender("keras", keras.layers.LSTM, "lstm", True, shape)
    else:
        cls, kwargs = ZOO[name]
        layer = functools.partial(getattr(layers, cls), **kwargs)
        contender = KerasContender("zoo", layer, "lstm", True, shape)
    contender.name = name
    return contender


def time_length(names, shape, repeats, notes, log):
    """Rows of one sequence length: every contender warmed up, then timed round-robin."""
    batch, steps, features, _ = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    working = []
    for name in names:
        contender = build(name, shape, notes)
        if contender is None:
            continue
        try:
            for _ in range(2):
                contender.train_step(x, y)
                _settle(contender)
        except Exception as e:  # a contender that cannot run is reported, not fatal
            first = (str(e).strip().splitlines() or [""])[0][:200]
            notes.append(f"{name} at T={steps} failed: {type(e).__name__}: {first}")
            log(f"  FAILED {notes[-1]}")
            continue
        working.append(contender)
        log(f"  T={steps} warm {name}")
    times = {c.name: [] for c in working}
    order = np.random.default_rng(0)
    for _ in range(repeats):
        for i in order.permutation(len(working)):
            c = working[i]
            times[c.name].append(_timed(c.train_step, x, y))
            _settle(c)
    rows = []
    for c in working:
        best = min(times[c.name])
        rows.append(dict(contender=c.name, backend=c.backend, setting=c.setting, steps=steps,
                         steps_per_s=1.0 / best, sequences_per_s=batch / best,
                         timed=len(times[c.name])))
    base = [r for r in rows if r["contender"] == BASELINE]
    for r in rows:
        r["vs_lstm"] = r["steps_per_s"] / base[0]["steps_per_s"] if base else None
    return rows


def gradient_memory(name, shape):
    """JAX: bytes of temporary memory of one compiled gradient of the MSE loss."""
    import jax
    import keras

    from zoo import layers

    batch, steps, features, units = shape
    cls, kwargs = ZOO[name]
    inputs = keras.Input(shape=(steps, features), batch_size=batch)
    model = keras.Model(inputs, keras.layers.Dense(1)(getattr(layers, cls)(units, **kwargs)(
        inputs)))
    trainable = [v.value for v in model.trainable_variables]
    others = [v.value for v in model.non_trainable_variables]
    x = np.zeros((batch, steps, features), "float32")
    y = np.zeros((batch, 1), "float32")

    def loss(weights, x, y):
        out, _ = model.stateless_call(weights, others, x)
        return jax.numpy.mean((out - y) ** 2)

    compiled = jax.jit(jax.grad(loss)).lower(trainable, x, y).compile()
    analysis = compiled.memory_analysis()
    return int(analysis.temp_size_in_bytes)


def run(args, log):
    import keras

    backend = keras.backend.backend()
    notes, rows, memory = [], [], []
    for steps in args.lengths:
        shape = (args.batch, steps, args.features, args.units)
        rows += time_length(args.contenders, shape, args.repeats, notes, log)
        if backend == "jax":
            for name in [n for n in args.contenders if n in ZOO]:
                try:
                    memory.append(dict(contender=name, steps=steps,
                                       temp_bytes=gradient_memory(name, shape)))
                except Exception as e:
                    notes.append(f"memory of {name} at T={steps} failed: {type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:200] if str(e) else ''}")
    if backend != "jax":
        notes.append("memory is measured on JAX only (XLA's memory analysis of the "
                     "compiled gradient); run with --backend jax")
    return dict(backend=backend, batch=args.batch, units=args.units, features=args.features,
                lengths=list(args.lengths), repeats=args.repeats, rows=rows, memory=memory,
                notes=notes, machine=machine_description())


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def report(result):
    out = [f"Long sequences, {result['backend']}: batch {result['batch']}, "
           f"{result['units']} units, {result['features']} features, best of "
           f"{result['repeats']} training steps. Machine: {result['machine']}.", "",
           "| contender | T | setting | train steps/s | sequences/s | vs zoo LSTM |",
           "|---|---:|---|---:|---:|---:|"]
    for r in result["rows"]:
        out.append(f"| {r['contender']} | {r['steps']} | {r['setting']} | "
                   f"{r['steps_per_s']:.2f} | {r['sequences_per_s']:.1f} | "
                   f"{_fmt(r['vs_lstm'], '.2f')}x |")
    if result["memory"]:
        out += ["", "| contender | T | gradient temp memory (MiB) | vs mingru_step |",
                "|---|---:|---:|---:|"]
        step = {m["steps"]: m["temp_bytes"] for m in result["memory"]
                if m["contender"] == "mingru_step"}
        for m in result["memory"]:
            ratio = m["temp_bytes"] / step[m["steps"]] if step.get(m["steps"]) else None
            out.append(f"| {m['contender']} | {m['steps']} | {m['temp_bytes'] / 2**20:.2f} | "
                       f"{_fmt(ratio, '.2f')}x |")
    out += [f"\nNote: {n}" for n in result["notes"]]
    return "\n".join(out)


def _int_list(text):
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected a comma list of positive integers; received {text!r}")
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.long_sequences",
                                description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="Keras backend (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--quick", action="store_true", help=f"smoke run on tiny shapes {QUICK}")
    p.add_argument("--lengths", type=_int_list,
                   help=f"comma list of sequence lengths (default {REFERENCE['lengths']})")
    for key in ("batch", "units", "features"):
        p.add_argument(f"--{key}", type=int, help=f"default {REFERENCE[key]}")
    p.add_argument("--contenders", default=",".join(CONTENDERS),
                   help=f"comma list of {', '.join(CONTENDERS)}")
    p.add_argument("--repeats", type=int, default=5, help="timed training steps per contender")
    p.add_argument("--json", help="also write the raw results to this file")
    args = p.parse_args(argv)
    args.contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    bad = [c for c in args.contenders if c not in CONTENDERS]
    if bad or not args.contenders:
        p.error(f"--contenders must be a comma list of {list(CONTENDERS)}; received: {bad}")
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1; received: {args.repeats}")
    defaults = QUICK if args.quick else REFERENCE
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv=None):
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    backend = args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise SystemExit(f"keras is already imported with another backend; run "
                         f"`python -m benchmarks.long_sequences --backend {backend}`")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = run(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(report(result))
    return result


if __name__ == "__main__":
    main()

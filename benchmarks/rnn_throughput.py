"""Training throughput and batch-1 latency of recurrent layers, as ratios in one run.

Contenders, per cell (SimpleRNN, GRU, LSTM):

- ``zoo``: ``zoo.layers.SimpleRNN`` / ``GRU`` / ``LSTM`` (skipped, with a note,
  while ``zoo.layers`` cannot be imported);
- ``keras``: ``keras.layers.SimpleRNN`` / ``GRU`` / ``LSTM``;
- each of the two above with and without XLA: on TensorFlow ``jit_compile=True``
  (``xla``) and ``jit_compile=False`` (``graph``: a ``tf.function``); on JAX
  ``jit_compile=True`` (``jit``: Keras's default, the whole step under
  ``jax.jit``) and ``jit_compile=False`` (``eager``: op-by-op dispatch, and
  every call re-traces and compiles the ``lax.scan`` loop body, so a step takes
  about a second even at tiny shapes; on JAX the default ``--jit auto`` runs
  only ``jit``, ``--jit both`` adds ``eager``);
- ``torch``: PyTorch ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` on CPU, when torch
  is importable, with ``torch.set_num_threads(cpu count)`` and with one thread
  (on a loaded machine OpenMP's barriers can make the first many times slower).

Every contender trains the same model, Input -> RNN(return_sequences=False) ->
Dense(1), with MSE loss and plain SGD. Training throughput is sequences/s over
single training steps after warm-up; latency is one forward pass at batch 1.
Contenders alternate round-robin, in a new random order each round, so that
the machine's noise and the previous contender's after-effects hit them
alike; the table gives the fastest and the median step.

The machine's float32 matrix-product rate (the fastest large square product,
NumPy or the backend) is measured in the same process. Each row prints its
training rate as a fraction of it, counting ``2*T*B*(D+H)*k*H`` FLOPs forward
(k = 1, 3, 4 gates) and three times that for a training step.

The Keras backend is fixed per process, so run one process per backend::

    python -m benchmarks.rnn_throughput --backend tensorflow
    python -m benchmarks.rnn_throughput --backend jax --cells gru,lstm
    python -m benchmarks.rnn_throughput --all            # both, merged
    python -m benchmarks.rnn_throughput --backend jax --quick   # smoke run
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

CELLS = ("simple", "gru", "lstm")
GATES = {"simple": 1, "gru": 3, "lstm": 4}
KERAS_NAMES = {"simple": "SimpleRNN", "gru": "GRU", "lstm": "LSTM"}
TORCH_NAMES = {"simple": "RNN", "gru": "GRU", "lstm": "LSTM"}
JIT_LABELS = {"tensorflow": {True: "xla", False: "graph"}, "jax": {True: "jit", False: "eager"}}
REFERENCE = dict(batch=64, steps=100, features=64, units=256)
QUICK = dict(batch=4, steps=5, features=3, units=8)
LATENCY_BURST = 4  # calls per latency turn; the first, cold one is not counted


def train_flops(cell, steps, features, units, batch=1):
    """FLOPs of one training step: three times the forward matrix products."""
    return 3 * 2 * steps * batch * (features + units) * GATES[cell] * units


def fastest_and_median(times):
    return min(times), statistics.median(times)


# --------------------------------------------------------------------------
# Contenders: each builds its model once and exposes train_step() and infer().
# --------------------------------------------------------------------------
class KerasContender:
    """A Keras model Input -> layer -> Dense(1), compiled with or without XLA."""

    def __init__(self, family, layer_cls, cell, jit, shape):
        import keras

        self.family, self.cell = family, cell
        self.backend = keras.backend.backend()
        batch, steps, features, units = shape
        inputs = keras.Input(shape=(None, features))
        hidden = layer_cls(units)(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=1e-3), loss="mse", jit_compile=jit
        )
        self.model = model
        # What Keras actually runs (it may turn jit_compile off for a layer).
        self.setting = JIT_LABELS[self.backend][bool(model.jit_compile)]
        self.requested = JIT_LABELS[self.backend][jit]

    def train_step(self, x, y):
        self.model.train_on_batch(x, y)

    def infer(self, x):
        self.model.predict_on_batch(x)


class TorchContender:
    """PyTorch nn.RNN / nn.GRU / nn.LSTM with a Linear head, SGD on MSE, run
    with `threads` intra-op threads (set before every call: it is global)."""

    def __init__(self, cell, shape, threads):
        import torch

        self.torch = torch
        self.family, self.cell, self.backend = "torch", cell, "torch"
        self.threads = threads
        self.setting = self.requested = f"{threads} thr"
        _, _, features, units = shape
        rnn = getattr(torch.nn, TORCH_NAMES[cell])(features, units, batch_first=True)
        head = torch.nn.Linear(units, 1)
        self.rnn, self.head = rnn, head
        self.params = list(rnn.parameters()) + list(head.parameters())
        self.opt = torch.optim.SGD(self.params, lr=1e-3)
        self.loss = torch.nn.MSELoss()
        self._tensors = {}

    def _t(self, a):
        key = id(a)
        if key not in self._tensors:
            self._tensors[key] = self.torch.from_numpy(a)
        return self._tensors[key]

    def _forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])

    # PyTorch's OpenMP workers spin-wait for new work for several milliseconds
    # after each call (libgomp's default wait policy). Left alone, that spin
    # takes a core from whichever contender is timed next (measured: Keras and
    # zoo LSTM on TF graph 503-515 seq/s right after torch, 591-612 without
    # it), while OMP_WAIT_POLICY=PASSIVE slows PyTorch itself (741 -> 562).
    # So PyTorch keeps its default, and the benchmark waits this long, untimed,
    # after each of its calls, until its workers stop spinning.
    settle_s = 0.05

    def train_step(self, x, y):
        self.torch.set_num_threads(self.threads)
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss(self._forward(self._t(x)), self._t(y))
        loss.backward()
        self.opt.step()

    def infer(self, x):
        self.torch.set_num_threads(self.threads)
        with self.torch.inference_mode():
            self._forward(self._t(x))


def zoo_layer_classes():
    """zoo.layers' classes by cell, or the reason they cannot be used."""
    try:
        from zoo import layers as zoo_layers
    except Exception as e:  # the package may not provide them yet
        return None, f"zoo.layers not importable ({type(e).__name__}: {e})"
    return {c: getattr(zoo_layers, KERAS_NAMES[c]) for c in CELLS}, None


def torch_thread_counts():
    """PyTorch thread settings to run: the core count, and 1. On a loaded
    machine OpenMP's barriers make the multi-threaded setting many times
    slower than one thread, so both run and the best peer is the faster."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return []
    return sorted({os.cpu_count() or 1, 1}, reverse=True)


def build_contenders(cells, shape, families, jits, notes):
    import keras

    layer_sets = {}
    if "zoo" in families:
        zoo_classes, why = zoo_layer_classes()
        if zoo_classes is None:
            notes.append(f"zoo rows skipped: {why}")
        else:
            layer_sets["zoo"] = zoo_classes
    if "keras" in families:
        layer_sets["keras"] = {c: getattr(keras.layers, KERAS_NAMES[c]) for c in CELLS}
    torch_threads = torch_thread_counts() if "torch" in families else []
    if "torch" in families and not torch_threads:
        notes.append("torch rows skipped: torch is not importable")
    contenders = []
    for cell in cells:
        for family, classes in layer_sets.items():
            for jit in jits:
                contenders.append(KerasContender(family, classes[cell], cell, jit, shape))
        for threads in torch_threads:
            contenders.append(TorchContender(cell, shape, threads))
    return contenders


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
def matmul_rate(sizes=(512, 1024, 2048), repeats=5):
    """Fastest float32 square matrix product, GFLOP/s, per engine."""
    import keras
    from keras import ops

    rates = {}
    for n in sizes:
        a = np.random.default_rng(0).standard_normal((n, n)).astype("float32")
        engines = {
            "numpy": lambda a=a: a @ a,
            keras.backend.backend(): lambda t=ops.convert_to_tensor(a): (
                ops.convert_to_numpy(ops.matmul(t, t))
            ),
        }
        for name, fn in engines.items():
            fn()
            best = min(_timed(fn) for _ in range(repeats))
            rates[name] = max(rates.get(name, 0.0), 2 * n**3 / best / 1e9)
    return rates


def _timed(fn, *args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _settle(contender):
    """Wait, untimed, for the contender's `settle_s` (see TorchContender). A
    busy wait, not a sleep: an idle core slows the next millisecond-long call
    down (measured: batch-1 latencies 1.3-1.9x higher after sleeping)."""
    settle_until = time.perf_counter() + getattr(contender, "settle_s", 0.0)
    while time.perf_counter() < settle_until:
        pass


def measure(contenders, shape, latency_steps, repeats, notes, warmup=2, log=print):
    """Warm every contender up, then time them round-robin. A contender that
    fails to build or run is dropped with a note saying why."""
    batch, steps, features, _ = shape
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, steps, features)).astype("float32")
    y = rng.standard_normal((batch, 1)).astype("float32")
    x1 = rng.standard_normal((1, latency_steps, features)).astype("float32")
    # PyTorch warms up last: TensorFlow's executor settles a graph's schedule
    # during its first runs, and a TF-graph model warmed up right after
    # PyTorch's turn kept a slower one for the whole process.
    working = []
    for c in sorted(contenders, key=lambda c: isinstance(c, TorchContender)):
        t0 = time.perf_counter()
        try:
            for _ in range(warmup):
                c.train_step(x, y)
                _settle(c)
                c.infer(x1)
                _settle(c)
        except Exception as e:
            first = (str(e).strip().splitlines() or [""])[0][:200]
            notes.append(f"{c.family} {KERAS_NAMES[c.cell]} {c.backend} {c.requested} "
                         f"failed: {type(e).__name__}: {first}")
            log(f"  FAILED {notes[-1]}")
            continue
        working.append(c)
        log(f"  warm-up {c.family:5s} {c.cell:6s} {c.setting:5s} {time.perf_counter() - t0:6.1f}s")
    contenders = working
    train = {id(c): [] for c in contenders}
    infer = {id(c): [] for c in contenders}

    # Round-robin, every contender once per round, in a new (seeded) random
    # order each round, so that who runs right after another framework's turn
    # (thread pools waking up, caches refilled) changes from round to round.
    # Rotating one fixed order does not do that: it keeps each contender's
    # predecessor (zoo's TF-graph LSTM, listed after the PyTorch rows of the
    # GRU, followed PyTorch in every round and measured 0.91-0.96x Keras;
    # listed first instead, Keras's layer took its place and its ratio).
    order_rng = np.random.default_rng(0)

    def rounds(count):
        for _ in range(count):
            yield [contenders[i] for i in order_rng.permutation(len(contenders))]

    for order in rounds(repeats):
        for c in order:
            train[id(c)].append(_timed(c.train_step, x, y))
            _settle(c)
    # Latency is timed warm: each turn is a burst of LATENCY_BURST calls whose
    # first (cold) call is dropped. A batch-1 step reads every weight from
    # cache, and the other contenders' weights evict them between turns
    # (measured: every contender 1.3-1.9x slower when timed one call per turn).
    for order in rounds(repeats):
        for c in order:
            burst = [_timed(c.infer, x1) for _ in range(LATENCY_BURST)]
            infer[id(c)].extend(burst[1:])
            _settle(c)
    rows = []
    for c in contenders:
        t_best, t_med = fastest_and_median(train[id(c)])
        l_best, l_med = fastest_and_median(infer[id(c)])
        rows.append(dict(
            backend=c.backend, family=c.family, cell=c.cell, setting=c.setting,
            requested=c.requested, train_best=batch / t_best, train_median=batch / t_med,
            latency_best_ms=1e3 * l_best, latency_median_ms=1e3 * l_med,
            steps_timed=len(train[id(c)]),
        ))
    return rows


# --------------------------------------------------------------------------
# Ratios and the table
# --------------------------------------------------------------------------
def add_ratios(rows, shape, rate):
    """vs_keras: against Keras's layer, same backend and setting; vs_peer:
    against the fastest Keras or torch row of the cell; frac_matmul: training
    GFLOP/s over the measured matrix-product rate; lat_vs_torch likewise."""
    _, steps, features, units = shape
    for r in rows:
        same = [k for k in rows if k["family"] == "keras" and k["cell"] == r["cell"]
                and k["backend"] == r["backend"] and k["setting"] == r["setting"]]
        r["vs_keras"] = r["train_best"] / same[0]["train_best"] if same else None
        peers = [k for k in rows if k["family"] in ("keras", "torch") and k["cell"] == r["cell"]]
        r["vs_peer"] = r["train_best"] / max(k["train_best"] for k in peers) if peers else None
        torch_rows = [k for k in rows if k["family"] == "torch" and k["cell"] == r["cell"]]
        r["lat_vs_torch"] = (min(k["latency_best_ms"] for k in torch_rows) / r["latency_best_ms"]
                             if torch_rows else None)
        gflops = r["train_best"] * train_flops(r["cell"], steps, features, units) / 1e9
        r["gflops"] = gflops
        r["frac_matmul"] = gflops / rate


def _fmt(v, spec):
    return "-" if v is None else format(v, spec)


def format_table(rows):
    head = ("| cell | layer | backend | jit | train seq/s best | median | vs keras | vs best peer "
            "| GFLOP/s | of matmul | latency ms best | median | torch lat / lat |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in sorted(rows, key=lambda r: (CELLS.index(r["cell"]), r["family"] != "zoo",
                                         r["family"], r["backend"], r["setting"])):
        jit = r["setting"] + ("" if r["setting"] == r["requested"] else
                              f" (asked {r['requested']})")
        lines.append(
            f"| {KERAS_NAMES[r['cell']]} | {r['family']} | {r['backend']} | {jit} "
            f"| {r['train_best']:.0f} | {r['train_median']:.0f} | {_fmt(r['vs_keras'], '.2f')} "
            f"| {_fmt(r['vs_peer'], '.2f')} | {r['gflops']:.3g} | {100 * r['frac_matmul']:.2g}% "
            f"| {r['latency_best_ms']:.2f} | {r['latency_median_ms']:.2f} "
            f"| {_fmt(r['lat_vs_torch'], '.2f')} |")
    return "\n".join(lines)


def report(result):
    shape = tuple(result["shape"])
    add_ratios(result["rows"], shape, result["matmul_gflops"])
    b, t, d, h = shape
    out = [
        f"Training: batch {b}, {t} steps, {d} features, {h} units; fastest and median of "
        f"{result['repeats']} single SGD steps (round-robin, a new random order each round). "
        f"Latency: batch 1, "
        f"{result['latency_steps']} steps, predict_on_batch / torch inference_mode, "
        f"warm (bursts of {LATENCY_BURST} calls, the first dropped).",
        "float32 matrix product: " + ", ".join(
            f"{k} {v:.1f} GFLOP/s" for k, v in result["matmul_rates"].items())
        + f" -> rate used {result['matmul_gflops']:.1f} GFLOP/s.",
        f"Machine: {result['machine']}.",
        "",
        format_table(result["rows"]),
    ]
    out += [f"\nNote: {n}" for n in result["notes"]]
    return "\n".join(out)


def machine_description():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model})"


def run_one_backend(args, log):
    import keras

    shape = (args.batch, args.steps, args.features, args.units)
    jit = args.jit
    if jit == "auto":
        jit = "both" if keras.backend.backend() == "tensorflow" else "on"
    jits = {"both": [False, True], "on": [True], "off": [False]}[jit]
    notes = []
    contenders = build_contenders(args.cells, shape, args.families, jits, notes)
    log(f"{keras.backend.backend()}: {len(contenders)} contenders, shape {shape}")
    rows = measure(contenders, shape, args.latency_steps, args.repeats, notes, log=log)
    rates = matmul_rate(sizes=(64, 128) if args.quick else (512, 1024, 2048))
    return dict(shape=shape, latency_steps=args.latency_steps, repeats=args.repeats,
                rows=rows, matmul_rates=rates, matmul_gflops=max(rates.values()),
                notes=notes, machine=machine_description())


def label_torch_rows(rows, backend):
    """Torch runs in each backend's process: name the process in its rows."""
    for r in rows:
        if r["family"] == "torch":
            r["backend"] = f"torch ({backend} process)"


def run_all(args, argv):
    """Both backends in subprocesses, tables merged (torch rows once per process)."""
    passthrough, skip = [], False
    for a in argv:  # the children get their own --backend and --json
        if skip:
            skip = False
        elif a in ("--json", "--backend"):
            skip = True
        elif a != "--all" and not a.startswith(("--json=", "--backend=")):
            passthrough.append(a)
    merged = None
    for backend in ("tensorflow", "jax"):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "result.json")
            cmd = [sys.executable, "-m", "benchmarks.rnn_throughput", "--backend", backend,
                   "--json", path] + passthrough
            # the child's own table is dropped; its progress log goes to stderr
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                           env=dict(os.environ, KERAS_BACKEND=backend))
            with open(path) as f:
                result = json.load(f)
        label_torch_rows(result["rows"], backend)
        if merged is None:
            merged = result
        else:
            merged["rows"] += result["rows"]
            merged["notes"] += result["notes"]
            merged["matmul_rates"] = {f"{k} (tf process)" if k == "numpy" else k: v
                                      for k, v in merged["matmul_rates"].items()}
            merged["matmul_rates"].update(
                {f"{k} (jax process)" if k == "numpy" else k: v
                 for k, v in result["matmul_rates"].items()})
            merged["matmul_gflops"] = max(merged["matmul_rates"].values())
    return merged


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.rnn_throughput", description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["tensorflow", "jax"],
                   help="Keras backend of this process (default: $KERAS_BACKEND or tensorflow)")
    p.add_argument("--all", action="store_true", help="run both backends and merge the tables")
    p.add_argument("--cells", default=",".join(CELLS), help="comma list of simple,gru,lstm")
    p.add_argument("--families", default="zoo,keras,torch", help="comma list of zoo,keras,torch")
    p.add_argument("--jit", default="auto", choices=["auto", "both", "on", "off"],
                   help="jit_compile settings to run; auto = both on tensorflow, on for jax")
    p.add_argument("--quick", action="store_true", help=f"smoke run on tiny shapes {QUICK}")
    for k, v in REFERENCE.items():
        p.add_argument(f"--{k}", type=int, help=f"default {v} ({QUICK[k]} with --quick)")
    p.add_argument("--latency-steps", type=int, help="timesteps of the batch-1 latency input")
    p.add_argument("--repeats", type=int, default=10, help="timed training steps per contender")
    p.add_argument("--json", help="also write the raw results to this file")
    args = p.parse_args(argv)
    args.cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    args.families = [f.strip() for f in args.families.split(",") if f.strip()]
    bad = [c for c in args.cells if c not in CELLS]
    if bad or not args.cells:
        p.error(f"--cells must be a comma list of {CELLS}; received: {args.cells}")
    bad = [f for f in args.families if f not in ("zoo", "keras", "torch")]
    if bad or not args.families:
        p.error(f"--families must name zoo, keras or torch; received: {args.families}")
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1; received: {args.repeats}")
    defaults = QUICK if args.quick else REFERENCE
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.latency_steps is None:
        args.latency_steps = args.steps
    return args


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.all:
        result = run_all(args, argv)
    else:
        backend = args.backend or os.environ.get("KERAS_BACKEND", "tensorflow")
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
            raise SystemExit(f"keras is already imported with another backend; run "
                             f"`python -m benchmarks.rnn_throughput --backend {backend}`")
        os.environ["KERAS_BACKEND"] = backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        result = run_one_backend(args, log=lambda s: print(s, file=sys.stderr, flush=True))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    print(report(result))
    return result


if __name__ == "__main__":
    main()

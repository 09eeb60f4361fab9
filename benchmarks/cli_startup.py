"""Start-up time of the ``zoo`` command and of ``import zoo``, as ratios to a bare
Python start measured in the same run, and which heavy libraries each loads.

    python -m benchmarks.cli_startup [--repeats 5] [--json]

Each case runs in a fresh process, ``--repeats`` times, round-robin with the
baseline (``python -c pass``); the table gives the best and median wall time,
best / baseline-best, and the heavy modules found in ``sys.modules`` at exit
(tensorflow, keras, keras_tuner, tensorflow_datasets, jax). ``--code`` adds a
case of your own (Python source), e.g. ``--code "import zoo.layers"``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HEAVY = ("tensorflow", "keras", "keras_tuner", "tensorflow_datasets", "jax")

PROBE = """
import sys
{body}
print("HEAVY=" + ",".join(m for m in {heavy!r} if m in sys.modules))
"""

CLI = """
import contextlib, io
import zoo.cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        zoo.cli.main({argv!r})
    except SystemExit:
        pass
"""

CASES = {
    "python -c pass (baseline)": "pass",
    "zoo --help": CLI.format(argv=["--help"]),
    "zoo list": CLI.format(argv=["list"]),
    "zoo train --help": CLI.format(argv=["train", "--help"]),
    "zoo tune --help": CLI.format(argv=["tune", "--help"]),
    "import zoo (jax backend)": "import zoo",
    "import zoo; zoo.layers (jax backend)": "import zoo, zoo.layers",
}
JAX_CASES = {"import zoo (jax backend)", "import zoo; zoo.layers (jax backend)"}


def run_once(body, env):
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE.format(body=body, heavy=HEAVY)],
                         capture_output=True, text=True, env=env, check=True).stdout
    seconds = time.perf_counter() - start
    heavy = next((line[6:] for line in out.splitlines() if line.startswith("HEAVY=")), "")
    return seconds, heavy


def measure(cases, repeats):
    times = {name: [] for name in cases}
    heavy = {}
    for _ in range(repeats):
        for name, body in cases.items():
            env = dict(os.environ)
            if name in JAX_CASES:
                env["KERAS_BACKEND"] = "jax"
            seconds, loaded = run_once(body, env)
            times[name].append(seconds)
            heavy[name] = loaded
    return times, heavy


def table(times, heavy):
    base = min(times["python -c pass (baseline)"])
    rows = []
    for name, values in times.items():
        rows.append({"case": name, "best_s": round(min(values), 3),
                     "median_s": round(statistics.median(values), 3),
                     "ratio_to_baseline": round(min(values) / base, 1),
                     "heavy_modules": heavy[name] or "none"})
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--code", action="append", default=[], help="an extra case (Python)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1. Received: {args.repeats}")
    cases = dict(CASES)
    cases.update({code: code for code in args.code})
    rows = table(*measure(cases, args.repeats))
    if args.json:
        print(json.dumps(rows, indent=2))
        return rows
    print(f"{'case':40} {'best s':>7} {'median s':>9} {'x python':>9}  heavy modules loaded")
    for r in rows:
        print(f"{r['case']:40} {r['best_s']:7.3f} {r['median_s']:9.3f} "
              f"{r['ratio_to_baseline']:9.1f}  {r['heavy_modules']}")
    return rows


if __name__ == "__main__":
    main()

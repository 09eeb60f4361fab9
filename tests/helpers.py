"""Shared test helpers."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# XLA (JAX, and TensorFlow under jit_compile=True) compiles each test's small programs once
# and runs them for milliseconds, so the tests ask it to compile fast rather than to emit
# fast code: the JAX run takes 30 % less time. conftest.py puts these flags in the
# environment of the tests and of every process they start; ZOO_TEST_XLA_OPTIMIZE=1 leaves
# XLA at its defaults (as users and the benchmarks run it).
FAST_COMPILE_XLA_FLAGS = ("--xla_backend_optimization_level=0 "
                          "--xla_llvm_disable_expensive_passes=true")


def xla_flags(*extra):
    """``XLA_FLAGS`` for a child process: the tests' fast-compile flags and ``extra``."""
    fast = FAST_COMPILE_XLA_FLAGS.split()
    others = [flag for flag in " ".join(extra).split() if flag not in fast]
    if os.environ.get("ZOO_TEST_XLA_OPTIMIZE") == "1":
        fast = []
    return " ".join(fast + others)


def subprocess_env(**extra):
    """The environment of a child ``zoo`` process: this checkout first on the path, TF on CPU."""
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="",
                PYTHONPATH=path, TF_CPP_MIN_LOG_LEVEL="2", **extra)


def run_python(code, *, env=None, timeout=300):
    """Run `code` in a fresh Python process and return its stdout.

    Used for round trips that must not share state with the test process
    (loading a SavedModel without importing zoo, another Keras backend).
    Raises AssertionError with the child's stderr when it fails.
    """
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"child process failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc.stdout


_LIGHT = """
import contextlib, io, json, os, sys
from zoo import cli
start = dict(os.environ)
for argv in json.loads(ARGVS):
    os.environ.clear()
    os.environ.update(start)  # main() sets ZOO_VERBOSE/ZOO_DEBUG from the flags
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit:
            code = exit.code
    heavy = sorted(m for m in ("keras", "tensorflow", "keras_tuner", "tensorflow_datasets",
                               "jax") if m in sys.modules)
    print(json.dumps({"code": code, "heavy": heavy, "stdout": out.getvalue(),
                      "stderr": err.getvalue()}), flush=True)
"""


def run_light(argvs, *, env=None, timeout=300):
    """Run ``zoo.cli.main(argv)`` for each of `argvs` in turn in ONE fresh process and
    return a dict {tuple(argv): {"code", "heavy", "stdout", "stderr"}}, where "heavy" lists
    the heavy modules (Keras, TensorFlow, keras-tuner, TFDS, JAX) imported by then.

    The modules a process has imported only grow, so a command that imports one shows
    it from its own answer on: one process shows that each of them stays light."""
    import json

    out = run_python(_LIGHT.replace("ARGVS", repr(json.dumps(argvs))),
                     env=subprocess_env(**(env or {})), timeout=timeout)
    answers = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(answers) == len(argvs), out[-2000:]
    return {tuple(argv): answer for argv, answer in zip(argvs, answers)}


def zoo_free(script, args, *, timeout=600):
    """Run `script` (``python -c``) with `args` in a process that never imported zoo,
    the way the exports are verified (:func:`zoo.export.verify.run_fresh`: GPUs hidden,
    no ``PYTHONPATH``): in the tests that is the worker's long-lived verifier process
    (tests/verifier.py), so TensorFlow starts once per worker, not once per call.
    Returns the ``subprocess.CompletedProcess``."""
    from zoo.export import verify

    return verify.run_fresh(script, args, timeout=timeout)


def zoo_main(argv, capsys):
    """``zoo ARGV`` in this process, through ``zoo.cli.main`` (the function the console
    script calls): (exit status, stdout, stderr). Argparse's usage errors count as their
    exit status."""
    from zoo import cli

    try:
        code = cli.main(list(argv))
    except SystemExit as exit:
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err

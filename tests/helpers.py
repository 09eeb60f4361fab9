"""Shared test helpers."""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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

"""Shared test helpers."""

import os
import subprocess
import sys
import textwrap


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

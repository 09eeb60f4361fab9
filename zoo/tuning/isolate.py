"""Every trial in a fresh process: a flat memory profile on any backend.

TensorFlow keeps some state of every traced train function for the life of
the process (about 10 MiB per trained model here, see docs/tuning.md), so a
long sweep in one process grows. With ``--isolate-trials`` the sweep process
serves the oracle on loopback (keras-tuner's chief, see
``zoo.tuning._upstream.serve``) and runs one worker subprocess per trial, one
after the other; each worker runs a single trial and exits, and its memory
goes with it. The results, resume and summary are those of any sweep.
"""

import dataclasses
import json
import os
import socket
import subprocess
import sys
import threading

from zoo.recipe import module_name

ENV_NAMES = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_command(recipe, config, settings, port):
    """The command line of one single-trial worker."""
    cmd = [
        sys.executable, "-m", "zoo.tuning", module_name(recipe),
        "--config-json", json.dumps(dataclasses.asdict(config)),
        "--distributed", "worker", "--tuner-id", "0",
        "--oracle-ip", "127.0.0.1", "--oracle-port", str(port),
        "--trials-per-process", "1", "--quiet",
    ]  # fmt: skip
    for flag, value in settings.items():
        if value is not None:
            cmd += [flag, str(value)]
    return cmd


class TrialProcesses:
    """Run single-trial workers one after another until `stop()`.

    Stops early (and records `error`) after `max_failures` workers in a row
    exit with an error.
    """

    def __init__(self, command, *, max_failures=3):
        self.command = command
        self.max_failures = max_failures
        self.pids = []
        self.error = None
        self._stop = threading.Event()
        self._proc = None
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _loop(self):
        failures = 0
        env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
        while not self._stop.is_set():
            self._proc = subprocess.Popen(self.command, env=env)
            self.pids.append(self._proc.pid)
            code = self._proc.wait()
            failures = failures + 1 if code != 0 else 0
            if failures >= self.max_failures:
                self.error = f"{failures} trial processes in a row failed (last exit status {code})"
                return

    def stop(self, timeout=60):
        self._stop.set()
        self._thread.join(timeout=timeout)
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=30)


class chief_environment:
    """Context manager: this process is keras-tuner's chief on loopback `port`."""

    def __init__(self, port):
        self.values = {
            "KERASTUNER_TUNER_ID": "chief",
            "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": str(port),
        }
        self.saved = {}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in ENV_NAMES}
        os.environ.update(self.values)
        return self

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

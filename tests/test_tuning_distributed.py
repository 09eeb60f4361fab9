"""Distributed sweeps on loopback: a chief oracle and two workers sharing one folder."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

RECIPE = "tests.tuning_recipe_fixture"
DEADLINE_S = 360


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    env = dict(os.environ, PYTHONPATH=os.getcwd(), TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    return env


class Sweep:
    """A chief and its workers as subprocesses; all of them killed on exit."""

    def __init__(self, tmp_path, max_trials, extra=()):
        self.tmp_path = tmp_path
        self.directory = str(tmp_path / "sweep")
        self.project = os.path.join(self.directory, "tuning_fixture_random")
        self.base = [
            sys.executable, "-m", "zoo.tuning", RECIPE,
            "--max-trials", str(max_trials), "--directory", self.directory, "--seed", "11",
            "--oracle-ip", "127.0.0.1", "--oracle-port", str(_free_port()),
            "--trial-timeout", "10", "--heartbeat-interval", "0.5", "--patience", "0",
            *extra,
        ]  # fmt: skip
        self.procs = {}

    def start(self, name, *role):
        log = open(self.tmp_path / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            self.base + list(role), env=_env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()

    def log(self, name):
        return (self.tmp_path / f"{name}.log").read_text()

    def oracle_state(self):
        try:
            with open(os.path.join(self.project, "oracle.json")) as f:
                return json.load(f)
        except (OSError, json.JSONDecodeError):
            return None

    def wait(self, name, deadline):
        try:
            return self.procs[name].wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{name} did not finish in time:\n{self.log(name)[-3000:]}")

    def kill(self, name):
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for name in self.procs:
            self.kill(name)


def _summary(sweep):
    with open(os.path.join(sweep.project, "summary.json")) as f:
        return json.load(f)


# One sweep shows both: the chief shares the trials between two workers (each is handed
# one), and when one of them dies inside its trial the trial goes back to the queue and
# the sweep completes. (Two sweeps before: six TensorFlow processes, about 65 s.)
def test_chief_and_two_workers_share_the_trials_and_a_dead_worker_s_trial_is_rerun(tmp_path):
    deadline = time.monotonic() + DEADLINE_S
    # Longer trials, so that worker 1 is surely inside one when it is killed.
    extra = ("--set", "epochs=4", "--set", "train_size=512")
    with Sweep(tmp_path, max_trials=4, extra=extra) as sweep:
        sweep.start("chief", "--distributed", "chief")
        sweep.start("worker0", "--distributed", "worker", "--tuner-id", "0", "--quiet")
        sweep.start("worker1", "--distributed", "worker", "--tuner-id", "1", "--quiet")
        victim_trial = None
        while time.monotonic() < deadline and victim_trial is None:
            state = sweep.oracle_state() or {}
            victim_trial = state.get("ongoing_trials", {}).get("tuner1")
            time.sleep(0.05)
        assert victim_trial is not None, "worker 1 never started a trial"
        sweep.kill("worker1")
        for name in ("worker0", "chief"):
            assert sweep.wait(name, deadline) == 0, sweep.log(name)[-3000:]
        chief_log = sweep.log("chief")
    summary = _summary(sweep)
    assert summary["num_trials"] == summary["completed"] == 4
    assert {r["trial_id"] for r in summary["trials"]} == {"0", "1", "2", "3"}
    assert "chief oracle listening on 127.0.0.1" in chief_log
    # Worker 1 was handed a trial (above); worker 0 saved its tuner state after its trials.
    assert os.path.exists(os.path.join(sweep.project, "tuner0.json"))
    assert "no heartbeat from tuner 'tuner1'" in chief_log
    assert f"trial {victim_trial} goes back to the queue" in chief_log
    # Nothing is left "running": a resume would not run a finished trial again.
    state = sweep.oracle_state()
    assert state["ongoing_trials"] == {} and state["retry_queue"] == []

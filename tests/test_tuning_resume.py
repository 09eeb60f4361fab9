"""A sweep killed with SIGKILL and started again continues where it was."""

import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow

RECIPE = "tests.tuning_recipe_fixture"
MAX_TRIALS = 4


def _env():
    env = dict(os.environ, PYTHONPATH=os.getcwd(), TF_CPP_MIN_LOG_LEVEL="3")
    for name in ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        env.pop(name, None)
    return env


def _trials(project):
    states = {}
    for path in glob.glob(os.path.join(project, "trial_*", "trial.json")):
        try:
            with open(path) as f:
                state = json.load(f)
        except (OSError, json.JSONDecodeError):
            continue
        states[state["trial_id"]] = state
    return states


def _command(directory):
    return [
        sys.executable, "-m", "zoo.tuning", RECIPE,
        "--max-trials", str(MAX_TRIALS), "--directory", directory, "--seed", "7",
        "--set", "epochs=3", "--set", "train_size=512", "--patience", "0", "--quiet",
    ]  # fmt: skip


def test_sigkill_then_restart_loses_and_repeats_no_finished_trial(tmp_path):
    directory = str(tmp_path)
    project = os.path.join(directory, "tuning_fixture_random")
    log = open(tmp_path / "first.log", "w")
    proc = subprocess.Popen(
        _command(directory), env=_env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            states = _trials(project)
            done = [t for t, s in states.items() if s["status"] == "COMPLETED"]
            running = [t for t, s in states.items() if s["status"] == "RUNNING"]
            if done and running:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < deadline, "no trial finished in time"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        log.close()

    before = _trials(project)
    finished = {t: s for t, s in before.items() if s["status"] == "COMPLETED"}
    interrupted = [t for t, s in before.items() if s["status"] == "RUNNING"]
    assert finished and interrupted and len(finished) < MAX_TRIALS

    second = subprocess.run(
        _command(directory), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr

    after = _trials(project)
    assert sorted(after) == [str(i) for i in range(MAX_TRIALS)]
    assert all(s["status"] == "COMPLETED" for s in after.values())
    for trial_id, state in finished.items():
        assert after[trial_id] == state, f"finished trial {trial_id} was run again"
    with open(os.path.join(project, "oracle.json")) as f:
        oracle = json.load(f)
    assert sorted(oracle["end_order"]) == sorted(after)  # each trial ended exactly once
    assert oracle["ongoing_trials"] == {} and oracle["retry_queue"] == []
    with open(os.path.join(project, "summary.json")) as f:
        summary = json.load(f)
    assert summary["completed"] == MAX_TRIALS

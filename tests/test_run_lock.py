"""The run-folder lock (zoo.training.lock): one process at a time, and a killed one's taken over.

The end-to-end tests start real ``zoo`` processes on one folder and kill
them for real (SIGKILL); a command refused by a folder that another process
holds runs in this process, through ``zoo.cli.main``.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, subprocess_env, zoo_main
from zoo.training import lock as run_lock
from zoo.training import runs

RECIPE = "tests.run_folder_recipe"


def zoo_popen(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "zoo.cli", *args], cwd=ROOT,
                            env=subprocess_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def zoo_run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=ROOT, env=subprocess_env(),
                          capture_output=True, text=True, timeout=timeout)


def wait_for(predicate, what, timeout=120, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the process ended (exit {proc.returncode}) before {what}:\n"
                                 f"{out}\n{err}")
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def holder_pid(folder):
    try:
        with open(run_lock.lock_path(folder)) as f:
            return json.load(f).get("pid")
    except (OSError, ValueError):
        return None


def history_lines(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return [line.rstrip("\r\n") for line in f if line.strip()]


# Children that import zoo/training/lock.py alone (standard library only): no
# TensorFlow start-up, so they hold or try a lock within a fraction of a second.
LOCK_MODULE = os.path.join(ROOT, "zoo", "training", "lock.py")
IMPORT_LOCK = f"""
import importlib.util, sys
spec = importlib.util.spec_from_file_location("lock", {LOCK_MODULE!r})
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
RunLock, RunFolderBusy = lock.RunLock, lock.RunFolderBusy
"""

HOLD = IMPORT_LOCK + """
import time
with RunLock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(folder, seconds=120):
    """A real process holding ``folder``'s lock; returns it once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), str(seconds)], cwd=ROOT,
                            env=subprocess_env(), stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# --------------------------------------------------------------------------- in-process


def test_the_lock_names_its_holder_refuses_a_second_process_and_is_removed_after(tmp_path):
    folder = tmp_path / "run"
    with run_lock.RunLock(folder):
        body = json.loads(open(run_lock.lock_path(folder)).read())
        assert body["pid"] == os.getpid() and body["host"] == socket.gethostname()
        assert body["command"] and body["started"].endswith("Z")
        code = (IMPORT_LOCK + "try:\n    RunLock(sys.argv[1]).__enter__()\n"
                "except RunFolderBusy as err:\n    print(err)\n    sys.exit(3)\n")
        other = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT,
                               env=subprocess_env(), capture_output=True, text=True, timeout=120)
        assert other.returncode == 3, other.stderr
        assert other.stdout.strip() == (
            f"The folder {folder} is busy: pid {os.getpid()} on host {socket.gethostname()} "
            f"({body['command']}) since {body['started']} is working in it. Wait until it "
            "ends, stop it, or use another folder.")
    assert not os.path.exists(run_lock.lock_path(folder))


def test_the_lock_is_reentrant_in_its_process_and_handed_down_to_a_child(tmp_path):
    folder = tmp_path / "run"
    code = (IMPORT_LOCK + "with RunLock(sys.argv[1]):\n    print('inside')\n")
    with run_lock.RunLock(folder):
        with run_lock.RunLock(folder):  # zoo.recipe.run exports through export_run
            pass
        assert holder_pid(folder) == os.getpid()  # the inner exit keeps the outer lock
        child = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT,
                               env=run_lock.inherit_environment(folder, subprocess_env()),
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == 0 and child.stdout.strip() == "inside", child.stderr
        stranger = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=ROOT,
                                  env=subprocess_env(), capture_output=True, text=True, timeout=120)
        assert stranger.returncode == 1 and "lock.RunFolderBusy: The folder" in stranger.stderr
    assert not os.path.exists(run_lock.lock_path(folder))


def test_a_lock_file_left_by_a_dead_process_is_taken_over_with_a_notice(tmp_path):
    folder = tmp_path / "run"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = {"pid": int(dead), "host": socket.gethostname(), "started": "2026-01-01T00:00:00Z",
             "command": "zoo train adding_problem"}
    with open(run_lock.lock_path(folder), "w") as f:
        json.dump(stale, f)
    notices = []
    with run_lock.RunLock(folder, notice=notices.append):
        assert holder_pid(folder) == os.getpid()
    assert notices == [
        f"notice: taking over the lock of {folder}: pid {dead} on host {socket.gethostname()} "
        "(zoo train adding_problem) since 2026-01-01T00:00:00Z left it and is no longer running."]


def test_overwrite_keeps_the_lock_which_lives_next_to_the_folder(tmp_path):
    folder = tmp_path / "run"
    with run_lock.RunLock(folder):
        runs.prepare_run_dir(str(folder), {"epochs": 1})
        runs.prepare_run_dir(str(folder), {"epochs": 1, "seed": 3}, overwrite=True)
        assert holder_pid(folder) == os.getpid()
        assert os.path.dirname(run_lock.lock_path(folder)) == str(tmp_path)


# --------------------------------------------------------------------------- real processes


@pytest.mark.slow
def test_a_second_zoo_train_on_a_busy_run_folder_exits_2_and_the_first_finishes_clean(tmp_path):
    run_dir = str(tmp_path / "run")
    args = ["train", RECIPE, "--run-dir", run_dir, "--no-export", "--quiet",
            "--set", "load_seconds=30"]
    first = zoo_popen(*args)
    try:
        wait_for(lambda: holder_pid(run_dir) == first.pid, "the first run holds the lock",
                 proc=first)
        second = zoo_run(*args)
        # It did not wait for the holder: the first run is still loading its data.
        assert first.poll() is None, "the first run must still be working"
        assert second.returncode == 2, second.stderr
        assert "Traceback" not in second.stderr
        assert f"zoo train: error: The folder {run_dir} is busy: pid {first.pid} on host " \
               f"{socket.gethostname()} (zoo train {RECIPE} --run-dir {run_dir}" in second.stderr
        assert "epoch" not in second.stdout.lower()
        out, err = first.communicate(timeout=300)
    finally:
        stop(first)
    assert first.returncode == 0, err
    lines = history_lines(run_dir)
    assert lines[0].startswith("epoch,") and [line.split(",")[0] for line in lines] == [
        "epoch", "0", "1"]
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["status"] == "complete" and metrics["epochs_done"] == 2
    assert not os.path.exists(run_lock.lock_path(run_dir))


@pytest.mark.slow
def test_a_killed_run_s_lock_is_taken_over_and_the_run_resumes(tmp_path):
    run_dir = str(tmp_path / "run")
    progress = tmp_path / "batches"
    # 4 batches of 0.4 s an epoch; killed in the middle of the second epoch's batches, when
    # the first epoch's row, checkpoint and backup are written and the second's not begun.
    args = ["train", RECIPE, "--run-dir", run_dir, "--no-export", "--quiet", "--epochs", "4",
            "--set", "batch_seconds=0.4", "--set", f"progress_file={progress}"]
    first = zoo_popen(*args)
    try:
        wait_for(lambda: progress.exists() and len(progress.read_text().split()) >= 6,
                 "the second epoch is under way", proc=first)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        stop(first)
    assert holder_pid(run_dir) == first.pid  # the killed process's lock file is still there
    assert len(history_lines(run_dir)) == 2  # the header and epoch 0
    second = zoo_run(*args)
    assert second.returncode == 0, second.stderr
    assert (f"notice: taking over the lock of {run_dir}: pid {first.pid} on host "
            f"{socket.gethostname()}") in second.stderr
    assert "left it and is no longer running." in second.stderr
    lines = history_lines(run_dir)
    assert sum(line.startswith("epoch,") for line in lines) == 1
    assert runs.read_history(run_dir, repair=False)["loss"].__len__() == 4
    metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
    assert metrics["status"] == "complete" and metrics["epochs_done"] == 4
    assert not os.path.exists(run_lock.lock_path(run_dir))


def test_export_evaluate_and_tune_refuse_a_busy_folder_with_exit_2(finished_run, tmp_path,
                                                                   capsys):
    # The holder is another process (the lock is re-entrant within one); the refused
    # commands run in this one, through zoo.cli.main.
    run_dir = str(tmp_path / "run")
    shutil.copytree(finished_run, run_dir)
    holder = hold(run_dir)
    try:
        for args in (["export", run_dir, "--to", str(tmp_path / "exports" / "1")],
                     ["evaluate", run_dir]):
            code, _, err = zoo_main(args, capsys)
            assert code == 2 and err.count("\n") == 1, err
            assert "Traceback" not in err
            assert err.startswith(f"zoo {args[0]}: error: The folder {run_dir} is busy: pid "
                                  f"{holder.pid} on host {socket.gethostname()} (python -c "
                                  f"{run_dir} 120)"), err
        assert not os.path.exists(tmp_path / "exports" / "1")
    finally:
        stop(holder)
    sweep = tmp_path / "tuning" / "sweep"
    holder = hold(sweep)
    try:
        code, _, err = zoo_main(["tune", "tests.tuning_recipe_fixture", "--tiny", "--max-trials",
                                 "1", "--directory", str(tmp_path / "tuning"), "--project-name",
                                 "sweep", "--quiet"], capsys)
        assert code == 2, err
        assert "Traceback" not in err
        assert f"The folder {sweep} is busy: pid {holder.pid}" in err
        assert not os.path.exists(sweep / "oracle.json")
    finally:
        stop(holder)

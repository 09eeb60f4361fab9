"""Bad command lines across the `zoo` subcommands: each exits with its status and a one-line
message that names the flag, never a traceback; a bug is one line and exit 1; Ctrl-C is one
line and exit 130, and an interrupted `zoo train` resumes.

The battery runs in-process, through `zoo.cli.main` (the function the console script
calls), capturing its output and exit status. Real `zoo` processes remain only for what
a process alone shows: one bad command line's exit status and stderr, and Ctrl-C. Those
that need an export live in tests/test_cli_serving.py.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, subprocess_env, zoo_main
from zoo import _cli_errors, cli


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    # main() sets ZOO_DEBUG/ZOO_VERBOSE from --debug/--verbose: undone after each test.
    monkeypatch.setenv("ZOO_DEBUG", "0")
    monkeypatch.setenv("ZOO_VERBOSE", "0")
    monkeypatch.setenv("ZOO_OFFLINE", "1")


def _zoo(*args, timeout=120, **env):
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, env=subprocess_env(ZOO_OFFLINE="1", **env),
                          timeout=timeout)


@pytest.fixture(scope="session")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "a_file").write_text("not a folder")
    (root / "empty").mkdir()
    (root / "unfinished").mkdir()
    (root / "unfinished" / "recipe.json").write_text(json.dumps({"name": "sunspots"}))
    (root / "sunspots-tiny").mkdir()
    (root / "sunspots-tiny" / "recipe.json").write_text(json.dumps({"name": "sunspots"}))
    (root / "export").mkdir()
    (root / "export" / "saved_model.pb").write_bytes(b"")
    return {k: str(root / k) for k in ("a_file", "empty", "unfinished", "export",
                                       "sunspots-tiny")} | {
        "missing": str(root / "missing"), "root": str(root)}


# (argv with {name} paths, message fragment on stderr); all exit with status 2.
BAD = [
    (["evaluate", "{missing}"], "RUN_DIR {missing}: does not exist; expected a run folder"),
    (["evaluate", "{a_file}"], "RUN_DIR {a_file}: is a file; expected a run folder"),
    (["evaluate", "{empty}"], "not a run folder (no recipe.json). If a `zoo train` run was "
                              "interrupted before it began, resume it by running the command "
                              "that started it again, with the same options (--tiny, --set, "
                              "--data...), e.g. `zoo train RECIPE --run-dir {empty}`"),
    (["export", "{unfinished}"], "the run has not finished (no model.keras); resume it by "
                                 "running the command that started it again, with the same "
                                 "options (--tiny, --set, --data...), e.g. `zoo train sunspots "
                                 "--run-dir {unfinished}`, then try again."),
    (["export", "{sunspots-tiny}"], "e.g. `zoo train sunspots --tiny --run-dir "
                                    "{sunspots-tiny}`"),
    (["evaluate", "{unfinished}", "--data-dir", "{missing}"], "e.g. `zoo train sunspots "
                                                              "--run-dir"),
    (["export", "{export}"], "is an export (saved_model.pb), not a run folder; `zoo predict`"),
    (["train", "sunspots", "--data-dir", "{a_file}"],
     "--data-dir {a_file}: is a file, not a folder; expected a folder; it is made when missing."),
    (["train", "sunspots", "--run-dir", "{a_file}"],
     "--run-dir {a_file}: is a file, not a folder"),
    (["tune", "sunspots", "--directory", "{a_file}"], "--directory {a_file}: is a file"),
    (["tune", "sunspots", "--data-dir", "{a_file}"], "--data-dir {a_file}: is a file"),
    (["predict", "{empty}"], "is not a SavedModel: it holds no saved_model.pb."),
    (["predict", "{missing}"], "No SavedModel folder at"),
    (["predict", "{root}"], "is not a SavedModel"),
    (["generate", "{unfinished}"], "is a run folder, not a SavedModel; run `zoo export "),
    (["generate", "{export}", "--max-length", "-4"],
     "--max-length: expected an integer >= 1. Received: -4"),
    (["generate", "{export}", "--num", "0"], "--num: expected an integer >= 1. Received: 0"),
    (["predict", "{export}", "--text", ""], "--text: received an empty string (text 1 of 1)"),
    (["generate", "{export}", "--top-k", "-1"], "--top-k: expected an integer >= 0"),
    (["train", "no_such_recipe"], "Unknown recipe 'no_such_recipe'. Known recipes: "),
    (["tune", "no_such_recipe", "--verbose"], "Unknown recipe 'no_such_recipe'. Known recipes: "),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a[:2]) for a, _ in BAD])
def test_bad_command_lines_exit_2_in_one_line(paths, argv, message, capsys):
    argv = [a.format(**paths) for a in argv]
    code, _, err = zoo_main(argv, capsys)
    assert code == 2, (code, err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    assert err.count("\n") == 1, err[-3000:]
    assert err.startswith(f"zoo {argv[0]}: error: "), err[-2000:]
    assert message.format(**paths) in err, err


def test_a_bad_command_line_in_a_real_zoo_process_is_one_line_and_exit_2(paths):
    # The console script's own process: its exit status and all it prints on stderr.
    done = _zoo("evaluate", paths["missing"])
    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert done.stderr.startswith(f"zoo evaluate: error: RUN_DIR {paths['missing']}: does not "
                                  "exist; expected a run folder"), done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("argv", [["--debug", "train", "no_such_recipe"],
                                  ["train", "no_such_recipe", "--debug"]])
def test_debug_shows_the_traceback(argv):
    # With --debug the exception leaves main(), so Python prints its traceback (exit 1).
    with pytest.raises(ValueError, match="^Unknown recipe 'no_such_recipe'"):
        cli.main(argv)


def test_usage_errors_name_the_flag(capsys):
    code, _, err = zoo_main(["generate", "x", "--max-length", "many"], capsys)
    assert code == 2 and "argument --max-length: invalid int value: 'many'" in err
    assert "Traceback" not in err


def test_a_bug_is_one_line_and_exit_1_and_debug_shows_it(monkeypatch, capsys):
    def broken(args):
        raise KeyError("catalog")

    monkeypatch.setattr(cli, "cmd_list", broken)
    assert cli.main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("zoo list: error: KeyError: 'catalog'")
    assert "this is a bug" in err and "--debug" in err
    with pytest.raises(KeyError):
        cli.main(["list", "--debug"])


@pytest.mark.parametrize("error,status,fragment", [
    (FileNotFoundError(2, "No such file or directory", "/tmp/zz/data.csv"), 2,
     "/tmp/zz/data.csv does not exist."),
    (NotADirectoryError(20, "Not a directory", "/tmp/zz/f/downloads"), 2,
     "is a file, or lies under one; expected a folder."),
    (PermissionError(13, "Permission denied", "/root/x"), 2, "permission denied"),
    (type("DatasetNotAvailableError", (RuntimeError,), {})("pass --data-dir DIR"), 2,
     "pass --data-dir DIR"),
    (json.JSONDecodeError("Expecting value", "[1,", 3), 2,
     "not valid JSON: Expecting value at line 1 column 4 of a file this command read"),
    (RuntimeError("LiteRT verification failed for x"), 1, "the export failed: LiteRT"),
    (RuntimeError("... cannot be verified; pass verify=False to write it unverified."), 1,
     "cannot be verified; export --format saved_model instead"),
])
def test_errors_are_explained(monkeypatch, capsys, error, status, fragment):
    def fails(args):
        raise error

    monkeypatch.setattr(cli, "cmd_export", fails)
    monkeypatch.setattr(_cli_errors, "check_folders", lambda args: None)
    assert cli.main(["export", "runs/x"]) == status
    err = capsys.readouterr().err
    assert err.startswith("zoo export: error: ") and fragment in err, err
    assert "[Errno" not in err and "--inputs" not in err


def test_ctrl_c_is_one_line_and_exit_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_list", interrupted)
    assert cli.main(["list"]) == 130
    assert capsys.readouterr().err == "zoo list: interrupted: nothing was changed\n"


def _history_rows(run):
    try:
        with open(os.path.join(run, "history.csv")) as f:
            return max(0, len(f.read().strip().splitlines()) - 1)
    except OSError:
        return 0


def _start(argv, env):
    # A child of a process started in the background inherits SIGINT ignored, and Python
    # then installs no KeyboardInterrupt handler: give the child the default disposition.
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _interrupt_when(proc, ready, timeout=300):
    """Send SIGINT to `proc` once `ready()` holds; returns (stdout, stderr) of its end."""
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the command ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=120)


@pytest.mark.slow  # two trainings in real processes (TensorFlow starts twice)
def test_ctrl_c_stops_zoo_train_in_one_line_and_the_run_resumes(tmp_path):
    run, data = str(tmp_path / "run"), str(tmp_path / "tfds")
    argv = [sys.executable, "-m", "zoo.cli", "train", "sunspots", "--tiny", "--epochs", "1000",
            "--run-dir", run, "--data-dir", data, "--no-export", "--quiet"]
    env = subprocess_env(ZOO_OFFLINE="1", PYTHONUNBUFFERED="1")
    proc = _start(argv, env)
    out, err = _interrupt_when(proc, lambda: _history_rows(run) >= 2)
    assert proc.returncode == 130, (out[-2000:], err[-3000:])
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert err.strip().splitlines()[-1] == (
        "zoo train: interrupted: run the same command again to resume")
    done = _history_rows(run)
    assert 2 <= done < 1000
    # The same command resumes after the finished epochs (then it is interrupted again).
    again = _start(argv, env)
    out, err = _interrupt_when(again, lambda: _history_rows(run) > done)
    assert again.returncode == 130, err[-3000:]
    first = next(line for line in out.splitlines() if line.startswith("Epoch "))
    # Epoch done + 1 (or `done` again, were the first run stopped between that epoch's
    # history line and its backup): not epoch 1.
    assert first in (f"Epoch {done + 1}/1000", f"Epoch {done}/1000"), out[-2000:]
    assert first != "Epoch 1/1000"


MISSING_DATA = """
import sys
from zoo import cli
for recipe in sys.argv[2:]:
    code = cli.main(["train", recipe, "--tiny", "--data-dir", sys.argv[1], "--run-dir",
                     sys.argv[1] + "/run-" + recipe, "--no-export"])
    print("CODE", recipe, code, flush=True)
    print("END", recipe, file=sys.stderr, flush=True)
"""
STANDARD = {"sentiment": "imdb_reviews", "translation": "ted_hrlr_translate",
            "ner": "conll2003", "char_lm": "tiny_shakespeare"}


def test_sentiment_without_its_data_names_data_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    data = str(tmp_path / "tfds")
    assert cli.main(["train", "sentiment", "--tiny", "--data-dir", data, "--run-dir",
                     str(tmp_path / "run"), "--no-export"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo train: error: The TFDS dataset 'imdb_reviews' is not prepared")
    assert "pass --data-dir DIR" in err and "--data_dir DIR on the command line" not in err
    assert f"into DIR/downloads/manual and pass --data-dir DIR (here: {data}/downloads/manual" \
        in err


@pytest.mark.slow  # one TensorFlow start, four recipes
def test_recipes_without_their_data_say_how_to_give_it(tmp_path):
    # One process (one TensorFlow start) runs the four recipes whose data is not here.
    proc = subprocess.run([sys.executable, "-c", MISSING_DATA, str(tmp_path / "tfds"),
                           *STANDARD], capture_output=True, text=True, cwd=ROOT,
                          env=subprocess_env(ZOO_OFFLINE="1"), timeout=600)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    codes = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("CODE ")]
    assert codes == [[recipe, "2"] for recipe in STANDARD], (proc.stdout[-2000:],
                                                             proc.stderr[-3000:])
    errors = proc.stderr.split("END ")
    for recipe, dataset in STANDARD.items():
        err = next(e for e in errors if f"zoo train: error: The TFDS dataset '{dataset}" in e)
        assert "pass --data-dir DIR" in err and "--data_dir DIR on the command line" not in err
        if "the source file(s)" in err:  # a set whose builder lists its source files
            assert "into DIR/downloads/manual and pass --data-dir DIR" in err, err


# Every entry point reports through zoo._cli_errors.run_command: one line, no traceback.

def test_run_command_reports_any_exception_in_one_line(capsys):
    args = argparse.Namespace(command="tune")

    def raises(err):
        def fn():
            raise err
        return fn

    prog = "python -m zoo.tuning"
    assert _cli_errors.run_command(prog, lambda: 0, args) == 0
    assert _cli_errors.run_command(prog, raises(KeyboardInterrupt()), args) == 130
    assert capsys.readouterr().err == (
        "python -m zoo.tuning: interrupted: run the same command again to resume the sweep\n")
    missing = "/no-such-zoo-folder/x"
    assert _cli_errors.run_command(
        prog, raises(FileExistsError(17, "File exists", missing)), args) == 2
    assert capsys.readouterr().err == (f"python -m zoo.tuning: error: {missing} is a file, not a "
                                       "folder; give a folder (or a path that does not exist "
                                       "yet).\n")
    assert _cli_errors.run_command(prog, raises(TypeError("no")), args) == 1
    err = capsys.readouterr().err
    assert err.startswith("python -m zoo.tuning: error: TypeError: no -- this is a bug")
    assert err.count("\n") == 1


@pytest.mark.parametrize("code,stderr,kind,message", [
    (2, "log line\nprog: error: RUN_DIR x: does not exist.\n", ValueError,
     "RUN_DIR x: does not exist."),
    (1, "prog: error: TypeError: no" + _cli_errors.BUG_HINT + "\n", RuntimeError,
     "the export subprocess exited with status 1: TypeError: no"),
    (1, "Traceback (most recent call last):\n  ...\nKeyError: 'x'\n", RuntimeError,
     "the export subprocess exited with status 1: KeyError: 'x'"),
    (130, "prog: interrupted: nothing was changed\n", KeyboardInterrupt, ""),
])
def test_a_failed_zoo_subprocess_becomes_its_last_line(code, stderr, kind, message):
    err = _cli_errors.child_failure(code, stderr, "the export subprocess")
    assert type(err) is kind and str(err) == message
    log = _cli_errors.child_log(stderr)
    assert ": error: " not in log and ": interrupted: " not in log
    assert log == ("log line\n" if code == 2 else stderr if "Traceback" in stderr else "")


def test_python_m_recipe_reports_through_the_wrapper(capsys):
    # `python -m recipes.sunspots` calls this main(); it exits with the status.
    from recipes import sunspots

    with pytest.raises(SystemExit) as exit:
        sunspots.main(["--set", "nope=1"])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("python -m recipes.sunspots: error: Unknown config key 'nope' for "
                          "recipes.sunspots."), err[-3000:]
    assert err.count("\n") == 1
    with pytest.raises(ValueError, match="^Unknown config key 'nope'"):
        sunspots.main(["--set", "nope=1", "--debug"])


@pytest.mark.slow  # a TensorFlow subprocess (10-40 s here)
def test_the_export_subprocess_failure_is_raised_in_its_words(tmp_path, monkeypatch, capfd):
    # On a backend other than TensorFlow, export runs `python -m zoo.recipe export` (real
    # here, on a folder whose run has not finished): its one line becomes the ValueError.
    import keras

    from zoo import _run_export

    run = tmp_path / "run"
    run.mkdir()
    (run / "recipe.json").write_text(json.dumps({"name": "sunspots"}))
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    env = subprocess_env()
    unfinished = r"^The run folder .* has no model.keras: the run has not finished"
    with pytest.raises(ValueError, match=unfinished) as raised:
        _run_export._export_run(str(run), str(tmp_path / "out"), model=None, artifacts=None,
                                overwrite=False, environ=env)
    assert "Traceback" not in capfd.readouterr().err
    assert not isinstance(raised.value, subprocess.CalledProcessError)


def _ready_to_interrupt(pid):
    """True once the process maps TensorFlow, i.e. runs the command (not Python's start)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "tensorflow" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc to see the worker start")
def test_ctrl_c_stops_a_sweep_worker_in_one_line(tmp_path):
    # The worker command of `zoo tune --isolate-trials` (zoo.tuning.isolate.worker_command),
    # with no chief to reach: Ctrl-C ends it with one line, status 130, no traceback. It comes
    # as TensorFlow loads (cheap), so it also shows that no start-up noise is printed back.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "zoo.tuning", "sunspots", "--tiny", "--directory",
            str(tmp_path), "--distributed", "worker", "--tuner-id", "0", "--oracle-ip",
            "127.0.0.1", "--oracle-port", str(port), "--trials-per-process", "1", "--quiet"]
    proc = _start(argv, subprocess_env(ZOO_OFFLINE="1"))
    out, err = _interrupt_when(proc, lambda: _ready_to_interrupt(proc.pid))
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-3000:]
    assert err.strip().splitlines() == [
        "python -m zoo.tuning: interrupted: run the same command again to resume the sweep"]

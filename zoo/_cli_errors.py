"""How the ``zoo`` command checks its paths early and reports an exception: one message
and an exit status.

A user's mistake (bad input, a missing or misplaced file, a dataset that is not
there) is exit status 2 with the library's message, which says what was received
and what was expected; a path in it is named by the command-line flag that gave
it. Anything else is a bug: one line naming the exception, exit status 1, and a
hint to rerun with ``--debug`` for the traceback. Ctrl-C is one line and exit
status 130. :func:`run_command` does this for every entry point: ``zoo``,
a recipe module run with ``python -m``, ``python -m zoo.tuning`` (the ``--isolate-trials``
workers) and ``python -m zoo.recipe export`` (the export subprocess on JAX).

Example:
    >>> import argparse
    >>> args = argparse.Namespace(command="train", run_dir="runs/x")
    >>> explain(FileNotFoundError(2, "No such file or directory", "runs/x/config.json"), args)
    (2, '--run-dir runs/x: runs/x/config.json does not exist.')
"""

import errno
import json
import os
import sys

USER_OS_ERRORS = (FileExistsError, FileNotFoundError, NotADirectoryError, IsADirectoryError,
                  PermissionError)
# Exceptions known by class name, so that catching them imports nothing heavy:
# zoo.data.DatasetNotAvailableError (a RuntimeError) imports TensorFlow Datasets.
USER_ERROR_NAMES = ("DatasetNotAvailableError",)
INTERRUPTED = {
    "train": "run the same command again to resume",
    "tune": "run the same command again to resume the sweep",
    "export": "the target was not written; run the same command again",
    "evaluate": "nothing was written; run the same command again",
}
EXIT_USER, EXIT_BUG, EXIT_INTERRUPTED = 2, 1, 130
BUG_HINT = (" -- this is a bug, not a mistake of yours; rerun with --debug to see the traceback, "
            "and report it.")

# Namespace attribute -> the flag that names it, per command (positionals by metavar).
_PATH_FLAGS = {"run_dir": "--run-dir", "data_dir": "--data-dir", "data": "--data",
               "to": "--to", "export_dir": "--export-dir", "directory": "--directory",
               "saved_model": "SAVED_MODEL"}
_POSITIONAL = {("evaluate", "run_dir"): "RUN_DIR", ("export", "run_dir"): "RUN_DIR"}
# The files of a run folder (zoo.training.runs.RUN_FILES; tests keep them equal).
RUN_RECIPE, RUN_MODEL = "recipe.json", "model.keras"


def interrupted(command, prog=None):
    """The one line of a command stopped by Ctrl-C (`prog`: default ``zoo COMMAND``)."""
    prog = prog or f"zoo {command}"
    return f"{prog}: interrupted: {INTERRUPTED.get(command, 'nothing was changed')}"


def add_flags(parser, default=False):
    """``--verbose`` and ``--debug`` on `parser` (``zoo`` and every entry point that reports
    through :func:`run_command`); :func:`apply_flags` puts them in the environment."""
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="show the TensorFlow, absl and CUDA logs that zoo silences; sets "
                             "ZOO_VERBOSE=1 (default: off)")
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show the Python traceback of an error instead of its one-line "
                             "message; sets ZOO_DEBUG=1 (default: off)")


def apply_flags(args):
    """``ZOO_VERBOSE=1`` / ``ZOO_DEBUG=1`` for ``--verbose`` / ``--debug`` (before anything
    heavy is imported: zoo._quiet reads the first)."""
    if getattr(args, "verbose", False):
        os.environ["ZOO_VERBOSE"] = "1"
    if getattr(args, "debug", False):
        os.environ["ZOO_DEBUG"] = "1"


def run_command(prog, fn, args):
    """Call ``fn()`` as the command `prog` (``args.command`` says which kind) and return its
    result; an exception it raises is one line on stderr, and its exit status is returned.

    Bad input is ``PROG: error: MESSAGE`` and 2, a bug one line and 1, Ctrl-C
    ``PROG: interrupted: ...`` and 130. With ``ZOO_DEBUG=1`` (``--debug``) the
    exception propagates, with its traceback.

    Example:
        >>> import argparse
        >>> def bad():
        ...     raise ValueError("--epochs must be positive. Received: --epochs 0")
        >>> run_command("zoo train", bad, argparse.Namespace(command="train"))  # doctest: +SKIP
        zoo train: error: --epochs must be positive. Received: --epochs 0
        2
    """
    debug = os.environ.get("ZOO_DEBUG") == "1"
    try:
        return fn()
    except KeyboardInterrupt:
        if debug:
            raise
        print(interrupted(args.command, prog), file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001  (one line instead of a traceback)
        if debug:
            raise
        code, message = explain(err, args)
        print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
        return code


def child_failure(code, stderr, what):
    """The exception for a zoo subprocess (run through :func:`run_command`) that exited with
    `code`: its last stderr line, as ValueError (bad input), KeyboardInterrupt (Ctrl-C) or
    RuntimeError (a bug), where `what` names the subprocess.

    Example:
        >>> child_failure(2, "python -m zoo.recipe export: error: RUN_DIR x: does not exist.\\n",
        ...               "the export subprocess")
        ValueError('RUN_DIR x: does not exist.')
    """
    if code == EXIT_INTERRUPTED or code == -2:  # -2: killed by SIGINT before Python caught it
        return KeyboardInterrupt()
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    _, found, message = last.partition(": error: ")
    message = (message if found else last).removesuffix(BUG_HINT)
    if code == EXIT_USER and found:
        return ValueError(message)
    return RuntimeError(f"{what} exited with status {code}" + (f": {message}" if message else ""))


def child_log(stderr):
    """`stderr` of a zoo subprocess less its last line when that is the one line of
    :func:`run_command` (which :func:`child_failure` turns into the exception)."""
    lines = (stderr or "").rstrip().splitlines(keepends=True)
    if lines and (": error: " in lines[-1] or ": interrupted: " in lines[-1]):
        lines = lines[:-1]
    text = "".join(lines)
    return text if not text or text.endswith("\n") else text + "\n"


def explain(err, args):
    """``(exit status, message)`` of `err`, raised by the command of `args`."""
    if isinstance(err, json.JSONDecodeError):  # --inputs has its own message (zoo.client)
        return EXIT_USER, (f"not valid JSON: {err.msg} at line {err.lineno} column {err.colno} "
                           "of a file this command read (is one damaged? rerun with --debug "
                           "to see which).")
    if isinstance(err, ValueError):
        return EXIT_USER, str(err)
    if isinstance(err, USER_OS_ERRORS):
        return EXIT_USER, os_message(err, args)
    if any(cls.__name__ in USER_ERROR_NAMES for cls in type(err).__mro__):
        return EXIT_USER, str(err)
    if isinstance(err, RuntimeError) and args.command == "export":
        return EXIT_BUG, "the export failed: " + _for_the_command_line(str(err))
    lines = [line for line in str(err).splitlines() if line.strip()]
    what = type(err).__name__ + (f": {lines[0]}" if lines else "")
    return EXIT_BUG, what + BUG_HINT


# Python-API advice in the export's messages -> what the command line offers instead.
_ADVICE = {
    "; pass verify=False to write it unverified.":
        "; export --format saved_model instead (zoo.export.export_litert(..., verify=False) "
        "writes it unverified).",
    ", or pass verify=False.": ", or export --format saved_model.",
}


def _for_the_command_line(message):
    for python, flags in _ADVICE.items():
        message = message.replace(python, flags)
    return message


def flag_for(path, args):
    """``"--run-dir runs/x"`` when `path` is (or lies in) a path given by a flag, else None."""
    if not path:
        return None
    path = os.path.abspath(os.fspath(path))
    for dest, flag in _PATH_FLAGS.items():
        given = getattr(args, dest, None)
        if not isinstance(given, str) or not given:
            continue
        root = os.path.abspath(given)
        if path == root or path.startswith(root + os.sep) or root.startswith(path + os.sep):
            flag = _POSITIONAL.get((getattr(args, "command", None), dest), flag)
            return f"{flag} {given}"
    return None


def os_message(err, args):
    """A one-line message for an OS error, naming the flag whose path it concerns."""
    if err.errno is None or err.filename is None:  # raised by zoo with its own message
        return str(err)
    name = os.fspath(err.filename)
    reasons = {
        errno.EEXIST: "is a file, not a folder; give a folder (or a path that does not exist "
                      "yet).",
        errno.ENOTDIR: "is a file, or lies under one; expected a folder.",
        errno.ENOENT: "does not exist.",
        errno.EISDIR: "is a folder; expected a file.",
        errno.EACCES: "cannot be written or read here (permission denied).",
        errno.EPERM: "cannot be written or read here (operation not permitted).",
    }
    reason = reasons.get(err.errno, f"{err.strerror}.")
    if err.errno == errno.EEXIST and os.path.isdir(name):
        reason = "exists already."
    given = flag_for(name, args)
    if given is None:
        return f"{name} {reason}"
    flag, _, value = given.partition(" ")
    if os.path.abspath(name) != os.path.abspath(value):
        return f"{flag} {value}: {name} {reason}"
    return f"{flag} {value}: {reason}"


def check_folders(args):
    """Folders given on the command line, checked before anything heavy is imported."""
    for dest, flag in (("data_dir", "--data-dir"), ("run_dir", "--run-dir"),
                       ("export_dir", "--export-dir"), ("to", "--to"),
                       ("directory", "--directory")):
        path = getattr(args, dest, None)
        if dest == "run_dir" and args.command in ("evaluate", "export"):
            check_run_dir(path)
        elif path and os.path.exists(path) and not os.path.isdir(path):
            made = "; it is made when missing" if dest != "to" else ""
            raise ValueError(f"{flag} {path}: is a file, not a folder; expected a folder{made}.")


def check_run_dir(path):
    """A run folder given to ``zoo evaluate``/``zoo export``: it exists, is a run folder, and
    its run has finished (else the message says how to resume it)."""
    if not os.path.exists(path):
        raise ValueError(f"RUN_DIR {path}: does not exist; expected a run folder of `zoo train` "
                         "(e.g. runs/<recipe>).")
    if not os.path.isdir(path):
        raise ValueError(f"RUN_DIR {path}: is a file; expected a run folder of `zoo train`.")
    if not os.path.isfile(os.path.join(path, RUN_RECIPE)):
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            raise ValueError(f"RUN_DIR {path}: is an export (saved_model.pb), not a run folder; "
                             "`zoo predict` or `zoo generate` takes it.")
        raise ValueError(f"RUN_DIR {path}: not a run folder (no recipe.json). If a `zoo train` "
                         "run was interrupted before it began, " + resume_hint(path)
                         + "; otherwise give a folder `zoo train` made.")
    if not os.path.isfile(os.path.join(path, RUN_MODEL)):
        try:
            with open(os.path.join(path, RUN_RECIPE)) as f:
                name = json.load(f).get("name") or "RECIPE"
        except (OSError, ValueError, AttributeError):
            name = "RECIPE"
        raise ValueError(f"RUN_DIR {path}: the run has not finished (no {RUN_MODEL}); "
                         + resume_hint(path, name) + ", then try again.")


def resume_hint(path, name="RECIPE"):
    """How to resume the run in `path`: the command that started it, with its options.

    Example:
        >>> resume_hint("runs/sunspots-tiny", "sunspots")
        'resume it by running the command that started it again, with the same options \
(--tiny, --set, --data...), e.g. `zoo train sunspots --tiny --run-dir runs/sunspots-tiny`'
    """
    tiny = " --tiny" if os.path.basename(os.path.normpath(path)).endswith("-tiny") else ""
    return ("resume it by running the command that started it again, with the same options "
            f"(--tiny, --set, --data...), e.g. `zoo train {name}{tiny} --run-dir {path}`")

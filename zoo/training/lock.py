"""One process at a time on a run folder (or a sweep folder).

``with RunLock(run_dir): ...`` holds the folder's lock file
``<parent>/.<name>.lock`` for the block: an ``fcntl.flock`` on it, with a
JSON body ``{pid, host, started, command}`` that names the holder. The lock
file sits next to the folder, not in it, so that ``--overwrite`` (which
deletes the folder) keeps it.

- A second process on a held folder gets :class:`RunFolderBusy` at once,
  naming the holder (pid, host, command, since when); the ``zoo`` command
  shows it and exits with status 2.
- The kernel releases a ``flock`` when its process dies, however it dies
  (``kill -9`` included): a lock file left by a killed process is taken
  over with a one-line notice naming the process that left it. The lock
  file of a holder on another host is the file system's to arbitrate: a
  lock it no longer holds is taken over the same way.
- The lock is re-entrant within a process (``zoo.recipe.run`` holds it and
  exports through ``export_run``, which takes it too), and a child process
  started by the holder with :func:`inherit_environment` may work in the
  folder (the TensorFlow-backend export subprocess of a JAX run).
- Remote folders (``gs://...``) have no lock: :class:`RunLock` does nothing
  there.

Only the chief of a multi-worker run takes the lock (``zoo.recipe.run`` and
``zoo tune`` check ``placement.is_chief`` / the tuner role first).
"""

import datetime
import fcntl
import json
import os
import shlex
import socket
import sys
import time

INHERIT_VARIABLE = "ZOO_RUN_LOCK_HELD"

# lock file path -> [file descriptor, depth]: the locks this process holds.
_HELD = {}


class RunFolderBusy(ValueError):
    """The folder is being worked on by another process (a user error: exit status 2).

    Attributes:
        folder: the busy folder.
        holder: the holder's ``{pid, host, started, command}`` (may be empty
            when the holder has not written it yet).
    """

    def __init__(self, folder, holder):
        self.folder = os.fspath(folder)
        self.holder = dict(holder or {})
        super().__init__(
            f"The folder {self.folder} is busy: {describe(self.holder)} is working in it. "
            "Wait until it ends, stop it, or use another folder."
        )


def describe(holder):
    """``pid 123 on host h (zoo train ...) since 2026-01-01T12:00:00Z``, from a lock's body."""
    if not holder:
        return "another process (which has not written its details yet)"
    text = f"pid {holder.get('pid')} on host {holder.get('host')}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    if holder.get("started"):
        text += f" since {holder['started']}"
    return text


def lock_path(folder):
    """The lock file of ``folder``: ``<parent>/.<name>.lock``."""
    folder = os.path.abspath(os.fspath(folder))
    parent, name = os.path.split(folder.rstrip(os.sep))
    return os.path.join(parent, f".{name}.lock")


def _command():
    """This process's command line, as the user typed it (``zoo train ...``)."""
    argv = list(sys.argv) or ["python"]
    program = os.path.abspath(argv[0]) if argv[0] != "-c" else "-c"
    if program.endswith(os.path.join("zoo", "cli.py")):
        argv[0] = "zoo"
    elif os.path.basename(program) == "__main__.py":
        argv[0] = f"python -m {os.path.basename(os.path.dirname(program))}"
    elif program == "-c":
        argv[0] = "python -c"
    else:
        argv[0] = os.path.basename(argv[0])
    return " ".join([argv[0], shlex.join(argv[1:])]).strip()


def _read_body(fd_or_path):
    try:
        if isinstance(fd_or_path, int):
            os.lseek(fd_or_path, 0, os.SEEK_SET)
            text = os.read(fd_or_path, 65536).decode("utf-8", "replace")
        else:
            with open(fd_or_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        body = json.loads(text) if text.strip() else {}
        return body if isinstance(body, dict) else {}
    except (OSError, ValueError):
        return {}


def _inherited(path):
    """True when this process's parent holds ``path`` and handed it down."""
    given = os.environ.get(INHERIT_VARIABLE, "")
    for item in filter(None, given.split(os.pathsep)):
        held, _, pid = item.rpartition("@")
        if held == path and pid == str(os.getppid()):
            return True
    return False


def inherit_environment(folder, environ=None):
    """``environ`` (default ``os.environ``) plus what lets a child process work in
    ``folder`` while this process holds its lock."""
    env = dict(os.environ if environ is None else environ)
    path = lock_path(folder)
    if path in _HELD:
        items = [i for i in env.get(INHERIT_VARIABLE, "").split(os.pathsep) if i]
        env[INHERIT_VARIABLE] = os.pathsep.join(items + [f"{path}@{os.getpid()}"])
    return env


class RunLock:
    """Hold ``folder``'s lock for a ``with`` block (see the module docstring).

    Raises:
        RunFolderBusy: on entering, when another live process holds it.
    """

    def __init__(self, folder, *, notice=None):
        self.folder = os.fspath(folder)
        self.remote = "://" in self.folder
        self.path = None if self.remote else lock_path(self.folder)
        self._notice = notice or (lambda text: print(text, file=sys.stderr, flush=True))
        self._active = False

    def __enter__(self):
        if self.remote or _inherited(self.path):
            return self
        if self.path in _HELD:
            _HELD[self.path][1] += 1
            self._active = True
            return self
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunFolderBusy(self.folder, self._holder()) from None
            # The holder before us may have removed the file between our open
            # and our flock: then we hold a lock nobody else can see. Retry.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        left = _read_body(fd)
        if left:
            self._notice(f"notice: taking over the lock of {self.folder}: {describe(left)} "
                         "left it and is no longer running.")
        body = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "command": _command(),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(body).encode())
        os.fsync(fd)
        _HELD[self.path] = [fd, 1]
        self._active = True
        return self

    def _holder(self):
        # The holder writes its details right after taking the lock: give it a moment.
        deadline = time.monotonic() + 1.0
        while True:
            body = _read_body(self.path)
            if body or time.monotonic() > deadline:
                return body
            time.sleep(0.05)

    def __exit__(self, *exc):
        if not self._active:
            return False
        self._active = False
        held = _HELD[self.path]
        held[1] -= 1
        if held[1] == 0:
            del _HELD[self.path]
            try:
                os.remove(self.path)  # still under our flock: nobody holds this file
            except FileNotFoundError:
                pass
            os.close(held[0])
        return False

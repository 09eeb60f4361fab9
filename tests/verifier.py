"""One long-lived verifier process per test worker, in place of one per export.

The product verifies every export in a fresh Python process that never imported
zoo (:func:`zoo.export.verify.run_fresh`): ``python -c SCRIPT ARGS``. That
process pays TensorFlow's start (10-40 s under load) each time. For the tests,
:class:`Verifiers` keeps one such process per kind of script (one for the
SavedModel verifier and the tests' zoo-free clients, one for the LiteRT
verifier, which must not find TensorFlow loaded), started as the product
starts its own (GPUs hidden, no ``PYTHONPATH``, the temporary folder as
working directory), and runs each request's script in it with the request's
arguments, as ``python -c`` would:
a fresh ``__main__`` namespace, ``sys.argv``, its stdout and stderr captured,
``SystemExit`` turned into the exit status. The scripts assert that zoo is not
imported, so the guarantee holds in the server on every request.

tests/conftest.py installs it in place of ``run_fresh`` for the whole session;
:func:`tests.conftest.real_fresh_process` gives a test the product's own path.
"""

import json
import select
import subprocess
import sys
import tempfile

# The server: reads one JSON request a line ({"script", "args"}) and answers one JSON
# line ({"returncode", "stdout", "stderr"}) on the protocol stream (a dup of fd 1).
_SERVER = r"""
import contextlib, gc, io, json, os, sys, traceback
protocol = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # stray writes to fd 1 (C++ logs) go to stderr, not into the protocol
sys.stdout = sys.stderr
for line in sys.stdin:
    request = json.loads(line)
    out, err, status = io.StringIO(), io.StringIO(), 0
    sys.argv = ["-c", *request["args"]]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(request["script"], "<string>", "exec"), {"__name__": "__main__"})
        except SystemExit as exit:
            if exit.code is None or isinstance(exit.code, int):
                status = exit.code or 0
            else:
                print(exit.code, file=sys.stderr)
                status = 1
        except BaseException:
            traceback.print_exc()
            status = 1
    gc.collect()
    protocol.write(json.dumps({"returncode": status, "stdout": out.getvalue(),
                               "stderr": err.getvalue()}) + "\n")
    protocol.flush()
"""

# A server is replaced after this many requests, so that whatever the loaded models
# leave behind in it stays bounded.
MAX_REQUESTS = 40


class _Server:
    def __init__(self):
        from zoo.export.verify import fresh_environment

        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, "-c", _SERVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=fresh_environment(), cwd=tempfile.gettempdir())
        self.requests = 0

    def run(self, script, args, timeout):
        self.requests += 1
        self.proc.stdin.write(json.dumps({"script": script, "args": list(args)}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.log.seek(0)
            log = self.log.read()[-4000:]
            self.close()
            if ready:  # the server died
                return subprocess.CompletedProcess(args, 1, "", log)
            raise subprocess.TimeoutExpired([sys.executable, "-c", "<verifier>"], timeout)
        answer = json.loads(line)
        return subprocess.CompletedProcess(args, answer["returncode"], answer["stdout"],
                                           answer["stderr"])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


def _kind(script):
    """The server a script runs in: the LiteRT verifier must find neither TensorFlow nor
    Keras imported, so LiteRT scripts get a server of their own; all else shares one."""
    return "litert" if "ai_edge_litert" in script else "tensorflow"


class Verifiers:
    """A drop-in for :func:`zoo.export.verify.run_fresh`: one server per kind of script."""

    def __init__(self):
        self.servers = {}

    def __call__(self, script, args, *, timeout):
        kind = _kind(script)
        server = self.servers.get(kind)
        if server is not None and (server.proc.poll() is not None
                                   or server.requests >= MAX_REQUESTS):
            server.close()
            server = None
        if server is None:
            server = self.servers[kind] = _Server()
        result = server.run(script, args, timeout)
        if server.proc.poll() is not None:
            self.servers.pop(kind, None)
        return result

    def close(self):
        for server in self.servers.values():
            server.close()
        self.servers.clear()

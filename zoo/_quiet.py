"""A quiet start for the ``zoo`` command: no TensorFlow/absl C++ start-up lines.

TensorFlow's C++ runtime writes its start-up lines straight to file
descriptor 2 while ``import tensorflow`` runs and when it first probes the
devices, before ``TF_CPP_MIN_LOG_LEVEL`` is read::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 ... cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
    E0000 ... cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: ...

:func:`install`, called by the command-line entry points (``zoo``,
a recipe module run with ``python -m``, the processes they start) before anything imports
TensorFlow, adds an import hook: the first ``import tensorflow`` of the
process, by any module (Keras, ``zoo.data``, ``zoo.export``...), and the
device probe that follows it (``tf.config.list_physical_devices()``) run with
file descriptor 2 pointed at a temporary file. What was written there is
written back to stderr afterwards, less the known start-up lines (absl's
pre-initialisation notice, ``I``/``W`` log lines, the CUDA probing errors);
everything comes back when the window raises (Ctrl-C excepted). Nothing is hidden outside those
windows. It also sets ``TF_CPP_MIN_LOG_LEVEL=2`` (unless set) and drops the
TensorFlow Datasets notice "Using custom data configuration", which the zoo's
own builder configurations provoke.

With ``ZOO_VERBOSE=1`` (``--verbose``), :func:`install` does nothing: every
library log comes back.

Example::

    from zoo import _quiet
    _quiet.install()
    import tensorflow as tf  # prints none of its start-up lines
"""

import contextlib
import importlib.abc
import logging
import os
import re
import sys
import tempfile

# The modules whose first import runs with file descriptor 2 captured.
HOOKED = ("tensorflow",)

# Lines of the C++ runtime dropped from what a window captured.
NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\] "  # glog INFO and WARNING lines
    r"|E\d{4} [\d:.]+ +\d+ \S+:\d+\] (?:failed call to cuInit"
    r"|Unable to register cu\w+ factory|.*computation placer already registered)"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|E\d{4} [\d:.]+ +\d+ \S+:\d+\] oneDNN supports DT_BOOL only on platforms with AVX-512"
)
# Python log records dropped: (logger name, message start).
DROPPED_RECORDS = (("absl", "Using custom data configuration"),)

_installed = []


def verbose():
    """True when ``ZOO_VERBOSE=1``: nothing is silenced."""
    return os.environ.get("ZOO_VERBOSE") == "1"


def active():
    """True once :func:`install` has silenced this process."""
    return bool(_installed)


def install():
    """Silence the C++ start-up lines of TensorFlow for this process (idempotent).

    Does nothing with ``ZOO_VERBOSE=1``. Returns True when silencing is on.
    """
    if verbose():
        return False
    if _installed:
        return True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    record_filter = _RecordFilter()
    for name in {name for name, _ in DROPPED_RECORDS}:
        logging.getLogger(name).addFilter(record_filter)
    finder = _QuietFinder()
    sys.meta_path.insert(0, finder)
    _installed.append(finder)
    return True


def drop_noise(text):
    """``text`` without the lines that :data:`NOISE` matches."""
    kept = [line for line in text.splitlines(keepends=True) if not NOISE.match(line)]
    return "".join(kept)


@contextlib.contextmanager
def captured_stderr():
    """Run the block with file descriptor 2 captured, then write back all but the noise.

    When the block raises, everything captured is written back, unless it is
    Ctrl-C (``KeyboardInterrupt``): then the noise is dropped as ever, for the
    start-up lines did not cause it. Where file descriptor 2 cannot be
    duplicated, the block runs as it is.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        failed = True
        try:
            yield
            failed = False
        except KeyboardInterrupt:
            failed = False  # Ctrl-C, not a failure of the window: the noise stays out
            raise
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            kept = text if failed else drop_noise(text)
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _RecordFilter(logging.Filter):
    def filter(self, record):
        message = str(record.msg)
        return not any(record.name == name and message.startswith(start)
                       for name, start in DROPPED_RECORDS)


class _QuietLoader(importlib.abc.Loader):
    """Runs the wrapped loader's ``exec_module`` (and the device probe) quietly."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with captured_stderr():
            self._loader.exec_module(module)
        if module.__name__ == "tensorflow":
            # The first device probe prints the CUDA lines; listing the physical devices
            # leaves them configurable (visible devices, virtual CPUs). A probe that fails
            # here fails again, aloud, where the zoo asks for the devices.
            with contextlib.suppress(Exception), captured_stderr():
                module.config.list_physical_devices()
                _warm_one_time_notices(module)

    def __getattr__(self, name):  # resources, get_filename... of the wrapped loader
        return getattr(self._loader, name)


def _warm_one_time_notices(tf):
    """Provoke, inside the probe's window, the notices TensorFlow prints once per process
    on first use of an op rather than at start-up: oneDNN's "supports DT_BOOL only on
    platforms with AVX-512", from the first traced transpose of a boolean tensor (Keras
    transposes a mask in every masked recurrent layer)."""
    transpose = tf.function(lambda m: tf.transpose(m), autograph=False)
    transpose(tf.constant([[True, False]]))


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`HOOKED` modules through the other finders and wraps their loader."""

    def __init__(self):
        self._busy = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in HOOKED or self._busy or fullname in sys.modules:
            return None
        self._busy = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _QuietLoader(spec.loader)
        return spec

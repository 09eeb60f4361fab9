"""Suite-wide fixtures and guards.

- No test may touch the network: outgoing connections to anything but the
  loopback range fail at once with a clear error instead of hanging.
- Every test starts from a fresh Keras session with fixed seeds.
- This repository's recipes are registered (entry-point group
  ``zoo.recipes``) even when the installed metadata predates that group.
"""

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile

import pytest

from tests.recipe_entry_points import ensure_project_recipes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_ENTRY_POINTS = tempfile.mkdtemp(prefix="zoo-entry-points-")
atexit.register(shutil.rmtree, _ENTRY_POINTS, ignore_errors=True)
ensure_project_recipes(_ENTRY_POINTS)

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address):
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded(real):
    def connect(self, address):
        if not _is_local(address):
            raise OSError(f"tests may not reach the network; tried to connect to {address!r}")
        return real(self, address)

    return connect


socket.socket.connect = _guarded(_real_connect)
socket.socket.connect_ex = _guarded(_real_connect_ex)


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    import keras

    # free_memory=False: skip a full garbage collection per test (seconds under load).
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield

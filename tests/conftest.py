"""Suite-wide fixtures and guards.

- XLA compiles fast rather than emitting fast code (``helpers.xla_flags``).
- The slow tests run first, so that the workers finish together.
- No test may touch the network: outgoing connections to anything but the
  loopback range fail at once with a clear error instead of hanging.
- Every test starts from a fresh Keras session with fixed seeds.
- This repository's recipes are registered (entry-point group
  ``zoo.recipes``) even when the installed metadata predates that group.
- Exports are verified by one long-lived verifier process per worker
  (tests/verifier.py) instead of a fresh process per export; a test that needs
  the product's own fresh process asks for ``real_fresh_process``.
"""

import atexit
import ipaddress
import os
import shutil
import socket
import tempfile

import pytest

from tests.helpers import xla_flags
from tests.recipe_entry_points import ensure_project_recipes

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Before any XLA client starts (tests/helpers.py says why).
os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""))

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


def pytest_collection_modifyitems(config, items):
    """The `slow` tests first, each group in its order: the two workers take tests in this
    order, so the long ones (real processes, trainings end to end) start early and the
    short ones fill the end, instead of one worker finishing minutes before the other."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _fresh_keras_session():
    import keras

    # free_memory=False: skip a full garbage collection per test (seconds under load).
    keras.backend.clear_session(free_memory=False)
    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session", autouse=True)
def _one_verifier_per_worker():
    from tests.verifier import Verifiers
    from zoo.export import verify

    real, verifiers = verify.run_fresh, Verifiers()
    verify.run_fresh = verifiers
    yield real
    verify.run_fresh = real
    verifiers.close()


@pytest.fixture
def real_fresh_process(monkeypatch, _one_verifier_per_worker):
    """The product's own verification path for this test: a new process per export."""
    from zoo.export import verify

    monkeypatch.setattr(verify, "run_fresh", _one_verifier_per_worker)


@pytest.fixture(scope="session")
def built_once(tmp_path_factory, worker_id):
    """``built_once(key, build)``: the folder that ``build(folder)`` filled, built once
    per test session however many workers ask (the first builds it under a file lock,
    the others wait for it and reuse it). Tests read it, or copy it into their own
    ``tmp_path`` before they change anything (train once, copy many times)."""
    import fcntl
    import shutil

    base = tmp_path_factory.getbasetemp()
    root = (base if worker_id == "master" else base.parent) / "built-once"
    root.mkdir(exist_ok=True)

    def build_once(key, build):
        folder = root / key
        with open(root / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (root / f"{key}.done").exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                build(folder)
                (root / f"{key}.done").touch()
        return folder

    return build_once


def _train_run_folder_recipe(folder):
    from tests import run_folder_recipe
    from zoo import recipe

    config = recipe.make_config(run_folder_recipe)
    recipe.run(run_folder_recipe, config, run_dir=str(folder / "run"), export=False, verbose=0)


@pytest.fixture(scope="session")
def finished_run(built_once):
    """A finished 2-epoch run folder of tests/run_folder_recipe.py, no export (trained once
    per session: copy it before changing it)."""
    return str(built_once("run_folder_recipe", _train_run_folder_recipe) / "run")


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
    """One TFDS data folder for the recipes' tests in this worker (each dataset is
    built once per worker)."""
    return str(tmp_path_factory.mktemp("tfds"))

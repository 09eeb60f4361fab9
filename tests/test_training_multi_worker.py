"""zoo.training._multi_worker: the workaround for keras-team/keras#20585, and when it can go."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from zoo.training import _multi_worker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHONPATH = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))

PLAIN_FIT = textwrap.dedent(
    """
    import json
    import numpy as np, tensorflow as tf
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, x.sum(1, keepdims=True))).batch(16)
    with strategy.scope():
        m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse")
    try:
        m.fit(ds, epochs=1, verbose=0)
        print(json.dumps({"fit": "ok"}))
    except Exception as err:
        print(json.dumps({"fit": "failed", "error": type(err).__name__}))
    """
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_upstream_bug_plain_fit_fails_under_two_workers(tmp_path):
    """Plain ``fit`` under ``MultiWorkerMirroredStrategy`` still fails (keras#20585).

    When this test fails, the installed Keras has the fix: raise
    ``_multi_worker.AFFECTED_BELOW`` no further and delete the workaround.
    """
    if not _multi_worker.affected():
        pytest.skip("this Keras is past the versions known to carry the bug")
    script = tmp_path / "plain_fit.py"
    script.write_text(PLAIN_FIT)
    cluster = {"worker": [f"127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"]}
    procs = []
    for index in range(2):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(os.environ, TF_CONFIG=json.dumps(tf_config), KERAS_BACKEND="tensorflow",
                   PYTHONPATH=PYTHONPATH, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3")
        procs.append(subprocess.Popen([sys.executable, str(script)], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        lines = stdout.strip().splitlines()
        results.append(json.loads(lines[-1]) if lines else {"fit": "crashed", "rc": p.returncode})
    assert all(r["fit"] != "ok" for r in results), results


@pytest.mark.parametrize("version, expected", [
    ("3.15.0", True), ("3.8.0", True), ("3.16.0", False), ("4.0.0", False)])
def test_the_workaround_is_guarded_by_the_version(version, expected):
    assert _multi_worker.affected(version) is expected
    assert "keras/issues/20585" in _multi_worker.ISSUE

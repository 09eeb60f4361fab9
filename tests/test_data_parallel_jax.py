"""Data-parallel training on JAX: one device against two host devices.

Each run is a fresh JAX process (the device count is fixed when JAX starts:
``XLA_FLAGS=--xla_force_host_platform_device_count=N``), so these tests run
the same under a TensorFlow-backend pytest. The two-device run splits each
batch over both devices (``keras.distribution.DataParallel``, set by
``zoo.training.placement.choose_strategy``) and must match the one-device
run: losses per epoch, final weights, evaluation and predictions.
"""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import ROOT, run_python, xla_flags

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_data_parallel_jax")]

CHILD = """
import json, os, sys
import numpy as np
import keras, jax
import tensorflow as tf
import zoo
from zoo.recipe import Data
from zoo.training import train

args = json.loads(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(300, 6, 3)).astype("float32")
y = x[:, -1, :1] * 2.0  # the last step: a GRU learns it in a few epochs


def batches(start, n):
    return tf.data.Dataset.from_tensor_slices((x[start:start + n], y[start:start + n])).batch(
        args["batch"])


data = Data(train=batches(0, args["n_train"]), validation=batches(100, args["n_val"]),
            test=batches(200, args["n_test"]))


def build():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((6, 3)), zoo.layers.GRU(5), keras.layers.Dense(1)])
    model.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    return model


result = train(build, data, run_dir=args["run_dir"], epochs=args["epochs"], config={"run": 1},
               tensorboard=False, verbose=0)
test = result.model.evaluate(data.test, verbose=0, return_dict=True)
# Across processes Keras cannot fetch predictions (they span other processes' devices).
pred = result.model.predict(data.test, verbose=0) if jax.process_count() == 1 else np.zeros(0)
np.savez(args.get("weights") or os.path.join(args["run_dir"], "weights.npz"),
         *[np.asarray(w.value.addressable_data(0)) for w in result.model.weights])
variable = result.model.trainable_variables[0].value
print(json.dumps({"devices": len(jax.devices()),
                  "variable_devices": len(variable.sharding.device_set),
                  "test": test, "pred": pred.ravel().tolist(),
                  "distribution": repr(keras.distribution.distribution())}))
"""


def _train(root, name, devices, **kw):
    args = {"n_train": 44, "n_val": 20, "n_test": 13, "batch": 8, "epochs": 3, **kw}
    args["run_dir"] = str(root / name)
    env = {"KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "",
           "XLA_FLAGS": xla_flags(f"--xla_force_host_platform_device_count={devices}")}
    out = run_python(CHILD.replace("sys.argv[1]", repr(json.dumps(args))), env=env, timeout=600)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["devices"] == devices
    with open(os.path.join(args["run_dir"], "metrics.json")) as f:
        metrics = json.load(f)
    with np.load(os.path.join(args["run_dir"], "weights.npz")) as w:
        weights = [w[k] for k in sorted(w.files, key=lambda k: int(k.split("_")[1]))]
    return report, metrics, weights


@pytest.fixture(scope="session")
def one_device(tmp_path_factory):
    """44 training examples (batches of 8, the last of 4) and 20 for validation (last 4)."""
    return _train(tmp_path_factory.mktemp("one-device"), "run", 1)


def _assert_same_run(one, two, tol):
    (r1, m1, w1), (r2, m2, w2) = one, two
    for key in ("loss", "val_loss", "mae", "val_mae"):
        np.testing.assert_allclose(m2["history"][key], m1["history"][key], rtol=tol, atol=tol)
    assert len(w1) == len(w2) > 0
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(r2["test"][key], r1["test"][key], rtol=tol, atol=tol)
    assert len(r2["pred"]) == len(r1["pred"]) == 13  # every test example, after training
    np.testing.assert_allclose(r2["pred"], r1["pred"], rtol=tol, atol=tol)
    # Training lifts the distribution, so evaluation sees every example.
    assert r1["distribution"] == r2["distribution"] == "None"


def test_two_devices_match_one_device(one_device, tmp_path):
    # Every batch, the last ones of 4 included, splits evenly over 2 devices.
    two = _train(tmp_path, "run", 2)
    assert one_device[1]["replicas"] == 1 and len(one_device[1]["devices"]) == 1
    assert two[1]["replicas"] == 2
    assert two[1]["devices"] == ["cpu:0", "cpu:1"]
    assert one_device[0]["variable_devices"] == 1 and two[0]["variable_devices"] == 2
    assert two[1]["epochs_done"] == one_device[1]["epochs_done"] == 3
    _assert_same_run(one_device, two, 1e-5)
    # The losses moved: the comparison is between trained runs, not two initialisations.
    loss = one_device[1]["history"]["loss"]
    assert loss[-1] < 0.9 * loss[0]


def test_odd_last_batch_is_cut_to_the_device_count(one_device, tmp_path):
    # 45 / 8 ends with a batch of 5, which 2 devices cannot split: its last
    # row is left out, and so is the last of the 21 validation examples
    # (21 / 8 ends with 5 too). The rows kept are the one-device run's data.
    two = _train(tmp_path, "run", 2, n_train=45, n_val=21)
    assert two[1]["replicas"] == 2
    _assert_same_run(one_device, two, 1e-5)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_match_one_device(one_device, tmp_path):
    # Two JAX processes of one CPU device each, joined through the
    # KERAS_DISTRIBUTION_* variables (keras.distribution.initialize): each
    # takes its half of every global batch of 8 (the last of 4 included).
    port = _free_port()
    procs = []
    for index in range(2):
        args = {"n_train": 44, "n_val": 20, "n_test": 13, "batch": 8, "epochs": 3,
                "run_dir": str(tmp_path / "run"), "weights": str(tmp_path / f"w{index}.npz")}
        env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", XLA_FLAGS=xla_flags(),
                   KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                   KERAS_DISTRIBUTION_NUM_PROCESSES="2", KERAS_DISTRIBUTION_PROCESS_ID=str(index))
        code = CHILD.replace("sys.argv[1]", repr(json.dumps(args)))
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outs = []
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=600)
        finally:
            proc.kill()
        assert proc.returncode == 0, err[-3000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert [o["devices"] for o in outs] == [2, 2]  # jax.devices(): both processes' devices
    with open(tmp_path / "run" / "metrics.json") as f:
        metrics = json.load(f)  # written by process 0 only
    assert metrics["replicas"] == 2 and len(metrics["devices"]) == 2
    _, m1, w1 = one_device
    for key in ("loss", "val_loss", "mae", "val_mae"):
        np.testing.assert_allclose(metrics["history"][key], m1["history"][key],
                                   rtol=1e-5, atol=1e-5)
    for index in range(2):
        with np.load(tmp_path / f"w{index}.npz") as w:
            weights = [w[k] for k in sorted(w.files, key=lambda k: int(k.split("_")[1]))]
        assert len(weights) == len(w1)
        for a, b in zip(w1, weights):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-5)
    # The distribution stays across processes (every step needs them all).
    assert outs[0]["distribution"].startswith("<EvenDataParallel")


def test_two_processes_join_before_the_recipe_loads_its_data(tmp_path):
    # The recipe's load_data computes on JAX (as Normalization.adapt does);
    # keras.distribution.initialize must come before that, in zoo.recipe.run.
    port = _free_port()
    code = ("import sys\nfrom zoo import recipe\nfrom tests import seeded_data_recipe as r\n"
            "recipe.run(r, r.Config(), data_dir=sys.argv[1], run_dir=sys.argv[2], "
            "export=False, verbose=0)\nprint('done')\n")
    procs = []
    for index in range(2):
        data_dir = tmp_path / f"data{index}"
        data_dir.mkdir()
        env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="", XLA_FLAGS=xla_flags(),
                   PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
                   KERAS_DISTRIBUTION_JOB_ADDRESSES=f"127.0.0.1:{port}",
                   KERAS_DISTRIBUTION_NUM_PROCESSES="2", KERAS_DISTRIBUTION_PROCESS_ID=str(index))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", code, str(data_dir), str(tmp_path / "run")], cwd=ROOT,
            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for proc in procs:
        try:
            out, err = proc.communicate(timeout=600)
        finally:
            proc.kill()
        assert proc.returncode == 0, err[-3000:]
        assert out.strip().splitlines()[-1] == "done"
    with open(tmp_path / "run" / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["status"] == "complete" and metrics["replicas"] == 2


def test_zoo_train_backend_jax_spreads_over_two_devices_and_exports_through_tensorflow(
        tmp_path):
    # From a TensorFlow-backend shell, `--backend jax` restarts the command on
    # JAX; an odd batch size (31) cannot split over 2 devices and is cut to 30.
    # The JAX-trained run then exports through a TensorFlow process, verified.
    run, target = str(tmp_path / "run"), str(tmp_path / "export")
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="",
               XLA_FLAGS=xla_flags("--xla_force_host_platform_device_count=2"))
    proc = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "train", "adding_problem", "--tiny", "--backend", "jax",
         "--set", "cells=()", "--set", "batch_size=31", "--run-dir", run, "--export-dir", target,
         "--data-dir", str(tmp_path / "tfds"), "--quiet"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("[adding_problem] complete: mse=")
    with open(os.path.join(run, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["backend"] == "jax" and metrics["status"] == "complete"
    assert metrics["replicas"] == 2 and metrics["devices"] == ["cpu:0", "cpu:1"]
    assert np.isfinite(metrics["test"]["mse"])
    assert os.path.isfile(os.path.join(target, "saved_model.pb"))
    with open(os.path.join(target, "zoo_export.json")) as f:
        info = json.load(f)
    assert {c["signature"] for c in info["verification"]["cases"]} >= {"serve"}


PLACEMENT_CHILD = """
import json, os
import keras
from zoo.training import placement

out = {"chief": placement.is_chief()}
try:
    placement.choose_strategy("multi_worker")
except ValueError as err:
    out["multi_worker"] = str(err)
one = placement.choose_strategy("one_device")
out["one_device"] = [one.num_replicas_in_sync, one.devices, repr(keras.distribution.distribution())]
auto = placement.choose_strategy()
dist = keras.distribution.distribution()
out["auto"] = [auto.num_replicas_in_sync, auto.devices, type(dist).__name__,
               dist is auto.distribution]
placement.release(auto)
out["released"] = repr(keras.distribution.distribution())
print(json.dumps(out))
"""


@pytest.mark.parametrize("devices", [1, 2])
def test_choose_strategy_on_jax(devices):
    env = {"KERAS_BACKEND": "jax", "CUDA_VISIBLE_DEVICES": "",
           "XLA_FLAGS": xla_flags(f"--xla_force_host_platform_device_count={devices}"),
           "KERAS_DISTRIBUTION_NUM_PROCESSES": "", "KERAS_DISTRIBUTION_PROCESS_ID": ""}
    out = json.loads(run_python(PLACEMENT_CHILD, env=env).strip().splitlines()[-1])
    assert out["chief"] is True
    assert out["multi_worker"].startswith("strategy='multi_worker' on the JAX backend needs the "
                                          "cluster in KERAS_DISTRIBUTION_JOB_ADDRESSES")
    assert out["multi_worker"].endswith("Received: KERAS_DISTRIBUTION_NUM_PROCESSES=''")
    assert out["one_device"] == [1, ["cpu:0"], "None"]
    names = [f"cpu:{i}" for i in range(devices)]
    if devices == 1:  # one device: no distribution at all
        assert out["auto"] == [1, names, "NoneType", True]
    else:
        assert out["auto"] == [2, names, "EvenDataParallel", True]
    assert out["released"] == "None"


def test_is_chief_on_jax_reads_the_process_id():
    env = {"KERAS_BACKEND": "jax", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
           "KERAS_DISTRIBUTION_PROCESS_ID": "1"}
    code = "from zoo.training import placement; print(placement.is_chief())"
    assert run_python(code, env=env).strip().splitlines()[-1] == "False"
    env["KERAS_DISTRIBUTION_PROCESS_ID"] = "0"
    assert run_python(code, env=env).strip().splitlines()[-1] == "True"

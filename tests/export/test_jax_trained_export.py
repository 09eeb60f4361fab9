"""A model trained under KERAS_BACKEND=jax exports through ``zoo.recipe.export_run``
with every signature verified in the fresh process: the run trains in a JAX
subprocess, and the export loads its ``model.keras`` on TensorFlow (from the JAX
process itself, by the TensorFlow subprocess ``export_run`` starts there, and from
a TensorFlow process, as ``zoo export`` does)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("jax")
export = pytest.importorskip("zoo.export")

from zoo import recipe as base  # noqa: E402

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_jax_trained_export")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STREAMING = {"initial_state", "step"}  # causal recurrent models stream
SIGNATURES = {"classifier": {"serve", "predict", "preprocess"} | STREAMING,
              "generator": {"serve", "generate"} | STREAMING,
              "translator": {"serve", "translate", "beam_search"}}
# (run name, kind, mixed precision, exported by the JAX process itself)
RUNS = [("classifier", "classifier", False, False), ("generator", "generator", False, False),
        ("translator", "translator", False, True), ("classifier_mixed", "classifier", True, True)]

_TRAIN = r"""
import json, sys
import keras
from zoo import recipe as base
from tests.export import kinds_recipe as recipe
assert keras.config.backend() == "jax", keras.config.backend()
folder, runs = sys.argv[1], json.loads(sys.argv[2])
for name, kind, mixed, export in runs:
    config = base.make_config(recipe, tiny=True, overrides=[
        f"kind={kind}", f"mixed_precision={str(mixed).lower()}"])
    summary = base.run(recipe, config, run_dir=f"{folder}/{name}/run", export=export,
                       export_dir=f"{folder}/{name}/export", verbose=0)
    assert summary["status"] == "complete" and summary["backend"] == "jax", summary
    assert not export or summary.get("export"), summary
"""


@pytest.fixture(scope="session")
def jax_runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jax_runs")
    env = dict(os.environ, KERAS_BACKEND="jax", CUDA_VISIBLE_DEVICES="-1", PYTHONPATH=ROOT,
               JAX_PLATFORMS="cpu")
    proc = subprocess.run([sys.executable, "-c", _TRAIN, str(folder), json.dumps(RUNS)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return folder


def _check(info, kind, policy="float32"):
    assert info["recipe"] == "export_kinds_fixture"
    assert info["model"]["dtype_policy"] == policy
    assert set(info["signatures"]) == SIGNATURES[kind]
    verified = {case["signature"] for case in info["verification"]["cases"]}
    assert verified == set(info["signatures"])
    # initial_state (a batch size) and predict_defaults (no input) have no sequence length.
    shapes = {(c["shapes"]["batch"], c["shapes"]["steps"]) for c in info["verification"]["cases"]
              if "steps" in c["shapes"]}
    assert shapes == {(1, 4), (1, 7), (3, 4), (3, 7)}


# Exhaustive tier: four JAX trainings, one per kind of model, each exported through
# TensorFlow. CI exports one JAX-trained run, trained over two devices
# (tests/test_data_parallel_jax.py::
# test_zoo_train_backend_jax_spreads_over_two_devices_and_exports_through_tensorflow).
@pytest.mark.exhaustive
@pytest.mark.parametrize("name,kind,mixed,exported", RUNS, ids=[r[0] for r in RUNS])
def test_a_jax_trained_run_exports_with_every_signature_verified(jax_runs, name, kind, mixed,
                                                                 exported, tmp_path):
    run_dir = str(jax_runs / name / "run")
    assert json.load(open(os.path.join(run_dir, "config.json")))["mixed_precision"] is mixed
    policy = "mixed_bfloat16" if mixed else "float32"
    if exported:
        # Exported at the end of the JAX run, by export_run's TensorFlow subprocess.
        _check(export.read_export_info(jax_runs / name / "export"), kind, policy)
    path = base.export_run(run_dir, tmp_path / "export")
    info = export.read_export_info(path)
    _check(info, kind, policy)
    assert info["metadata"]["run_dir"] == os.path.abspath(run_dir)
    if mixed:
        assert info["signatures"]["serve"]["outputs"]["output_0"]["dtype"] == "bfloat16"

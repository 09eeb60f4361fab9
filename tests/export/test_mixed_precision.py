"""Mixed precision (bfloat16 compute on CPU) exports: every signature verified in
the fresh process, in the dtype the export serves; and the parts of a
``--mixed-precision`` run that used to break before the export."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import zoo
from zoo import diagnostics

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# One tiny model of each kind: name, create_model arguments, the signatures it exports
# (a bare generative model has no vocabulary, hence no predict; causal recurrent models
# stream: initial_state and step).
KINDS = {
    "classifier": ("many_to_one", {"input_dim": 3, "num_classes": 2, "units": 4,
                                   "cell": "lstm"},
                   {"serve", "predict", "preprocess", "initial_state", "step"}),
    "regression": ("many_to_one", {"input_dim": 2, "output_dim": 1, "units": 4,
                                   "cell": "gru"},
                   {"serve", "predict", "preprocess", "initial_state", "step"}),
    "tagger": ("many_to_many", {"vocab_size": 11, "num_classes": 3, "units": 4,
                                "bidirectional": True}, {"serve", "predict", "preprocess"}),
    "generator": ("one_to_many", {"num_conditions": 4, "vocab_size": 9, "units": 4,
                                  "end_token": 3},
                  {"serve", "generate", "initial_state", "step"}),
    "encoder_decoder": ("encoder_decoder", {"source_vocab_size": 12, "target_vocab_size": 9,
                                            "units": 4, "end_token": 3,
                                            "attention": "luong"},
                        {"serve", "translate", "beam_search"}),
}


class _Policy:
    """Set the global dtype policy for a block, then restore the previous one."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.name)

    def __exit__(self, *exc):
        keras.config.set_dtype_policy(self.previous)


@pytest.fixture(scope="module", params=sorted(KINDS))
def mixed_export(request, tmp_path_factory):
    name, kwargs, expected = KINDS[request.param]
    with _Policy("mixed_bfloat16"):
        keras.utils.set_random_seed(0)
        model = zoo.create_model(name, **kwargs)
        path = export.export_saved_model(model, tmp_path_factory.mktemp("mixed") / "export")
    assert keras.config.dtype_policy().name == "float32"
    return model, path, expected


@pytest.mark.slow
def test_every_signature_verifies_in_the_dtype_it_serves(mixed_export):
    model, path, expected = mixed_export
    info = export.read_export_info(path)
    assert info["model"]["dtype_policy"] == "mixed_bfloat16"
    verified = {case["signature"] for case in info["verification"]["cases"]}
    assert verified == set(info["signatures"]) == expected
    # The last layer computes in bfloat16, so serve returns bfloat16; the verifier
    # compared in that dtype with its tolerance (one unit in the last place).
    assert info["signatures"]["serve"]["outputs"]["output_0"]["dtype"] == "bfloat16"
    assert info["verification"]["tolerance"]["bfloat16"] == 2.0 ** -7
    assert all(case["max_rel_diff"] <= 2.0 ** -7 for case in info["verification"]["cases"])

    loaded = tf.saved_model.load(str(path))
    x = {t.name: (np.ones((2, 4), "int32") if "int" in str(t.dtype) and len(t.shape) > 1
                  else np.ones((2,), "int32") if "int" in str(t.dtype)
                  else np.full((2, 4) + tuple(t.shape[2:]) if len(t.shape) > 2
                               else (2,) + tuple(t.shape[1:]), 0.5, "float32"))
         for t in model.inputs}
    out = loaded.signatures["serve"](**{k: tf.constant(v) for k, v in x.items()})["output_0"]
    assert out.dtype == tf.bfloat16
    np.testing.assert_allclose(out.numpy().astype("float32"),
                               keras.ops.convert_to_numpy(model(x)).astype("float32"),
                               atol=2.0 ** -7)


def test_the_verifier_refuses_a_served_dtype_other_than_the_references(tmp_path):
    from zoo.export import verify

    with _Policy("mixed_bfloat16"):
        model = zoo.create_model("one_to_one", input_dim=3, num_classes=2, units=4)
        archive, endpoints, context = export.build_archive(model)
    archive.write_out(str(tmp_path / "sm"), verbose=False)
    book = verify.CaseBook()
    x = np.ones((2, 3), "float32")
    # A float32 reference for a bfloat16 output: the export does not serve float32.
    book.add("serve", {"features": x},
             {"output_0": keras.ops.convert_to_numpy(model({"features": x})).astype("float32")},
             {"batch": 2})
    book.save(tmp_path / "cases.npz")
    with pytest.raises(RuntimeError, match="serve: output output_0 dtype bfloat16 != float32"):
        verify.verify_saved_model(tmp_path / "sm", tmp_path / "cases.npz")


def test_a_float32_output_of_a_bfloat16_model_is_held_to_bfloat16s_tolerance(tmp_path):
    # A mixed-precision classifier's probabilities are float32, but a softmax of
    # bfloat16 logits: eager and graph kernels may round a logit one bfloat16 unit
    # apart (5e-5 seen on one CPU), so 1e-6 would refuse a correct export.
    from zoo.export import verify

    with _Policy("mixed_bfloat16"):
        model = zoo.create_model("one_to_one", input_dim=3, num_classes=2, units=4)
    assert verify._compute_dtype(model) == "bfloat16"
    assert verify._compute_dtype(zoo.create_model("one_to_one", input_dim=3, num_classes=2,
                                                  units=4)) == "float32"

    class Plus(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
        def serve(self, x):
            return {"output_0": x}

    tf.saved_model.save(Plus(), str(tmp_path / "sm"), signatures={"serve": Plus().serve})
    x = np.ones((2, 3), "float32")
    for compute, off, ok in [("bfloat16", 1e-4, True), ("bfloat16", 2e-2, False),
                             ("float32", 1e-4, False), ("float32", 1e-7, True)]:
        book = verify.CaseBook(compute)
        book.add("serve", {"x": x}, {"output_0": x + off}, {"batch": 2})
        book.save(tmp_path / "cases.npz")
        if ok:
            verify.verify_saved_model(tmp_path / "sm", tmp_path / "cases.npz")
        else:
            with pytest.raises(RuntimeError, match="serve: output output_0 max abs diff"):
                verify.verify_saved_model(tmp_path / "sm", tmp_path / "cases.npz")


@pytest.mark.jax
@pytest.mark.parametrize("layer", ["simple_rnn", "lstm"])
@pytest.mark.slow
def test_gradient_flow_under_mixed_precision_matches_float32(layer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 6, 2)).astype("float32")
    y = np.ones((4, 1), "float32")
    flows = {}
    for policy in ("float32", "mixed_bfloat16"):
        with _Policy(policy):
            keras.utils.set_random_seed(1)
            rnn = zoo.layers.LSTM(4) if layer == "lstm" else zoo.layers.SimpleRNN(4)
            model = keras.Sequential([keras.Input((6, 2)), rnn, keras.layers.Dense(1)])
            flows[policy] = diagnostics.gradient_flow(model, x, y, loss="mse")
    assert flows["mixed_bfloat16"].shape == flows["float32"].shape == (1, 6)
    # bfloat16 keeps 8 bits of mantissa: the norms agree to a few of its units.
    scale = np.abs(flows["float32"]).max()
    np.testing.assert_allclose(flows["mixed_bfloat16"], flows["float32"], atol=4 * 2 ** -8 * scale)


def test_normalization_stays_float32_under_a_mixed_policy():
    from zoo.data import normalization

    values = tf.data.Dataset.from_tensor_slices(np.arange(12, dtype="float32").reshape(6, 2))
    with _Policy("mixed_bfloat16"):
        norm = normalization.adapt_normalization(values)
        rebuilt = normalization.normalization_from_config(
            normalization.normalization_config(norm), invert=True)
        x = tf.constant([[101.0, 203.0]])
        out = norm(x)
        back = rebuilt(out)
    assert out.dtype == tf.float32 and back.dtype == tf.float32
    # float32 keeps 101 exactly enough to come back; bfloat16 would round it to 101 +- 0.5.
    np.testing.assert_allclose(back.numpy(), x.numpy(), rtol=1e-6)


@pytest.mark.slow
def test_zoo_train_mixed_precision_trains_and_exports(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="-1",
               PYTHONPATH=ROOT)
    cmd = [sys.executable, "-m", "zoo.cli", "train", "sunspots", "--tiny", "--mixed-precision",
           "--quiet", "--data-dir", str(tmp_path / "data"), "--run-dir", str(tmp_path / "run"),
           "--export-dir", str(tmp_path / "export")]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((tmp_path / "export" / "zoo_export.json").read_text())
    assert info["config"]["mixed_precision"] is True
    assert info["model"]["dtype_policy"] == "mixed_bfloat16"
    assert info["signatures"]["serve"]["outputs"]["output_0"]["dtype"] == "bfloat16"
    assert {c["signature"] for c in info["verification"]["cases"]} == set(info["signatures"])

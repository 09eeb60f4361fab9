"""LiteRT export: model.tflite built-in ops only, its fresh-process verification with the
ai-edge-litert interpreter, the Select TF fallback, atomic writes and `zoo export --format`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import zoo

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
export = pytest.importorskip("zoo.export")
from zoo.export import litert  # noqa: E402

# One worker runs this module (scripts/test.sh uses --dist loadgroup), so its
# session-scoped fixtures (trainings, exports, live models) are built once.
pytestmark = pytest.mark.xdist_group("test_litert")

ALL_SHAPES = {(1, 4), (1, 7), (3, 4), (3, 7)}

# name -> (factory, kwargs, whether it streams)
MODELS = {
    "many_to_one_lstm_tokens": ("many_to_one", dict(vocab_size=20, embedding_dim=6, units=8,
                                                    num_classes=3, cell="lstm"), True),
    "many_to_many_gru_masked": ("many_to_many", dict(input_dim=3, mask_value=0.0, num_classes=4,
                                                     units=8, cell="gru"), True),
    "one_to_one": ("one_to_one", dict(input_dim=3, num_classes=3, units=8), False),
    "one_to_many": ("one_to_many", dict(input_dim=3, vocab_size=9, end_token=3, max_length=6,
                                        units=8), True),
    "encoder_decoder": ("encoder_decoder", dict(source_vocab_size=12, target_vocab_size=9,
                                                units=8, attention="luong",
                                                max_output_length=6), False),
    "many_to_one_simple_features": ("many_to_one", dict(input_dim=3, num_classes=2, units=8,
                                                        cell="simple"), True),
    "many_to_many_bidirectional": ("many_to_many", dict(input_dim=3, num_classes=4, units=8,
                                                        bidirectional=True), False),
    # The long-memory cells: no recurrent kernel (the min-cells' loop in a graph for any
    # length), an element-wise recurrent weight, layer normalisation.
    "many_to_one_mingru_masked": ("many_to_one", dict(input_dim=3, mask_value=0.0,
                                                      num_classes=2, units=8, cell="mingru",
                                                      chrono_init=50), True),
    "many_to_many_indrnn": ("many_to_many", dict(input_dim=3, num_classes=4, units=8,
                                                 cell="indrnn",
                                                 cell_options={"max_length": 7}), True),
    "one_to_many_lnlstm": ("one_to_many", dict(input_dim=3, vocab_size=9, end_token=3,
                                               max_length=6, units=8, cell="lnlstm"), True),
}
SLOW = {"many_to_one_simple_features", "many_to_many_bidirectional"}


def _model(key):
    name, kwargs, _ = MODELS[key]
    return zoo.create_model(name, **kwargs)


@pytest.mark.parametrize("key", [pytest.param(k, marks=pytest.mark.slow) if k in SLOW else k
                                 for k in MODELS])
def test_every_kind_converts_to_builtin_ops_and_verifies(key, tmp_path):
    model = _model(key)
    path = export.export_litert(model, tmp_path / "v1" / "model.tflite")
    assert path == tmp_path / "v1" / "model.tflite" and path.stat().st_size > 0
    info = export.read_litert_info(path)
    assert info["ops"]["select_tf"] == [] and info["ops"]["select_tf_forced_by"] == []
    assert "WHILE" in info["ops"]["builtin"]  # the recurrence is a loop, not unrolled
    streams = MODELS[key][2]
    expected = {"serve", "step", "initial_state"} if streams else {"serve"}
    assert set(info["signatures"]) == expected
    cases = info["verification"]["cases"]
    for signature in expected - {"initial_state"}:
        shapes = {(c["shapes"]["batch"], c["shapes"]["steps"]) for c in cases
                  if c["signature"] == signature}
        assert shapes == (ALL_SHAPES if key != "one_to_one" else {(1, 4), (3, 4)})
    assert max(c["max_rel_diff"] for c in cases) <= export.LITERT_TOLERANCE
    assert sorted(p.name for p in tmp_path.joinpath("v1").iterdir()) == [
        "model.tflite", "model.tflite.json"]


@pytest.fixture(scope="session")
def streaming_export(tmp_path_factory):
    model = _model("many_to_one_lstm_tokens")
    path = export.export_litert(model, tmp_path_factory.mktemp("lt") / "model.tflite")
    return model, path


def test_interpreter_steps_equal_the_keras_model(streaming_export):
    """Independent of the verifier: the LiteRT `serve` equals the Keras model, and feeding
    the sequence to `step` in two chunks ends with the whole-sequence output."""
    from ai_edge_litert.interpreter import Interpreter

    model, path = streaming_export
    interpreter = Interpreter(model_path=str(path))
    tokens = np.random.default_rng(1).integers(1, 20, size=(2, 9)).astype("int32")
    want = model({"tokens": tokens}).numpy()
    got = interpreter.get_signature_runner("serve")(tokens=tokens)["output_0"]
    np.testing.assert_allclose(got, want, atol=1e-5)
    states = interpreter.get_signature_runner("initial_state")(batch_size=np.int32(2))
    assert sorted(states) == ["state_0", "state_1"] and states["state_0"].shape == (2, 8)
    step = interpreter.get_signature_runner("step")
    for chunk in (tokens[:, :4], tokens[:, 4:]):
        out = step(tokens=chunk, **states)
        states = {k: v for k, v in out.items() if k.startswith("state_")}
    np.testing.assert_allclose(out["output_0"], want, atol=1e-5)


def test_verifier_detects_a_mismatch(streaming_export, tmp_path):
    model, path = streaming_export
    book = litert.reference_cases(model, litert._signatures(model))
    book.save(tmp_path / "good.npz")
    assert len(export.verify_litert(path, tmp_path / "good.npz")) == len(book.cases)
    step_case = next(c for c in book.cases if c["signature"] == "step")
    key = f"{step_case['id']}/out/output_0"
    book.arrays[key] = book.arrays[key] + 3e-5
    book.save(tmp_path / "bad.npz")
    with pytest.raises(RuntimeError, match=r"model\.tflite: step \{'batch': 1, 'steps': 4\}: "
                                           r"output output_0 max abs diff 3(\.0\d*)?e-05 > 1e-05 "
                                           r"x scale 1$"):
        export.verify_litert(path, tmp_path / "bad.npz")


@pytest.mark.slow
def test_the_stock_loop_needs_select_tf_ops_and_says_which(tmp_path):
    model = _model("many_to_one_lstm_tokens")
    with pytest.raises(RuntimeError, match=r"needs Select TF ops \(FlexTensorListReserve, "
                                           r"FlexTensorListSetItem, FlexTensorListStack; forced by "
                                           r"tf\.TensorListReserve\)"):
        export.export_litert(model, tmp_path / "a.tflite", builtin_loop=False)
    assert list(tmp_path.iterdir()) == []
    path = export.export_litert(model, tmp_path / "b.tflite", builtin_loop=False, verify=False)
    info = export.read_litert_info(path)
    assert info["ops"]["select_tf"] == ["FlexTensorListReserve", "FlexTensorListSetItem",
                                        "FlexTensorListStack"]
    assert info["loop"] == "tensorflow" and info["verification"] is None


def test_litert_loop_restores_the_stock_loop():
    from zoo.layers import loop

    original = loop._tf_sequence_loop
    with pytest.raises(KeyError):
        with litert.litert_loop():
            assert loop._tf_sequence_loop is litert._litert_sequence_loop
            raise KeyError
    assert loop._tf_sequence_loop is original


def test_interrupted_export_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(litert, "verify_litert", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export_litert(_model("one_to_one"), tmp_path / "model.tflite")
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    model = _model("one_to_one")
    with pytest.raises(ValueError, match=r"^`path` must name a \.tflite file\. Received: "
                                         r"path='.*/model\.bin'$"):
        export.export_litert(model, tmp_path / "model.bin")
    (tmp_path / "model.tflite").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_litert(model, tmp_path / "model.tflite")
    export.export_litert(model, tmp_path / "model.tflite", overwrite=True, verify=False)
    assert (tmp_path / "model.tflite").read_bytes() != b"old"


# --------------------------------------------------------------------------
# zoo export RUN --format litert | both
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def zoo_run_folder(tmp_path_factory):
    """The fixture recipe's run folder, its model.keras replaced by a zoo GRU of the same
    input (the fixture trains a Keras GRU, whose TensorArray loop needs Select TF ops)."""
    from tests import run_folder_recipe
    from zoo import recipe

    run_dir = str(tmp_path_factory.mktemp("run") / "run")
    config = recipe.make_config(run_folder_recipe, overrides=["epochs=1"])
    recipe.run(run_folder_recipe, config, run_dir=run_dir, export=False, verbose=0)
    model = zoo.create_model("many_to_one", input_dim=3, num_classes=2, units=4, cell="gru")
    model.save(os.path.join(run_dir, "model.keras"))
    return run_dir


def _zoo(*args):
    from tests.helpers import ROOT, subprocess_env

    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], cwd=ROOT,
                          env=subprocess_env(), capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_export_run_writes_model_tflite_in_the_version_folder(zoo_run_folder, tmp_path):
    from zoo import recipe

    path = recipe.export_run(zoo_run_folder, tmp_path / "3", format="litert")
    assert path == tmp_path / "3"
    assert sorted(os.listdir(path)) == ["model.tflite", "model.tflite.json"]
    assert export.read_litert_info(path / "model.tflite")["verification"]["cases"]


@pytest.mark.slow
def test_cli_exports_litert_and_both(zoo_run_folder, tmp_path):
    proc = _zoo("export", zoo_run_folder, "--to", str(tmp_path / "1"), "--format", "litert")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"-> LiteRT {tmp_path / '1' / 'model.tflite'}" in proc.stdout
    assert sorted(os.listdir(tmp_path / "1")) == ["model.tflite", "model.tflite.json"]
    info = json.loads((tmp_path / "1" / "model.tflite.json").read_text())
    assert info["metadata"]["recipe"] == "run_folder_fixture"
    assert set(info["signatures"]) == {"serve", "step", "initial_state"}

    proc = _zoo("export", zoo_run_folder, "--to", str(tmp_path / "2"), "--format", "both")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "-> SavedModel" in proc.stdout and "-> LiteRT" in proc.stdout
    names = set(os.listdir(tmp_path / "2"))
    assert {"saved_model.pb", "zoo_export.json", "model.tflite", "model.tflite.json"} <= names


def test_export_run_refuses_an_unknown_format(tmp_path):
    from zoo import recipe

    with pytest.raises(ValueError, match=r"^`format` must be one of \['saved_model', 'litert', "
                                         r"'both'\]\. Received: format='onnx'$"):
        recipe.export_run(str(tmp_path), tmp_path / "1", format="onnx")


def test_a_mixed_precision_model_converts_as_its_float32_twin(tmp_path):
    import keras
    from ai_edge_litert.interpreter import Interpreter

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = zoo.create_model("many_to_one", input_dim=3, num_classes=2, units=4,
                                 cell="lstm")
    finally:
        keras.config.set_dtype_policy(previous)
    path = export.export_litert(model, tmp_path / "model.tflite")
    info = export.read_litert_info(path)
    assert info["ops"]["select_tf"] == []  # built-in ops only
    assert info["trained_dtype_policy"] == ["mixed_bfloat16"] and info["dtype"] == "float32"
    assert {(c["shapes"]["batch"], c["shapes"]["steps"]) for c in info["verification"]["cases"]
            if c["signature"] == "serve"} == ALL_SHAPES
    # The float32 file answers as the bfloat16 model does, within bfloat16's precision.
    x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
    got = Interpreter(str(path)).get_signature_runner("serve")(features=x)["output_0"]
    want = np.asarray(model(x), "float32")
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=0.05)

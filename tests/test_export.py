"""SavedModel export: signatures, zoo_export.json, atomic writes, and the
fresh-process verification (TensorFlow backend only)."""

import json

import keras
import numpy as np
import pytest

import zoo
from zoo import decoding

tf = pytest.importorskip("tensorflow")
export = pytest.importorskip("zoo.export")


def _one_to_many():
    return zoo.create_model("one_to_many", input_dim=3, vocab_size=9, units=8, end_token=3,
                            max_length=6)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.mark.slow
def test_translate_and_beam_search_signatures_match_the_python_api(tmp_path):
    model = zoo.create_model("encoder_decoder", source_vocab_size=12, target_vocab_size=9,
                             units=8, attention="bahdanau", max_output_length=7)
    path = export.export_saved_model(model, tmp_path / "ed", beam_width=3)
    info = export.read_export_info(path)
    assert set(info["signatures"]) == {"serve", "translate", "beam_search"}
    assert set(info["signatures"]["translate"]["inputs"]) == {
        "source", "max_length", "temperature", "top_k", "seed"}
    assert info["beam_width"] == 3
    shapes = {(c["shapes"]["batch"], c["shapes"]["steps"]) for c in info["verification"]["cases"]}
    assert shapes == {(1, 4), (1, 7), (3, 4), (3, 7)}

    loaded = tf.saved_model.load(str(path))
    source = np.array([[3, 4, 5, 0], [6, 7, 8, 9]], "int32")
    out = loaded.signatures["translate"](
        source=tf.constant(source), max_length=tf.constant(7), temperature=tf.constant(0.0),
        top_k=tf.constant(0), seed=tf.constant(0))
    tokens, scores = decoding.translate(model, source, max_output_length=7)
    np.testing.assert_array_equal(out["tokens"].numpy(), tokens)
    np.testing.assert_allclose(out["scores"].numpy(), scores, atol=1e-5)
    out = loaded.signatures["beam_search"](
        source=tf.constant(source), max_length=tf.constant(7), alpha=tf.constant(0.6))
    tokens, scores = decoding.translate(model, source, max_output_length=7, beam_width=3,
                                        alpha=0.6)
    np.testing.assert_array_equal(out["tokens"].numpy(), tokens)
    sampled = loaded.signatures["translate"](
        source=tf.constant(source), max_length=tf.constant(7), temperature=tf.constant(1.0),
        top_k=tf.constant(3), seed=tf.constant(11))
    tokens, _ = decoding.translate(model, source, max_output_length=7, temperature=1.0,
                                   top_k=3, seed=11)
    np.testing.assert_array_equal(sampled["tokens"].numpy(), tokens)


def test_zoo_export_json_records_model_versions_and_metadata(tmp_path):
    model = _one_to_many()
    metadata = {"metrics": {"accuracy": 0.9}, "recipe": "bach_chorales",
                "config": {"epochs": 3}, "note": "tiny"}
    path = export.export_saved_model(model, tmp_path / "m", metadata=metadata, verify=False)
    info = json.loads((path / "zoo_export.json").read_text())
    assert info["model"]["name"] == "one_to_many"
    assert info["model"]["kwargs"] == {"input_dim": 3, "vocab_size": 9, "units": 8,
                                       "end_token": 3, "max_length": 6}
    assert info["metrics"] == {"accuracy": 0.9}
    assert info["recipe"] == "bach_chorales"
    assert info["config"] == {"epochs": 3}
    assert info["metadata"] == {"note": "tiny"}
    assert set(info["versions"]) == {"zoo", "keras", "tensorflow", "numpy", "python"}
    assert info["versions"]["keras"] == keras.__version__
    assert info["verification"] is None
    assert set(info["signatures"]["generate"]["inputs"]) == {
        "condition", "max_length", "temperature", "top_k", "seed"}


@pytest.mark.slow
def test_a_loaded_keras_file_exports_with_names_from_metadata(tmp_path):
    model = zoo.create_model("one_to_one", input_dim=3, num_classes=2, units=4)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert not hasattr(loaded, "zoo_spec")
    path = export.export_saved_model(
        loaded, tmp_path / "e", metadata={"model_kwargs": {"input_dim": 3, "num_classes": 2}})
    info = export.read_export_info(path)
    assert info["model"]["name"] == "one_to_one"
    assert info["model"]["kwargs"] == {"input_dim": 3, "num_classes": 2}
    serve = [c for c in info["verification"]["cases"] if c["signature"] == "serve"]
    assert [c["shapes"]["steps"] for c in serve] == [4, 4]  # no time axis


def test_interrupted_export_leaves_nothing_at_the_target(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export.verify, "verify_saved_model", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export.export_saved_model(_one_to_many(), tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_existing_target_needs_overwrite(tmp_path):
    target = tmp_path / "m"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with pytest.raises(FileExistsError, match="overwrite"):
        export.export_saved_model(_one_to_many(), target, verify=False)
    export.export_saved_model(_one_to_many(), target, verify=False, overwrite=True)
    assert not (target / "stale.txt").exists()
    assert (target / "saved_model.pb").exists()
    assert _leftovers(tmp_path) == []


def test_verifier_rejects_a_mismatch(tmp_path):
    model = zoo.create_model("one_to_one", input_dim=3, num_classes=2, units=4)
    archive, endpoints, context = export.build_archive(model)
    archive.write_out(str(tmp_path / "sm"), verbose=False)
    serve = {"serve": endpoints["serve"]}
    book = export.reference_cases(model, serve, context, [export.signatures])
    book.save(tmp_path / "good.npz")
    assert len(export.verify_saved_model(tmp_path / "sm", tmp_path / "good.npz")) == 2
    book.arrays["case0/out/output_0"] = book.arrays["case0/out/output_0"] + 1e-5
    book.save(tmp_path / "bad.npz")
    with pytest.raises(RuntimeError, match="max abs diff"):
        export.verify_saved_model(tmp_path / "sm", tmp_path / "bad.npz")


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="metadata"):
        export.export_saved_model(_one_to_many(), tmp_path / "m", metadata=["x"])
    with pytest.raises(ValueError, match="beam_width"):
        export.export_saved_model(_one_to_many(), tmp_path / "m", beam_width=0)


def test_recipe_config_names_a_reloaded_model(tmp_path):
    model = zoo.create_model("one_to_many", input_dim=3, vocab_size=9, units=4)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    config = {"epochs": 1, "model": {"name": "one_to_many", "units": 4}}
    path = export.export_saved_model(loaded, tmp_path / "e", metadata={"config": config},
                                     verify=False)
    info = export.read_export_info(path)
    assert info["model"]["name"] == "one_to_many"
    assert info["model"]["kwargs"] == {"units": 4}
    assert info["config"] == config


def test_relative_target_path_exports_and_verifies(tmp_path, monkeypatch):
    # The verifier runs in another working directory; a relative target must
    # still be found (regression: the main job exports to saved_models/...).
    monkeypatch.chdir(tmp_path)
    model = zoo.create_model("many_to_one", input_dim=3, num_classes=2, units=4)
    out = export.export_saved_model(model, "saved_models/demo/1")
    assert (tmp_path / "saved_models/demo/1/saved_model.pb").exists()
    info = json.loads((tmp_path / "saved_models/demo/1/zoo_export.json").read_text())
    assert info["verification"]["cases"]
    assert str(out).endswith("saved_models/demo/1")


def test_a_signature_without_verification_cases_is_refused():
    model = zoo.create_model("one_to_one", input_dim=3, num_classes=2, units=4)
    _, endpoints, context = export.build_archive(model)
    assert {"serve", "predict"} <= set(endpoints)
    with pytest.raises(RuntimeError, match=r"No verification case for the signature\(s\) "
                                           r"\['predict', 'preprocess'\]"):
        export.reference_cases(model, endpoints, context, [export.signatures])

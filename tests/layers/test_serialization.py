"""zoo.layers serialization: get_config/from_config (every constructor argument
kept), Keras configs, and `.keras` round trips with safe_mode=True."""

import inspect
import os

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

NAMES = ["SimpleRNN", "GRU", "LSTM"]
# Constructor arguments of the zoo layers that Keras's layers do not have.
ZOO_ONLY = {"input_projection", "gradient"}
# ... and those of the gated layers only (chrono initialisation of the keep gate).
GATED_ONLY = {"chrono_init"}


def constructor_args(cls):
    return [name for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self" and p.kind is not p.VAR_KEYWORD]


@pytest.mark.parametrize("name", NAMES)
def test_same_arguments_as_keras_and_all_in_config(name):
    ours, theirs = getattr(zoo.layers, name), getattr(keras.layers, name)
    extra = ZOO_ONLY | (GATED_ONLY if name != "SimpleRNN" else set())
    assert set(constructor_args(ours)) == set(constructor_args(theirs)) | extra
    layer = ours(7, activation="relu", dropout=0.2, recurrent_dropout=0.1, seed=3,
                 return_sequences=True, go_backwards=True, kernel_regularizer="l2",
                 activity_regularizer="l1", bias_constraint="non_neg", unroll=True)
    config = layer.get_config()
    for arg in constructor_args(ours):
        assert hasattr(layer, arg), arg
        assert arg in config, arg
    assert config["zero_output_for_mask"] is False
    clone = ours.from_config(config)
    assert clone.get_config() == config
    assert clone.units == 7 and clone.go_backwards and clone.dropout == 0.2


@pytest.mark.parametrize("name", NAMES)
def test_loads_a_keras_layer_config(name):
    """A config written by keras.layers.X builds the same zoo.layers.X."""
    theirs = getattr(keras.layers, name)(5, return_sequences=True, activation="relu")
    ours = getattr(zoo.layers, name).from_config(theirs.get_config())
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    expected = np.asarray(theirs(x))
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), expected, atol=1e-6)


def test_rnn_with_cell_and_stack_config_round_trip():
    for cell in (zoo.cells.GRUCell(4, reset_after=False),
                 [zoo.cells.SimpleRNNCell(3), zoo.cells.LSTMCell(2, unit_forget_bias=False)]):
        layer = zoo.layers.RNN(cell, return_state=True, zero_output_for_mask=True)
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(layer))
        assert type(restored) is zoo.layers.RNN
        assert restored.get_config() == layer.get_config()


def model_with_every_layer():
    inp = keras.Input((None, 4))
    masked = keras.layers.Masking(0.0)(inp)
    seq = keras.layers.Bidirectional(zoo.layers.LSTM(5, return_sequences=True))(masked)
    seq = zoo.layers.GRU(4, reset_after=False, return_sequences=True, go_backwards=True)(seq)
    out1 = zoo.layers.SimpleRNN(3, activation="relu")(seq)
    out2 = zoo.layers.RNN([zoo.cells.GRUCell(3), zoo.cells.LSTMCell(2)])(masked)
    return keras.Model(inp, [out1, out2])


@pytest.mark.slow
def test_keras_file_round_trip_safe_mode(tmp_path):
    model = model_with_every_layer()
    x = np.random.default_rng(1).normal(size=(3, 6, 4)).astype("float32")
    x[1, 4:] = 0.0  # padding, masked
    expected = [np.asarray(o) for o in model(x)]
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path, safe_mode=True)
    assert [type(layer).__name__ for layer in restored.layers] == \
        [type(layer).__name__ for layer in model.layers]
    assert isinstance(restored.layers[2].forward_layer, zoo.layers.LSTM)
    for ours, theirs in zip(restored(x), expected):
        np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-6)


def _options_model():
    inp = keras.Input((None, 4))
    seq = zoo.layers.GRU(4, return_sequences=True, gradient="fused", input_projection="hoisted",
                         implementation=1, name="gru")(inp)
    seq = zoo.layers.LSTM(3, return_sequences=True, use_cudnn=False, gradient="autodiff",
                          name="lstm")(seq)
    out = zoo.layers.RNN(zoo.cells.SimpleRNNCell(2), input_projection="per_step", name="rnn")(seq)
    return keras.Model(inp, out)


# Loads each (.keras file, inputs .npy, outputs .npy) of its arguments in turn: one fresh
# process for the files of both tests below.
_LOAD_AND_REPORT = """
    import json, sys
    import keras, numpy as np, zoo
    args = sys.argv[1:] or {args!r}
    for path, x_path, out_path in zip(args[0::3], args[1::3], args[2::3]):
        model = keras.models.load_model(path, safe_mode=True)
        report = {{name: {{key: model.get_layer(name).get_config().get(key) for key in
                          ("gradient", "input_projection", "implementation", "use_cudnn")}}
                  for name in ("gru", "lstm", "rnn")}}
        np.save(out_path, np.asarray(model(np.load(x_path))))
        print(json.dumps(report, sort_keys=True))
"""


def _new_file(tmp_path):
    model = _options_model()
    x = np.random.default_rng(2).normal(size=(2, 5, 4)).astype("float32")
    expected = np.asarray(model(x))
    path = tmp_path / "options.keras"
    model.save(path)
    return path, x, expected


def _file_from_before_the_new_arguments(tmp_path):
    """A file from before `gradient`, `input_projection` and `implementation`
    were saved (their keys removed from its config, the cells' module named
    `zoo.cells` as then)."""
    import json
    import zipfile

    keras.backend.clear_session()
    model = _options_model()
    x = np.random.default_rng(3).normal(size=(2, 5, 4)).astype("float32")
    expected = np.asarray(model(x))
    new_path, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    model.save(new_path)

    def strip(node):
        if isinstance(node, dict):
            if str(node.get("registered_name") or "").endswith("Cell"):
                node["module"] = "zoo.cells"
            return {k: strip(v) for k, v in node.items()
                    if k not in ("gradient", "input_projection", "implementation")}
        return [strip(v) for v in node] if isinstance(node, list) else node

    with zipfile.ZipFile(new_path) as src, zipfile.ZipFile(old_path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "config.json":
                data = json.dumps(strip(json.loads(data))).encode()
                assert b'"gradient"' not in data and b'"implementation"' not in data
            dst.writestr(item, data)
    return old_path, x, expected


@pytest.mark.slow
def test_keras_files_with_and_without_the_new_arguments_load_in_a_fresh_process(tmp_path):
    """The new arguments survive a .keras file; a file written before them loads with
    their defaults and the same numbers. Both load in one fresh process."""
    import json

    from tests.helpers import run_python

    files = [_new_file(tmp_path), _file_from_before_the_new_arguments(tmp_path)]
    args = []
    for i, (path, x, _) in enumerate(files):
        np.save(tmp_path / f"x{i}.npy", x)
        args += [str(path), str(tmp_path / f"x{i}.npy"), str(tmp_path / f"out{i}.npy")]
    lines = run_python(_LOAD_AND_REPORT.format(args=args)).strip().splitlines()[-2:]
    new, old = [json.loads(line) for line in lines]
    assert new == {
        "gru": {"gradient": "fused", "input_projection": "hoisted", "implementation": 1,
                "use_cudnn": "auto"},
        "lstm": {"gradient": "autodiff", "input_projection": "auto", "implementation": 2,
                 "use_cudnn": False},
        "rnn": {"gradient": "auto", "input_projection": "per_step", "implementation": None,
                "use_cudnn": None},
    }
    assert {name: (r["gradient"], r["input_projection"], r["implementation"])
            for name, r in old.items()} == {
        "gru": ("auto", "auto", 2), "lstm": ("auto", "auto", 2), "rnn": ("auto", "auto", None)}
    for i, (_, _, expected) in enumerate(files):
        np.testing.assert_allclose(np.load(tmp_path / f"out{i}.npy"), expected, atol=1e-6)

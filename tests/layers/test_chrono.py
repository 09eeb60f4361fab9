"""Chrono initialisation (Tallec & Ollivier 2018) of the gated cells' biases: the keep
gate's exp(b) is U(1, T - 1), the LSTMs' input gate is its negation, every other block is
`bias_initializer`; None keeps the cells' usual bias; the argument survives configs and
`.keras` files; bad values are refused."""

import keras
import numpy as np
import pytest

import zoo

pytestmark = pytest.mark.jax

UNITS, T = 2000, 1000
# name: (cell class, extra arguments, block layout of the bias row that chrono fills)
KINDS = {
    "lstm": ("LSTMCell", {}, ["write", "keep", None, None]),
    "gru": ("GRUCell", {"reset_after": True}, ["keep", None, None]),
    "gru_v1": ("GRUCell", {"reset_after": False}, ["keep", None, None]),
    "layer_norm_lstm": ("LayerNormLSTMCell", {}, ["write", "keep", None, None]),
}
LAYERS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "LayerNormLSTMCell": "LayerNormLSTM"}


def built_bias(kind, units=UNITS, **kwargs):
    name, extra, _ = KINDS[kind]
    # Zero kernels: an orthogonal (2000, 8000) recurrent kernel would only cost time here.
    cell = getattr(zoo.cells, name)(units, kernel_initializer="zeros",
                                    recurrent_initializer="zeros", **{**extra, **kwargs})
    cell.build((None, 2))
    return np.asarray(cell.bias, np.float64)


def blocks(kind, bias):
    """The chrono row split into its blocks, and the other row (GRU reset_after) or None."""
    layout = KINDS[kind][2]
    row, other = (bias[0], bias[1]) if bias.ndim == 2 else (bias, None)
    parts = np.split(row, len(layout))
    return dict(zip(layout, parts)), [p for block, p in zip(layout, parts) if block is None], other


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_keep_gate_is_log_uniform_and_the_write_gate_its_negation(kind):
    bias = built_bias(kind, chrono_init=T, seed=4)
    named, rest, other = blocks(kind, bias)
    keep = np.exp(named["keep"])
    assert keep.min() >= 1.0 - 1e-4 and keep.max() <= (T - 1) * (1 + 1e-5)
    assert keep.min() < 1.0 + 10 and keep.max() > T - 1 - 10
    span = T - 2  # U(1, T - 1)
    assert keep.mean() == pytest.approx(1 + span / 2, abs=0.05 * span)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert np.quantile(keep, q) == pytest.approx(1 + q * span, abs=0.05 * span), q
    if "write" in named:
        np.testing.assert_array_equal(named["write"], -named["keep"])
    for block in rest:
        np.testing.assert_array_equal(block, 0.0)
    if other is not None:
        np.testing.assert_array_equal(other, 0.0)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_other_blocks_use_bias_initializer(kind):
    bias = built_bias(kind, units=6, chrono_init=50,
                      bias_initializer=keras.initializers.Constant(0.25))
    named, rest, other = blocks(kind, bias)
    assert np.all(named["keep"] >= 0.0) and named["keep"].std() > 0
    for block in rest + ([] if other is None else [other]):
        np.testing.assert_array_equal(block, 0.25)


@pytest.mark.parametrize("kind", ["lstm", "layer_norm_lstm"])
def test_unit_forget_bias_adds_nothing_with_chrono(kind):
    with_it = built_bias(kind, units=8, chrono_init=20, seed=1, unit_forget_bias=True)
    without = built_bias(kind, units=8, chrono_init=20, seed=1, unit_forget_bias=False)
    np.testing.assert_array_equal(with_it, without)


@pytest.mark.parametrize("kind", list(KINDS))
def test_none_keeps_the_usual_bias(kind):
    bias = built_bias(kind, units=3)
    if kind in ("lstm", "layer_norm_lstm"):
        np.testing.assert_array_equal(bias, [0] * 3 + [1] * 3 + [0] * 6)  # unit forget bias
    else:
        assert bias.shape == ((2, 9) if kind == "gru" else (9,))
        np.testing.assert_array_equal(bias, 0.0)
    name, extra, _ = KINDS[kind]
    assert getattr(zoo.cells, name)(3, **extra).chrono_init is None


@pytest.mark.parametrize("kind", list(KINDS))
def test_chrono_init_survives_configs_and_keras_files(kind, tmp_path):
    name, extra, _ = KINDS[kind]
    cell = getattr(zoo.cells, name)(3, chrono_init=12, **extra)
    assert type(cell).from_config(cell.get_config()).chrono_init == 12
    layer_class = getattr(zoo.layers, LAYERS[name])
    layer = layer_class(3, chrono_init=12, **extra)
    config = layer.get_config()
    assert config["chrono_init"] == 12 and layer.chrono_init == 12
    assert layer_class.from_config(config).get_config() == config
    model = keras.Sequential([keras.Input((5, 2)), layer])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.layers[0].chrono_init == 12 and loaded.layers[0].cell.chrono_init == 12
    x = np.ones((2, 5, 2), "float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)


@pytest.mark.parametrize("value", [2, 0, 1.5, True, -10, "100"])
@pytest.mark.parametrize("name", ["LSTM", "GRU", "LayerNormLSTM"])
def test_bad_values_are_refused(name, value):
    with pytest.raises(ValueError, match=r"`chrono_init` must be None or .*Received: chrono_init="):
        getattr(zoo.layers, name)(4, chrono_init=value)
    with pytest.raises(ValueError, match="chrono_init"):
        getattr(zoo.cells, f"{name}Cell")(4, chrono_init=value)


@pytest.mark.parametrize("name", ["LSTM", "GRU", "LayerNormLSTM", "MinGRU", "MinLSTM"])
def test_a_cell_without_bias_refuses_chrono_init(name):
    with pytest.raises(ValueError, match=r"the cell has none \(use_bias=False\). "
                                         r"Received: chrono_init=100, use_bias=False"):
        getattr(zoo.layers, name)(4, chrono_init=100, use_bias=False)

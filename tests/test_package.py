"""The package's public face: what `import zoo` gives and what it costs."""

import pytest

import zoo
from tests.helpers import run_python


def test_public_face():
    assert zoo.list_models() == [
        "encoder_decoder",
        "many_to_many",
        "many_to_one",
        "one_to_many",
        "one_to_one",
    ]
    assert callable(zoo.create_model)
    assert zoo.layers.LSTM is not None and zoo.cells.LSTMCell is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        zoo.nope  # noqa: B018


@pytest.mark.slow
def test_import_zoo_under_jax_does_not_import_tensorflow():
    out = run_python(
        """
        import sys
        import zoo
        import zoo.decoding
        model = zoo.create_model("many_to_one", input_dim=3, num_classes=2, units=4)
        print("tensorflow" in sys.modules, model.name)
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert out.split() == ["False", "many_to_one"]


@pytest.mark.slow
def test_layers_cells_and_models_under_jax_load_no_tensorflow():
    """`import zoo` (and its layer, cell and model packages, and the
    diagnostics) under JAX loads no TensorFlow, nor does running a layer with
    either gradient or the gradient-flow diagnostics."""
    out = run_python(
        """
        import sys
        import numpy as np
        import zoo
        import zoo.cells
        import zoo.diagnostics
        import zoo.layers
        import zoo.models
        loaded = "tensorflow" in sys.modules
        x = np.ones((2, 4, 3), "float32")
        for gradient in ("fused", "autodiff"):
            zoo.layers.GRU(3, gradient=gradient)(x, training=True)
        import keras
        model = keras.Sequential([keras.Input((4, 3)), zoo.layers.SimpleRNN(2),
                                  keras.layers.Dense(1)])
        flow = zoo.diagnostics.gradient_flow(model, x, np.ones((2, 1), "float32"), loss="mse")
        print(loaded, "tensorflow" in sys.modules, flow.shape)
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert out.split() == ["False", "False", "(1,", "4)"]


@pytest.mark.slow
def test_saved_encoder_decoder_loads_after_plain_import(tmp_path):
    model = zoo.create_model(
        "encoder_decoder", source_vocab_size=12, target_vocab_size=9, units=8, attention="luong"
    )
    path = tmp_path / "m.keras"
    model.save(path)
    out = run_python(
        f"""
        import keras, zoo
        m = keras.models.load_model({str(path)!r}, safe_mode=True)
        print(type(m).__name__, len(m.weights))
        """
    )
    assert out.split() == ["Functional", str(len(model.weights))]

"""zoo._registration: after ``import zoo``, every zoo serializable is registered
with Keras however Keras and the zoo modules get imported (fresh processes)."""

import pytest

from tests.helpers import run_python

NAMES = ["zoo>LSTMCell", "zoo>LSTM", "zoo>RNN", "zoo>SequenceLoss", "zoo>TokenAccuracy",
         "zoo>RecurrentDecoder", "zoo>BahdanauAttention", "zoo>DeepTransitionCell"]

ORDERS = {
    "keras after zoo": "import zoo\nimport keras",
    "keras first": "import keras\nimport zoo",
    "keras through zoo.layers": "import zoo\nimport zoo.layers\nimport keras",
    "keras through zoo.decoding": "import zoo\nimport zoo.decoding\nimport keras",
    "keras through zoo.losses": "import zoo\nfrom zoo import losses\nimport keras",
    "spec looked up first": "import importlib.util\nimport zoo\n"
                            "importlib.util.find_spec('keras')\nimport keras",
}


@pytest.mark.jax
@pytest.mark.parametrize("order", sorted(ORDERS))
@pytest.mark.slow
def test_every_serializable_is_registered(order):
    out = run_python(ORDERS[order] + f"""
missing = [n for n in {NAMES!r} if keras.saving.get_registered_object(n) is None]
print("missing:", missing)
""", env={"KERAS_BACKEND": "jax"})
    assert "missing: []" in out, out


@pytest.mark.jax
@pytest.mark.slow
def test_import_zoo_alone_imports_no_keras_and_a_saved_model_loads(tmp_path):
    path = tmp_path / "m.keras"
    run_python(f"""
import numpy as np, zoo
m = zoo.create_model("encoder_decoder", source_vocab_size=12, target_vocab_size=9, units=8)
m.save({str(path)!r})
""", env={"KERAS_BACKEND": "jax"})
    out = run_python(f"""
import sys
import zoo
print("keras imported by zoo:", "keras" in sys.modules)
import keras
m = keras.models.load_model({str(path)!r}, safe_mode=True)
print("loaded", type(m).__name__, len(m.weights) > 0)
""", env={"KERAS_BACKEND": "jax"})
    assert "keras imported by zoo: False" in out and "loaded Functional True" in out, out

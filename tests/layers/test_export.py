"""SavedModel export of zoo layers (TensorFlow backend only): `model.export()`
reloaded with `tf.saved_model.load` in a fresh process that never imports zoo,
serving variable batch sizes and sequence lengths; outputs within 1e-6."""

import os

import keras
import numpy as np
import pytest

import zoo
from tests.helpers import run_python

pytestmark = pytest.mark.skipif(keras.config.backend() != "tensorflow",
                                reason="SavedModel export needs the TensorFlow backend")


@pytest.mark.slow
def test_saved_model_round_trip_in_fresh_process(tmp_path):
    inp = keras.Input((None, 4))
    masked = keras.layers.Masking(0.0)(inp)
    seq = keras.layers.Bidirectional(zoo.layers.LSTM(5, return_sequences=True))(masked)
    seq = zoo.layers.GRU(4, return_sequences=True, go_backwards=True)(seq)
    out = zoo.layers.SimpleRNN(3)(seq)
    stacked = zoo.layers.RNN([zoo.cells.GRUCell(3, reset_after=False), zoo.cells.LSTMCell(2)])(
        masked)
    model = keras.Model(inp, keras.layers.Concatenate()([out, stacked]))
    export_dir = os.path.join(tmp_path, "saved")
    model.export(export_dir, verbose=False)

    rng = np.random.default_rng(0)
    cases = [rng.normal(size=shape).astype("float32") for shape in [(1, 3, 4), (5, 9, 4)]]
    cases[1][2, 6:] = 0.0  # a padded row
    for i, x in enumerate(cases):
        np.save(os.path.join(tmp_path, f"x{i}.npy"), x)
        np.save(os.path.join(tmp_path, f"y{i}.npy"), np.asarray(model(x)))

    out = run_python(f"""
        import os, sys
        import numpy as np
        import tensorflow as tf
        loaded = tf.saved_model.load({export_dir!r})
        for i in range(2):
            x = np.load(os.path.join({str(tmp_path)!r}, f"x{{i}}.npy"))
            y = np.load(os.path.join({str(tmp_path)!r}, f"y{{i}}.npy"))
            got = loaded.serve(tf.constant(x)).numpy()
            assert got.shape == y.shape, (got.shape, y.shape)
            print(x.shape, float(np.abs(got - y).max()))
        print("zoo imported:", "zoo" in sys.modules)
    """)
    lines = out.strip().splitlines()
    assert lines[-1] == "zoo imported: False"
    for line in lines[:2]:
        assert float(line.rsplit(" ", 1)[1]) <= 1e-6, line
    assert lines[0].startswith("(1, 3, 4)") and lines[1].startswith("(5, 9, 4)")

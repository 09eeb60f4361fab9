"""zoo.layers._tf_xla_context: the one workaround for TensorFlow's missing
public "am I traced for XLA?" API. These tests say when it can go: they fail
when the pinned TensorFlow changes (re-check), when TensorFlow drops the
internal symbol, or when a public API appears (then use it and delete the
module)."""

import pathlib

import keras
import pytest

pytestmark = pytest.mark.skipif(
    keras.config.backend() != "tensorflow", reason="TensorFlow-only workaround")

ZOO = pathlib.Path(__file__).resolve().parents[2] / "zoo"


def test_checked_on_the_pinned_tensorflow():
    from zoo.layers import _tf_xla_context

    assert _tf_xla_context.tf_version() in _tf_xla_context.TESTED_VERSIONS, (
        "TensorFlow changed: check whether it now has a public API for the XLA context "
        "(then remove zoo/layers/_tf_xla_context.py), else add the version to TESTED_VERSIONS")


def test_the_internal_symbol_is_still_needed_and_present():
    import tensorflow as tf

    assert callable(tf.__internal__.get_enclosing_xla_context)
    public = [f"{space}.{name}"
              for space, module in [("tf", tf), ("tf.config", tf.config),
                                    ("tf.experimental", tf.experimental),
                                    ("tf.xla.experimental", tf.xla.experimental),
                                    ("tf.config.experimental", tf.config.experimental)]
              for name in dir(module)
              if "xla_context" in name.lower() or "in_xla" in name.lower()
              or "jit_compil" in name.lower()]
    assert public == [], f"a public API may exist now ({public}): use it, drop the workaround"


def test_in_xla_context_follows_jit_compile():
    import tensorflow as tf

    from zoo.layers._tf_xla_context import in_xla_context
    from zoo.layers.loop import compiled_by_xla

    seen = []

    def probe(x):
        seen.append((in_xla_context(), compiled_by_xla()))
        return x + 1.0

    probe(1.0)
    tf.function(probe)(tf.constant(1.0))
    tf.function(probe, jit_compile=True)(tf.constant(1.0))
    inner = tf.function(probe)
    tf.function(lambda x: inner(x), jit_compile=True)(tf.constant(2.0))
    assert seen == [(False, False), (False, False), (True, True), (True, True)]


def test_no_private_tensorflow_or_keras_imports_in_the_layers():
    files = [*sorted((ZOO / "layers").glob("*.py")), ZOO / "cells.py", ZOO / "diagnostics.py"]
    for path in files:
        text = path.read_text()
        for private in ("tensorflow.python", "keras.src", "keras_tuner.src"):
            assert private not in text, f"{path.name} names {private}"

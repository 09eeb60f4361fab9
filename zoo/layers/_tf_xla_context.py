"""Workaround: whether TensorFlow is tracing for XLA (`jit_compile=True`).

TensorFlow has no public API that tells a layer whether the function being
traced will be compiled by XLA (the layer cannot see the `jit_compile` flag
of the `tf.function` or of `Model.compile` that calls it). The closest
exported symbol is `tf.__internal__.get_enclosing_xla_context()` (exported
under `tf.`, but in its internal namespace, not a documented API); it is the
XLA control-flow context that `tf.function(jit_compile=True)` installs for
its graph and the graphs nested in it. See
https://github.com/tensorflow/tensorflow/issues/63632 (the enclosing XLA
context of a `jit_compile` function, through `tf.__internal__`).

This module is the only place that reads it, and is imported only on the
TensorFlow backend. `tests/layers/test_tf_xla_context.py` says when it can
go: it fails once the pinned TensorFlow offers a public way (or drops the
internal one).
"""

import tensorflow as tf

from zoo._versions import major_minor

__all__ = ["in_xla_context", "TESTED_VERSIONS"]

# TensorFlow (major, minor) versions on which the internal symbol was checked.
TESTED_VERSIONS = ((2, 21),)


def tf_version():
    """The installed TensorFlow's ``(major, minor)``."""
    return major_minor(tf.__version__)


def in_xla_context():
    """True inside a `tf.function(jit_compile=True)` trace (or a function nested
    in one); False elsewhere, and on a TensorFlow without the internal symbol."""
    internal = getattr(tf, "__internal__", None)
    get_context = getattr(internal, "get_enclosing_xla_context", None)
    if get_context is None:  # pragma: no cover - a TensorFlow that moved it
        return False
    return get_context() is not None

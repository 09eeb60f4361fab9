"""TensorFlow-only drop-in checks of zoo.layers (no `jax` marker: JAX traces
have static shapes only, and JAX has no string tensors): the static shapes of
a `tf.function` trace on every path of the time loop, against Keras's layers,
and the error for string inputs. The backend-neutral checks are in
test_dropin.py."""

import re

import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.layers.test_dropin import (
    BATCH, FEATURES, STEPS, UNITS, _pair, _sequences, options, path_cases)


@pytest.mark.parametrize("batch", [BATCH, None])
@pytest.mark.parametrize("case", path_cases())
def test_static_shapes_inside_tf_function_match_keras(case, batch):
    zoo_kwargs, keras_kwargs = options(case)
    zoo_layer, keras_layer = _pair(case["name"], {**zoo_kwargs, "return_state": True},
                                   {**keras_kwargs, "return_state": True},
                                   return_sequences=True)
    spec = tf.TensorSpec((batch, STEPS, FEATURES), tf.float32)
    mask = np.ones((BATCH, STEPS), bool) if case["masked"] else None
    shapes = []
    for layer in (zoo_layer, keras_layer):
        layer(_sequences())  # build

        @tf.function
        def run(x, layer=layer):
            kwargs = {} if mask is None else {"mask": tf.ones(tf.shape(x)[:2], tf.bool)}
            return layer(x, training=True, **kwargs)

        outputs = run.get_concrete_function(spec).structured_outputs
        shapes.append([tuple(o.shape) for o in outputs])
    assert shapes[0] == shapes[1]
    assert shapes[0][0] == (batch, STEPS, UNITS)


def test_string_inputs_are_refused():
    layer = zoo.layers.GRU(UNITS)
    message = (f"GRU '{layer.name}' expects floating-point or integer inputs (e.g. float32; "
               "integers are cast to the layer's compute dtype). Received: inputs with dtype "
               "string")
    with pytest.raises(ValueError, match=re.escape(message)):
        layer(tf.constant([[["a", "b", "c"]]]))

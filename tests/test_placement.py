"""Tests for zoo.training.placement: strategies, the chief, seeds and precision."""

import json

import keras
import numpy as np
import pytest

from zoo.training import placement


def test_configure_seeds_and_precision():
    try:
        assert placement.configure(seed=7, mixed_precision=True) == "mixed_bfloat16"
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
        assert layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32"
    finally:
        assert placement.configure(mixed_precision=False) == "float32"
    placement.configure(seed=7)
    a = keras.layers.Dense(3, kernel_initializer="glorot_uniform")
    a.build((None, 4))
    placement.configure(seed=7)
    b = keras.layers.Dense(3, kernel_initializer="glorot_uniform")
    b.build((None, 4))
    np.testing.assert_array_equal(a.kernel.numpy(), b.kernel.numpy())
    with pytest.raises(ValueError, match="Received: seed=-1"):
        placement.configure(seed=-1)


def test_choose_strategy_rejects_unknown_kind():
    with pytest.raises(ValueError, match="Received: kind='tpu'"):
        placement.choose_strategy("tpu")
    assert placement.choose_strategy().num_replicas_in_sync == 1


def test_chief_from_tf_config(monkeypatch):
    cluster = {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": 1}}))
    assert not placement.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster,
                                                "task": {"type": "worker", "index": 0}}))
    assert placement.is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {**cluster, "chief": ["h:3"]},
                                                "task": {"type": "worker", "index": 0}}))
    assert not placement.is_chief()
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(ValueError, match="TF_CONFIG is not valid JSON"):
        placement.is_chief()


def _batch_sizes(dataset):
    return [int(x.shape[0]) for x, _ in dataset.as_numpy_iterator()]


def test_even_batches_cuts_each_batch_to_a_multiple():
    import tensorflow as tf

    x = np.arange(13 * 2, dtype="float32").reshape(13, 2)
    ds = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(4)
    two = placement.even_batches(ds, 2)
    assert _batch_sizes(two) == [4, 4, 4]  # the last batch of 1 is dropped
    three = list(placement.even_batches(ds, 3).as_numpy_iterator())
    assert [len(b[0]) for b in three] == [3, 3, 3]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in three]),
                                  x[[0, 1, 2, 4, 5, 6, 8, 9, 10]])
    np.testing.assert_array_equal(np.concatenate([b[1] for b in three])[:, 0],
                                  x[[0, 1, 2, 4, 5, 6, 8, 9, 10], 0])
    # Nested inputs (a dict of inputs, a target) keep their structure.
    nested = tf.data.Dataset.from_tensor_slices(({"a": x, "b": x[:, 0]}, x[:, 1])).batch(5)
    cut = list(placement.even_batches(nested, 2).as_numpy_iterator())
    sizes = [(len(i["a"]), len(i["b"]), len(t)) for i, t in cut]
    assert sizes == [(4, 4, 4), (4, 4, 4), (2, 2, 2)]
    # A lone component (prediction inputs) stays a lone component.
    alone = placement.even_batches(tf.data.Dataset.from_tensor_slices(x).batch(4), 2)
    assert [len(b) for b in alone.as_numpy_iterator()] == [4, 4, 4]


def test_even_batches_leaves_divisible_data_alone_and_rejects_unbatched():
    import tensorflow as tf

    x = np.zeros((12, 2), "float32")
    fixed = tf.data.Dataset.from_tensor_slices(x).batch(4, drop_remainder=True)
    assert placement.even_batches(fixed, 2) is fixed
    ragged_end = tf.data.Dataset.from_tensor_slices(x).batch(4)
    assert placement.even_batches(ragged_end, 1) is ragged_end
    assert placement.even_batches(x, 2) is x
    with pytest.raises(ValueError, match=r"needs batched data.*Received: element_spec=Tensor"):
        placement.even_batches(tf.data.Dataset.from_tensor_slices(x[:, 0]), 2)  # scalars


def test_describe_tensorflow_strategies():
    assert placement.describe(placement.choose_strategy()) == {"replicas": 1, "devices": []}
    mirrored = placement.describe(placement.choose_strategy("mirrored"))
    assert mirrored["replicas"] == len(mirrored["devices"]) >= 1
    assert all("device:" in d for d in mirrored["devices"])


def test_jax_cluster_from_environment(monkeypatch):
    monkeypatch.delenv("KERAS_DISTRIBUTION_NUM_PROCESSES", raising=False)
    assert placement._jax_cluster() == (1, 0)
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "1")
    assert placement._jax_cluster() == (2, 1)
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "2")
    with pytest.raises(ValueError, match=r"must lie in \[0, KERAS_DISTRIBUTION_NUM_PROCESSES\)\. "
                                         r"Received: KERAS_DISTRIBUTION_NUM_PROCESSES=2, "
                                         r"KERAS_DISTRIBUTION_PROCESS_ID=2"):
        placement._jax_cluster()
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "one")
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_PROCESS_ID='one'"):
        placement._jax_cluster()

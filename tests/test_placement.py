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

"""Placement and precision: where a model trains, and in which dtype.

- :func:`choose_strategy` picks where the model lives: one device; a
  ``tf.distribute.MirroredStrategy`` across all local GPUs (or across the
  logical CPUs when asked explicitly); a ``MultiWorkerMirroredStrategy`` when
  ``TF_CONFIG`` describes a cluster. On the JAX backend it sets a
  ``keras.distribution.DataParallel`` over the local devices when there are
  several, and otherwise leaves the single device alone.
- :func:`is_chief` tells whether this process writes the run folder.
- :func:`configure` seeds every random generator and switches mixed precision.

This module is TensorFlow-aware (``tf.distribute``) but imports TensorFlow
only where the TensorFlow backend needs it.
"""

import contextlib
import json
import os

import keras

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


class _SingleProcessPlacement:
    """Placement on the JAX backend (no ``tf.distribute`` there).

    ``scope()`` is a no-op; data parallelism, when several local devices
    exist, is set globally through ``keras.distribution``.
    """

    def __init__(self, num_replicas):
        self.num_replicas_in_sync = num_replicas

    def scope(self):
        return contextlib.nullcontext()


def _tf_config():
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return None
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"TF_CONFIG is not valid JSON. Received: TF_CONFIG={raw!r}") from err
    return cfg


def _cluster_size(cfg):
    if not cfg:
        return 1
    return sum(len(v) for v in cfg.get("cluster", {}).values())


def is_chief():
    """True unless ``TF_CONFIG`` names this process a non-chief worker.

    The chief is the ``chief`` task, or worker 0 when no chief is listed.
    Only the chief writes the run folder; other workers write to a scratch
    folder (their saves are still needed for the collective operations).
    """
    cfg = _tf_config()
    if not cfg or _cluster_size(cfg) <= 1:
        return True
    task = cfg.get("task", {})
    kind, index = task.get("type"), task.get("index", 0)
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in cfg.get("cluster", {})


def choose_strategy(kind="auto"):
    """Return the distribution strategy for this process.

    Args:
        kind: ``"auto"`` (multi-worker when ``TF_CONFIG`` lists more than one
            task, mirrored when several GPUs are visible, else one device),
            ``"one_device"``, ``"mirrored"`` (all local GPUs, or all logical
            CPUs when there is no GPU) or ``"multi_worker"``.

    Returns:
        On the TensorFlow backend a ``tf.distribute.Strategy``; build and
        compile the model inside its ``scope()``. On the JAX backend an object
        with ``scope()`` and ``num_replicas_in_sync``; with several local
        devices a ``keras.distribution.DataParallel`` is set globally
        (multi-process JAX is not set up here: run one process per machine).
    """
    if kind not in STRATEGIES:
        raise ValueError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: kind={kind!r}")
    if keras.backend.backend() == "jax":
        return _jax_placement(kind)
    if keras.backend.backend() != "tensorflow":
        return _SingleProcessPlacement(1)
    import tensorflow as tf

    cfg = _tf_config()
    if kind == "multi_worker" or (kind == "auto" and _cluster_size(cfg) > 1):
        # Must come before anything initialises the TensorFlow runtime
        # (listing devices included): collectives are set up at start-up.
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if kind == "mirrored":
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "auto" and len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _jax_placement(kind):
    import jax

    if kind == "multi_worker":
        raise ValueError(
            "strategy='multi_worker' needs the TensorFlow backend "
            "(set KERAS_BACKEND=tensorflow). Received: KERAS_BACKEND=jax"
        )
    devices = jax.devices()
    if kind == "one_device" or len(devices) == 1:
        return _SingleProcessPlacement(1)
    if kind == "mirrored" or (kind == "auto" and devices[0].platform != "cpu"):
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
        return _SingleProcessPlacement(len(devices))
    return _SingleProcessPlacement(1)


def configure(*, seed=None, mixed_precision=False, deterministic=False):
    """Seed every generator and set the global dtype policy.

    Call before building the model.

    Args:
        seed: int; seeds Python, NumPy and the backend
            (``keras.utils.set_random_seed``). ``None`` leaves them alone.
        mixed_precision: bool; ``"mixed_float16"`` when a GPU is visible,
            ``"mixed_bfloat16"`` on CPU (float16 matmuls are slow there);
            ``False`` restores ``"float32"``.
        deterministic: bool; also make TensorFlow ops deterministic (slower).

    Returns:
        The dtype policy name now in force.
    """
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int. Received: seed={seed!r}")
        keras.utils.set_random_seed(seed)
    policy = "float32"
    if mixed_precision:
        policy = "mixed_float16" if _has_gpu() else "mixed_bfloat16"
    keras.config.set_dtype_policy(policy)
    if deterministic and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    return policy


def _has_gpu():
    if keras.backend.backend() == "jax":
        import jax

        return any(d.platform == "gpu" for d in jax.devices())
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    return False

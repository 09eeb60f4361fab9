"""Placement and precision: where a model trains, and in which dtype.

- :func:`choose_strategy` picks where the model lives: one device; a
  ``tf.distribute.MirroredStrategy`` across all local GPUs (or across the
  logical CPUs when asked explicitly); a ``MultiWorkerMirroredStrategy`` when
  ``TF_CONFIG`` describes a cluster. On the JAX backend it sets a
  ``keras.distribution.DataParallel`` (:class:`EvenDataParallel`: batches
  are cut to a multiple of the device count) over the devices when there are
  several, joining the processes of ``KERAS_DISTRIBUTION_*`` first, and
  otherwise leaves the single device alone.
- :func:`release` lifts that distribution when training ends;
  :func:`describe` gives the replicas and devices a run records.
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


class _Placement:
    """Placement on the JAX (or another non-TensorFlow) backend: no ``tf.distribute``.

    ``scope()`` is a no-op: data parallelism, when several devices take part,
    is set globally through ``keras.distribution.set_distribution`` before
    the model is built.

    Attributes:
        num_replicas_in_sync: the devices each batch is split over (1 when
            no distribution is set).
        devices: descriptions of those devices (``str`` of each JAX device).
        distribution: the ``keras.distribution.DataParallel`` set, or None.
    """

    def __init__(self, devices=(), distribution=None):
        self.devices = [str(d) for d in devices]
        self.num_replicas_in_sync = len(self.devices) if distribution is not None else 1
        self.distribution = distribution

    def scope(self):
        return contextlib.nullcontext()


class EvenDataParallel(keras.distribution.DataParallel):
    """``keras.distribution.DataParallel`` that keeps every batch shardable.

    Keras's JAX trainer splits each batch evenly over the devices, and a
    batch whose size is not a multiple of the device count (the last, partial
    batch of an epoch, or of a length bucket) fails with JAX's
    ``IndivisibleError``. Here every ``tf.data`` batch given to ``fit``,
    ``evaluate`` or ``predict`` while this distribution is set is cut to the
    largest multiple of the device count: at most ``devices - 1`` examples of
    such a batch are left out, and a batch smaller than the device count is
    skipped. Batch sizes that are multiples of the device count lose nothing.
    :func:`zoo.training.train` lifts the distribution when training ends
    (:func:`release`), so evaluation and prediction afterwards see every
    example.

    Across several processes (``keras.distribution.initialize``) every
    process builds the same global batches (same data, same shuffling seed)
    and keeps its own consecutive slice of each: process ``i`` of ``P`` takes
    rows ``[i * n / P, (i + 1) * n / P)`` of a batch of ``n``, so that the
    global batch the devices see is the one a single process would have
    seen, and every process runs the same number of steps. (Keras's own
    multi-process sharding, ``rebatch`` then ``shard``, needs a static batch
    size and gives processes unequal step counts on a partial last batch.)

    Args:
        devices: the JAX devices to split batches over (all of them, over
            every process, when None).
    """

    def distribute_dataset(self, dataset):
        import jax

        devices, processes = self.device_mesh.devices.size, jax.process_count()
        if processes == 1:
            return even_batches(dataset, devices)
        if not self.auto_shard_dataset:  # each process reads its own data already
            return even_batches(dataset, devices // processes)
        return _process_slice(even_batches(dataset, devices), processes, jax.process_index())


def _process_slice(dataset, processes, index):
    import tensorflow as tf

    def take(*batch):
        n = tf.shape(tf.nest.flatten(batch)[0])[0] // processes
        out = tf.nest.map_structure(lambda t: t[index * n:(index + 1) * n], batch)
        return out[0] if len(out) == 1 else out

    return dataset.map(take, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def even_batches(dataset, multiple):
    """``dataset`` with each batch cut to a multiple of ``multiple`` rows.

    Args:
        dataset: a batched ``tf.data.Dataset`` (every component has the batch
            as its first axis); anything else is returned unchanged.
        multiple: int >= 1.

    Returns:
        The dataset, whose batches of ``n`` rows keep their first
        ``n - n % multiple`` rows; batches left empty are dropped.
    """
    if multiple <= 1:
        return dataset
    import tensorflow as tf

    if not isinstance(dataset, tf.data.Dataset):
        return dataset
    spec = tf.nest.flatten(dataset.element_spec)
    if not spec or not all(getattr(s, "shape", None) is not None and s.shape.rank
                           for s in spec):
        raise ValueError(
            "Data-parallel training needs batched data: every component of the "
            "dataset must have the batch as its first axis. "
            f"Received: element_spec={dataset.element_spec!r}")
    static = spec[0].shape[0]
    if static is not None and static % multiple == 0:
        return dataset

    def rows(*batch):
        return tf.shape(tf.nest.flatten(batch)[0])[0]

    def cut(*batch):
        keep = rows(*batch) // multiple * multiple
        out = tf.nest.map_structure(lambda t: t[:keep], batch)
        return out[0] if len(out) == 1 else out

    return (dataset.filter(lambda *b: rows(*b) >= multiple)
            .map(cut, num_parallel_calls=tf.data.AUTOTUNE))


def release(strategy):
    """Lift the distribution ``strategy`` set on the JAX backend, if any.

    Called when training ends: on one process the trained model then
    evaluates and predicts on every example (its variables stay where they
    are). Across several processes the distribution stays, since every
    process takes part in each step.
    """
    distribution = getattr(strategy, "distribution", None)
    if distribution is None or _process_count() > 1:
        return
    if keras.distribution.distribution() is distribution:
        keras.distribution.set_distribution(None)


def describe(strategy):
    """``{"replicas": n, "devices": [...]}`` for ``metrics.json``.

    ``replicas`` is ``strategy.num_replicas_in_sync``: on JAX the devices
    each batch is split over. ``devices`` names the devices the model runs
    on (empty for TensorFlow's default strategy, which lists none).
    """
    replicas = getattr(strategy, "num_replicas_in_sync", 1)
    devices = getattr(strategy, "devices", None)
    if devices is None:
        try:
            devices = list(strategy.extended.worker_devices)
        except (AttributeError, RuntimeError):  # the default strategy lists no devices
            devices = []
    return {"replicas": replicas, "devices": [str(d) for d in devices]}


def _process_count():
    if keras.backend.backend() != "jax":
        return 1
    import jax

    return jax.process_count()


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
    """True unless this process is a non-chief worker of a cluster.

    On TensorFlow the cluster is ``TF_CONFIG``: the chief is the ``chief``
    task, or worker 0 when no chief is listed. On JAX it is process 0
    (``KERAS_DISTRIBUTION_PROCESS_ID``, or ``jax.process_index()`` once the
    processes have joined).
    Only the chief writes the run folder; other workers write to a scratch
    folder (their saves are still needed for the collective operations).
    """
    if keras.backend.backend() == "jax":
        processes, index = _jax_cluster()
        if processes > 1:
            return index == 0
        import jax

        # A cluster joined before (keras.distribution.initialize on Cloud TPU).
        return not jax.distributed.is_initialized() or jax.process_index() == 0
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
            CPUs when there is no GPU) or ``"multi_worker"``. On JAX,
            ``"auto"`` and ``"mirrored"`` split batches over every device JAX
            lists (GPUs, TPUs, or host devices made with
            ``XLA_FLAGS=--xla_force_host_platform_device_count=N``) when there
            are several; ``"auto"`` and ``"multi_worker"`` first join the
            processes named by ``KERAS_DISTRIBUTION_NUM_PROCESSES`` (> 1)
            through ``keras.distribution.initialize``.

    Returns:
        On the TensorFlow backend a ``tf.distribute.Strategy``; build and
        compile the model inside its ``scope()``. On the JAX backend an object
        with ``scope()``, ``num_replicas_in_sync``, ``devices`` and
        ``distribution``: with several devices an :class:`EvenDataParallel`
        is set globally with ``keras.distribution.set_distribution`` (call
        this before building the model), with one device none is set.
    """
    if kind not in STRATEGIES:
        raise ValueError(f"Unknown strategy. Expected one of {STRATEGIES}. Received: kind={kind!r}")
    if keras.backend.backend() == "jax":
        return _jax_placement(kind)
    if keras.backend.backend() != "tensorflow":
        return _Placement()
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


def _jax_cluster():
    """``(num_processes, process_id)`` from the ``KERAS_DISTRIBUTION_*`` variables."""
    raw_n = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES")
    if not raw_n:
        return 1, 0
    raw_id = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID", "")
    try:
        n, index = int(raw_n), int(raw_id)
    except ValueError:
        raise ValueError(
            "KERAS_DISTRIBUTION_NUM_PROCESSES and KERAS_DISTRIBUTION_PROCESS_ID must be "
            "integers, with 0 <= process id < number of processes. Received: "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={raw_n!r}, KERAS_DISTRIBUTION_PROCESS_ID={raw_id!r}"
        ) from None
    if n < 1 or not 0 <= index < n:
        raise ValueError(
            "KERAS_DISTRIBUTION_PROCESS_ID must lie in [0, KERAS_DISTRIBUTION_NUM_PROCESSES). "
            f"Received: KERAS_DISTRIBUTION_NUM_PROCESSES={n}, KERAS_DISTRIBUTION_PROCESS_ID={index}"
        )
    return n, index


def join_cluster():
    """On JAX, join the processes named by ``KERAS_DISTRIBUTION_*`` now.

    ``keras.distribution.initialize`` must come before any JAX computation,
    and a recipe's data loading may compute (``Normalization.adapt``), so
    ``zoo.recipe.run`` calls this before it loads data. Does nothing on
    TensorFlow, on one process, or once joined.
    """
    if keras.backend.backend() != "jax" or _jax_cluster()[0] <= 1:
        return
    import jax

    if not jax.distributed.is_initialized():
        keras.distribution.initialize()


def _jax_placement(kind):
    processes, _ = _jax_cluster()
    if kind == "multi_worker" and processes <= 1:
        raise ValueError(
            "strategy='multi_worker' on the JAX backend needs the cluster in "
            "KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_NUM_PROCESSES (> 1) and "
            "KERAS_DISTRIBUTION_PROCESS_ID (see docs/distributed.md). "
            f"Received: KERAS_DISTRIBUTION_NUM_PROCESSES="
            f"{os.environ.get('KERAS_DISTRIBUTION_NUM_PROCESSES')!r}"
        )
    import jax

    if processes > 1 and kind in ("auto", "multi_worker"):
        join_cluster()  # must precede any JAX computation
    devices = jax.devices()  # every process's devices once initialized
    if kind == "one_device" or len(devices) == 1:
        return _Placement(devices[:1])
    distribution = EvenDataParallel(devices=devices)
    keras.distribution.set_distribution(distribution)
    return _Placement(devices, distribution)


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

"""Training: one loop for every recipe, its run folder, and where it runs.

- :mod:`zoo.training.trainer`: :func:`train` (explicit arguments: the
  ``build_model`` callable, the data, ``run_dir``, ``epochs``, ``patience``,
  ``monitor``...), :func:`make_optimizer`, :func:`make_callbacks`.
- :mod:`zoo.training.runs`: the run folder (layout, resume, atomic writes,
  the one writer of ``metrics.json``).
- :mod:`zoo.training.placement`: strategies (``tf.distribute``; on JAX a
  ``keras.distribution.DataParallel`` over several devices), the chief,
  seeds, precision.

Input shapes are whatever the model takes, ``(batch, timesteps, features)``
for the zoo's models; masking is the model's business.
"""

from zoo.training import placement, runs
from zoo.training.trainer import (
    ResumableEarlyStopping,
    TrainResult,
    jit_compile,
    make_callbacks,
    make_optimizer,
    resolve_mode,
    train,
)

__all__ = [
    "ResumableEarlyStopping",
    "TrainResult",
    "jit_compile",
    "make_callbacks",
    "make_optimizer",
    "placement",
    "resolve_mode",
    "runs",
    "train",
]

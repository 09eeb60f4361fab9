"""The one workaround for an upstream bug in training: keras-team/keras#20585.

https://github.com/keras-team/keras/issues/20585 -- Keras 3 ``fit`` under
``tf.distribute.MultiWorkerMirroredStrategy`` fails in two places:

- the symbolic build reduces the first distributed batch with
  ``strategy.reduce``, which cannot take a nested batch;
- the step's logs are reduced across workers with ``axis=0``, which a scalar
  does not have.

No public Keras API reaches either step, so this module (and only this one)
touches ``Model._symbolic_build`` and rebinds ``train_step``/``test_step``.
It applies only to the Keras versions known to carry the bug
(:data:`AFFECTED_BELOW`); ``tests/test_training_multi_worker.py`` runs plain
``fit`` under the strategy and fails once upstream has fixed it, which is the
signal to raise the bound or delete this module.
"""

import keras

from zoo._versions import major_minor

# Keras versions below this one carry keras-team/keras#20585 (checked up to 3.15).
AFFECTED_BELOW = (3, 16)
ISSUE = "https://github.com/keras-team/keras/issues/20585"


def affected(version=None):
    """True when the Keras ``version`` (default: the installed one) needs the workaround."""
    return major_minor(version or keras.version()) < AFFECTED_BELOW


def prepare_multi_worker(model, strategy, dataset):
    """Make ``model.fit`` work under ``MultiWorkerMirroredStrategy`` (see the module docstring).

    - Build from a batch of zeros shaped as ``dataset``'s elements (unknown
      sizes as 1), which has the shapes of a distributed one. Reading a real
      batch would read the cached pipeline partly, and a cache read partly
      can be saved truncated (see ``zoo.tuning.hypermodel``).
    - Give each logged value a leading axis of 1 (the mean over that axis
      and the workers is the same number).

    Does nothing on Keras versions without the bug.
    """
    if not affected():
        return model
    import tensorflow as tf

    def zeros(spec):
        return tf.zeros([1 if d is None else d for d in spec.shape], spec.dtype)

    def build(iterator=None, data_batch=None):
        with strategy.scope():
            model._symbolic_build(data_batch=tf.nest.map_structure(zeros, dataset.element_spec))

    def with_axis(step):
        def wrapped(data):
            return {k: tf.reshape(v, [1]) for k, v in step(data).items()}

        return wrapped

    model._maybe_symbolic_build = build
    model.train_step = with_axis(model.train_step)
    model.test_step = with_axis(model.test_step)
    return model

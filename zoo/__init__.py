"""rnn-zoo: a Keras model zoo of recurrent networks.

The public face of the package:

- ``zoo.layers``: the zoo RNN layers (``RNN``, ``SimpleRNN``, ``GRU``, ``LSTM``),
  drop-in replacements for Keras's recurrent layers, driven by the hand-written
  cells of ``zoo.cells``.
- ``zoo.create_model(name, **kwargs)`` and ``zoo.list_models(pattern="*")``:
  the model registry (one factory per RNN type).
- ``zoo.losses`` (masked per-step losses and metrics) and ``zoo.decoding``
  (greedy, sampling and beam-search generation).
- ``zoo.export``: SavedModel export and its verification (TensorFlow only; it is
  imported on first use so that the layers also run where only JAX is installed).

Importing ``zoo`` registers every zoo layer, model part and loss as a Keras
serializable, so ``keras.models.load_model(path, safe_mode=True)`` works after
``import zoo``. The attributes are imported on first use and Keras is not
imported by ``import zoo`` itself, so that light modules (``zoo.recipe``,
``zoo.cli``) stay light: when Keras is already imported the serializables are
registered at once, otherwise as soon as Keras is imported.
"""

import importlib

from zoo import _registration

__version__ = "0.1.0"

__all__ = [
    "cells",
    "layers",
    "losses",
    "models",
    "decoding",
    "create_model",
    "list_models",
    "export",
    "__version__",
]


def __getattr__(name):
    # Lazy attributes: `export` needs TensorFlow, which `import zoo` must not
    # pull in (the JAX-only machines have none); the others need Keras.
    if name in _registration.SERIALIZABLES or name in ("export", "decoding"):
        return importlib.import_module(f"zoo.{name}")
    if name in ("create_model", "list_models"):
        return getattr(importlib.import_module("zoo.models"), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


_registration.install()

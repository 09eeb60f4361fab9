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
import importlib.abc
import importlib.util
import sys

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

# Importing these registers the factories and the serializable layers/losses.
_SERIALIZABLES = ("cells", "layers", "losses", "models")


def _register():
    for name in _SERIALIZABLES:
        importlib.import_module(f"zoo.{name}")


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Registers zoo's serializables right after ``keras`` finishes importing."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            try:
                _register()
            except ImportError:
                pass  # Keras was imported by a zoo module still importing: it registers itself

        spec.loader.exec_module = exec_then_register
        return spec


def __getattr__(name):
    # Lazy attributes: `export` needs TensorFlow, which `import zoo` must not
    # pull in (the JAX-only machines have none); the others need Keras.
    if name in _SERIALIZABLES or name in ("export", "decoding"):
        return importlib.import_module(f"zoo.{name}")
    if name in ("create_model", "list_models"):
        return getattr(importlib.import_module("zoo.models"), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


if "keras" in sys.modules:
    _register()
elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKeras())

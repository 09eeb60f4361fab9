"""rnn-zoo: a Keras model zoo of recurrent networks.

The public face of the package:

- ``zoo.layers``: the zoo RNN layers (``RNN``, ``SimpleRNN``, ``GRU``, ``LSTM``),
  drop-in replacements for Keras's recurrent layers, driven by the hand-written
  cells of ``zoo.cells``.
- ``zoo.create_model(name, **kwargs)`` and ``zoo.list_models(pattern="*")``:
  the model registry (one factory per RNN type).
- ``zoo.export``: SavedModel export and its verification (TensorFlow only; it is
  imported on first use so that the layers also run where only JAX is installed).
"""

import importlib

from zoo import cells, layers

__version__ = "0.1.0"

__all__ = ["cells", "layers", "create_model", "list_models", "export", "__version__"]


def __getattr__(name):
    # Lazy attributes: `export` needs TensorFlow; the registry imports every
    # factory module. Neither is paid for by `import zoo` alone.
    if name == "export":
        return importlib.import_module("zoo.export")
    if name in ("create_model", "list_models"):
        registry = importlib.import_module("zoo.models")
        return getattr(registry, name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")

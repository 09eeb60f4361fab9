"""Registers zoo's Keras serializables once Keras is imported, without importing it.

``import zoo`` must stay light (the ``zoo`` command's ``--help`` and ``list``
load neither Keras nor TensorFlow), yet ``import zoo`` followed by
``keras.models.load_model(path)`` must find every zoo layer, loss and model
part. :func:`install` puts a finder on ``sys.meta_path`` that watches the
import of ``keras`` and of ``zoo.*`` modules: once Keras has been imported, the
serializable modules are imported as soon as no zoo module is in the middle of
importing (registering from inside one would meet it half-initialised), and
the finder removes itself. A lookup that only asks for Keras's spec
(``importlib.util.find_spec``) without importing it changes nothing.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys

# Importing these registers the factories and the serializable layers and losses.
SERIALIZABLES = ("cells", "layers", "losses", "models")


def register():
    for name in SERIALIZABLES:
        importlib.import_module(f"zoo.{name}")


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    def __init__(self):
        self.depth = 0  # zoo modules now executing through this finder
        self.pending = False  # Keras is imported, registration still owed

    def find_spec(self, name, path=None, target=None):
        if name != "keras" and not name.startswith("zoo."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            self.depth += 1
            try:
                exec_module(module)
            finally:
                self.depth -= 1
            if name == "keras":
                self.pending = True
            if self.pending and self.depth == 0 and self in sys.meta_path:
                sys.meta_path.remove(self)
                register()

        spec.loader.exec_module = exec_then_register
        return spec


def install():
    """Register now if Keras is imported, else as soon as it is (see the module doc)."""
    if "keras" in sys.modules:
        register()
    elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterKeras())

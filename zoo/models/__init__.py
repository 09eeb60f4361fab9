"""The model zoo: one registered factory per RNN type.

``create_model(name, **kwargs)`` builds a registered model, ``list_models()``
lists them, ``register_model`` adds one. Importing this package registers
``one_to_one``, ``one_to_many``, ``many_to_one``, ``many_to_many`` and
``encoder_decoder`` and the custom layers (attention, decoder, deep transition) that their
saved files need.
"""

from zoo.models import (  # noqa: F401  (imported to register the factories)
    encoder_decoder,
    many_to_many,
    many_to_one,
    one_to_many,
    one_to_one,
)
from zoo.models.attention import BahdanauAttention, LuongAttention
from zoo.models.decoder import RecurrentDecoder
from zoo.models.registry import create_model, get_model_factory, list_models, register_model
from zoo.models.transition import DeepTransitionCell

__all__ = [
    "create_model",
    "list_models",
    "register_model",
    "get_model_factory",
    "RecurrentDecoder",
    "BahdanauAttention",
    "LuongAttention",
    "DeepTransitionCell",
]

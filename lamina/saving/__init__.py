"""Saving: the ``.lamina`` archive, configs <-> objects, and weights files."""

from lamina.saving.api import load_model, load_weights, save_model, save_weights
from lamina.utils.object_registry import (
    custom_object_scope,
    get_custom_objects,
    register_serializable,
)

#: Keras's name for :func:`register_serializable` (``keras.saving.register_keras_serializable``).
register_keras_serializable = register_serializable

__all__ = ["custom_object_scope", "get_custom_objects", "load_model", "load_weights",
           "register_keras_serializable", "register_serializable", "save_model",
           "save_weights"]

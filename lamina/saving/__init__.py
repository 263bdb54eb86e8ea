"""Saving: the ``.lamina`` archive, configs <-> objects, and weights files."""

from lamina.keras_names import missing_name
from lamina.saving.api import load_model, load_weights, save_model, save_weights
from lamina.saving.keras_objects import (
    deserialize_keras_object,
    get_registered_name,
    get_registered_object,
    serialize_keras_object,
)
from lamina.utils.object_registry import (
    custom_object_scope,
    get_custom_objects,
    register_serializable,
)

#: Keras's name for :func:`register_serializable` (``keras.saving.register_keras_serializable``).
register_keras_serializable = register_serializable
#: Keras's class form of :func:`custom_object_scope` (usable as ``with``).
CustomObjectScope = custom_object_scope

__all__ = ["CustomObjectScope", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "get_registered_name", "get_registered_object", "load_model",
           "load_weights", "register_keras_serializable", "register_serializable",
           "save_model", "save_weights", "serialize_keras_object"]


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('saving', name, globals())

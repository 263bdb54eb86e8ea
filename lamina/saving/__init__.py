"""Saving: the ``.lamina`` archive, configs <-> objects, and weights files."""

from lamina.saving.api import load_model, load_weights, save_model, save_weights
from lamina.utils.object_registry import custom_object_scope, register_serializable

__all__ = ["custom_object_scope", "load_model", "load_weights", "register_serializable",
           "save_model", "save_weights"]

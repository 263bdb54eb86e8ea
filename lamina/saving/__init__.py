"""Saving: the ``.lamina`` archive, configs <-> objects, and weights files."""

from lamina.saving.api import load_model, load_weights, save_model, save_weights

__all__ = ["load_model", "load_weights", "save_model", "save_weights"]

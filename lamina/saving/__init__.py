"""Saving: configs <-> objects (and, later, the ``.lamina`` archive format)."""

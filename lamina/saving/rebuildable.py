"""What saving checks before a byte is written: a custom layer's config must rebuild it."""

from __future__ import annotations

from typing import Any

from lamina import initializers
from lamina.errors import SerializationError
from lamina.layers.layer import Layer
from lamina.layers.serialization import builtin_classes, serialize_values


def _json_problem(value: Any, path: str) -> str | None:
    """The first key path in ``value`` that JSON cannot hold, with its type."""
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if value == value and abs(value) != float("inf") else f"{path} (float {value})"
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = _json_problem(item, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} (a key of type {type(key).__name__})"
            found = _json_problem(item, f"{path}.{key}" if path else key)
            if found:
                return found
        return None
    return f"{path} ({type(value).__module__}.{type(value).__qualname__})"


def check_rebuildable(model: Layer) -> None:
    """Refuse, before anything is written, a custom layer whose config cannot rebuild it.

    For every layer of a class that is not lamina's own: its config must be JSON, must
    hold every argument its constructor was called with, and ``from_config`` must work.
    """
    builtin = set(builtin_classes().values())
    for layer in model.modules():
        if not isinstance(layer, Layer) or type(layer) in builtin:
            continue
        where = f"Layer '{layer.name}' ({type(layer).__name__})"
        config = serialize_values(layer.get_config())  # nested layers as their entries
        problem = _json_problem(config, "")
        if problem:
            raise SerializationError(
                f"{where}: get_config() holds a value JSON cannot store at {problem}. Return "
                "plain numbers, strings, lists and dicts (a layer's config, not the layer)."
            )
        missing = sorted(set(layer.constructor_config()) - set(config))
        if missing:
            raise SerializationError(
                f"{where}: its constructor was called with {missing}, which get_config() "
                f"does not return, so a loaded copy would differ. Add them to get_config(), "
                "e.g. return {**super().get_config(), " + ", ".join(
                    f"'{name}': self.{name}" for name in missing) + "}."
            )
        try:
            with initializers.skipped():
                type(layer).from_config(dict(config))
        except Exception as error:  # noqa: BLE001 - any failure: the saved file would not load
            raise SerializationError(
                f"{where}: from_config(get_config()) fails ({type(error).__name__}: {error}), "
                "so a saved file could not be loaded. Make get_config() return the "
                "constructor's arguments."
            ) from error

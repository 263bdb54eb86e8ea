"""Flatten and rebuild nested structures of lists, tuples and dicts.

Layers and models take and return tensors in any nesting of lists, tuples and dicts
(dict keys are visited in sorted order, like Keras's ``tree`` helpers), so inputs can be
turned into a flat list of leaves and outputs packed back into the caller's structure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def is_nested(value: Any) -> bool:
    """Whether ``value`` is a list, tuple or dict (a structure, not a leaf)."""
    return isinstance(value, (list, tuple, dict))


def flatten(structure: Any) -> list[Any]:
    """The leaves of ``structure`` in a fixed order.

    Example:
        >>> flatten([1, (2, 3), {"b": 5, "a": 4}])
        [1, 2, 3, 4, 5]
    """
    if not isinstance(structure, (list, tuple, dict)):
        return [structure]
    leaves: list[Any] = []
    _flatten_into(structure, leaves)
    return leaves


def _flatten_into(structure: Any, leaves: list[Any]) -> None:
    if isinstance(structure, dict):
        for key in sorted(structure):
            _flatten_into(structure[key], leaves)
    elif isinstance(structure, (list, tuple)):
        for item in structure:
            _flatten_into(item, leaves)
    else:
        leaves.append(structure)


def pack_as(structure: Any, leaves: list[Any]) -> Any:
    """Rebuild ``structure`` with its leaves replaced, in order, by ``leaves``.

    Example:
        >>> pack_as([0, (0, 0), {"b": 0, "a": 0}], [1, 2, 3, 4, 5])
        [1, (2, 3), {'a': 4, 'b': 5}]
    """
    iterator = iter(leaves)
    packed = _pack(structure, iterator)
    return packed


def _pack(structure: Any, leaves: Any) -> Any:
    if isinstance(structure, dict):
        return {key: _pack(structure[key], leaves) for key in sorted(structure)}
    if isinstance(structure, list):
        return [_pack(item, leaves) for item in structure]
    if isinstance(structure, tuple):
        items = [_pack(item, leaves) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return next(leaves)


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """Apply ``fn`` to every leaf and keep the structure.

    Example:
        >>> map_structure(lambda v: v * 10, {"a": [1, 2], "b": 3})
        {'a': [10, 20], 'b': 30}
    """
    return pack_as(structure, [fn(leaf) for leaf in flatten(structure)])

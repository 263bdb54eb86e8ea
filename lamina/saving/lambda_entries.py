"""The Lambda layers of a saved config, found without building anything: what saving lists
in ``metadata.json``'s function tiers and what ``lamina inspect`` shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lamina.layers.lambda_layer import Lambda
from lamina.utils.object_registry import find_object


def lambda_entries(tree: Any) -> Iterator[tuple[list[str], dict[str, Any]]]:
    """``(path, layer entry)`` for every Lambda anywhere in a config tree.

    Every dict is visited (models' ``layers``, wrappers' ``layer``/``backward_layer``,
    layers captured by functions, any place a custom class keeps one), so no Lambda the
    loader could build is missed. ``path`` holds the names of the layer entries on the way
    down, the tree's own first. A layer entry counts as a Lambda when its class is
    ``Lambda`` or a registered subclass of it, or when its config holds a function entry.
    Iterative: a deep tree cannot exhaust the stack.
    """
    stack: list[tuple[Any, list[str]]] = [(tree, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if "class_name" in node and isinstance(node.get("config"), dict):
                path = [*path, _entry_name(node.get("name"))]
                if is_lambda_entry(node):
                    yield path, node
            stack.extend((child, path) for child in reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend((child, path) for child in reversed(node))


def is_lambda_entry(node: dict[str, Any]) -> bool:
    """Whether a layer entry builds a Lambda (or a layer holding a function entry)."""
    class_name = node.get("class_name")
    if class_name == "Lambda":
        return True
    function = node["config"].get("function")
    if isinstance(function, dict) and "kind" in function:
        return True
    if isinstance(class_name, str):
        found = find_object(class_name)
        return isinstance(found, type) and issubclass(found, Lambda)
    return False


def _entry_name(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)

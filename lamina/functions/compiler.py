"""Compile a validated function into a namespace that holds only allowed objects.

The namespace's builtins are the allowlisted few; each captured module is a
:class:`ModuleView` exposing only its allowlisted attributes; captured values are the
objects rebuilt from the config (tensors, layers, literals, other saved functions).
Defining the function runs nothing else: the validator allows one ``def`` or ``lambda``
with literal defaults, no decorators, and annotations removed.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import math
from typing import Any

from lamina.functions import allowlist as allowed
from lamina.functions.safe import validate


class ModuleView:
    """The allowlisted part of a module, under the name it is saved as."""

    def __init__(self, module_name: str) -> None:
        module = _import_allowed(module_name)
        self.__lamina_module__ = module_name
        for attribute in allowed.MODULE_ATTRIBUTES.get(module_name, ()):
            if hasattr(module, attribute):
                setattr(self, attribute, getattr(module, attribute))
        for child in allowed.MODULES:
            if child.startswith(module_name + ".") and "." not in child[len(module_name) + 1:]:
                setattr(self, child.rsplit(".", 1)[1], ModuleView(child))
        # Intermediate packages such as ``torch.nn`` on the way to ``torch.nn.functional``.
        for child in allowed.MODULES:
            rest = child[len(module_name) + 1:] if child.startswith(module_name + ".") else ""
            if "." in rest:
                head = rest.split(".", 1)[0]
                if not hasattr(self, head):
                    setattr(self, head, _Package(f"{module_name}.{head}"))

    def __repr__(self) -> str:
        return f"<allowed part of module {self.__lamina_module__}>"


class _Package:
    """A package on the path to an allowed module (``torch.nn``): its allowed children only."""

    def __init__(self, name: str) -> None:
        for child in allowed.MODULES:
            rest = child[len(name) + 1:] if child.startswith(name + ".") else ""
            if rest and "." not in rest:
                setattr(self, rest, ModuleView(child))


def _import_allowed(name: str) -> Any:
    # Only the fixed names of the allowlist are ever imported, never one read from a file.
    if name not in allowed.MODULES:
        raise ValueError(f"module {name!r} is not in the allowlist")
    if name == "math":
        return math
    return importlib.import_module(name)


_VIEWS: dict[str, ModuleView] = {}


def module_view(name: str) -> ModuleView:
    """The (shared) view of an allowlisted module."""
    if name not in _VIEWS:
        _VIEWS[name] = ModuleView(name)
    return _VIEWS[name]


def compile_function(source: str, captured: dict[str, Any], where: str) -> Any:
    """Validate ``source`` and compile it with ``captured`` as its only globals.

    ``captured`` maps names to objects; a :class:`ModuleView` stands for a module.
    """
    kinds = {}
    for name, value in captured.items():
        if isinstance(value, ModuleView):
            kinds[name] = f"module:{value.__lamina_module__}"
        elif _is_layer(value):
            kinds[name] = "layer"
        else:
            kinds[name] = "value"
    tree = validate(source, kinds, where)
    namespace: dict[str, Any] = {
        "__builtins__": {name: getattr(builtins, name) for name in allowed.BUILTINS},
        **captured,
    }
    top = tree.body[0]
    filename = f"<lamina: {where}>"
    if isinstance(top, ast.FunctionDef):
        exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - validated above
        function = namespace[top.name]
    else:
        expression = ast.Expression(body=top.value)
        function = eval(compile(expression, filename, "eval"), namespace)  # noqa: S307
    function.__lamina_source__ = source
    return function


def _is_layer(value: Any) -> bool:
    from torch import nn

    return isinstance(value, nn.Module)

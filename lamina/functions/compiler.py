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
import warnings
from typing import Any

from lamina.functions import allowlist as allowed
from lamina.functions import bound_rewrite, bounds, load_budget
from lamina.functions.safe import UnsafeFunctionError, validate


class ModuleView:
    """The allowlisted part of a module, under the name it is saved as."""

    def __init__(self, module_name: str) -> None:
        module = _import_allowed(module_name)
        self.__lamina_module__ = module_name
        for attribute in allowed.MODULE_ATTRIBUTES.get(module_name, ()):
            if hasattr(module, attribute):
                setattr(self, attribute, getattr(module, attribute))
        if module_name == "math":
            self.prod = bounds.bounded_prod  # math.prod makes integers of any width
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


class LayerView:
    """What a loaded function sees of a captured layer: call it, read its weights.

    Nothing else: no ``.to()``, ``.double()``, ``.register_forward_hook()``..., which could
    change the model from a file's code.
    """

    __slots__ = ("_lamina_layer",)

    def __init__(self, layer: Any) -> None:
        object.__setattr__(self, "_lamina_layer", layer)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._lamina_layer(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name in allowed.LAYER_ATTRIBUTES:
            return getattr(self._lamina_layer, name)
        raise AttributeError(f"a loaded function may only call a captured layer or read its "
                             f"weights {sorted(allowed.LAYER_ATTRIBUTES)}, not '.{name}'")

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a loaded function may not change a captured layer")

    def __repr__(self) -> str:
        return f"<captured layer {getattr(self._lamina_layer, 'name', '?')}>"


def unwrap(value: Any) -> Any:
    """The layer behind a :class:`LayerView`, anything else as it is."""
    return value._lamina_layer if isinstance(value, LayerView) else value


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
    load = load_budget.current_load()
    if load is not None and isinstance(source, str):
        load.charge(load_budget.FUNCTION_UNITS + len(source) // load_budget.SOURCE_CHARS_PER_UNIT,
                    f"compiling the function of {where}")
    tree = validate(source, kinds, where)
    # No "__name__": torch.compile reads globals that have one through the module it names
    # (importlib.import_module), and no module holds these; globals without one, it reads
    # as the dict itself (torch/_dynamo/symbolic_convert.py, get_globals_source_and_value).
    namespace: dict[str, Any] = {
        "__builtins__": _builtins(),
        **{name: LayerView(value) if _is_layer(value) else value
           for name, value in captured.items()},
        **bound_rewrite.namespace_entries(where),
    }
    is_lambda = not isinstance(tree.body[0], ast.FunctionDef)
    bounded, name = bound_rewrite.bound_tree(tree, "__lamina_function__")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a SyntaxWarning is refused like a SyntaxError
            code = compile(bounded, f"<lamina: {where}>", "exec")
    except (SyntaxError, SyntaxWarning, ValueError, RecursionError, MemoryError) as error:
        raise UnsafeFunctionError(
            f"{where}: the saved function does not compile ({type(error).__name__}: {error})."
        ) from None
    exec(code, namespace)  # noqa: S102 - validated above: this only defines the function
    function = namespace[name]
    if is_lambda:
        function.__name__ = function.__qualname__ = "<lambda>"
    function.__lamina_source__ = source
    return function


def _builtins() -> dict[str, Any]:
    """The allowlisted builtins, and ``__import__``: torch's C++ code imports its own
    modules through the builtins of the running frame (a loaded function's, under fake
    tensors). The function itself cannot name it: the validator refuses names starting
    with '_', and there is no ``import`` statement, ``getattr`` or attribute with one."""
    return {"__import__": builtins.__import__,
            **{name: getattr(builtins, name) for name in allowed.BUILTINS}}


def _is_layer(value: Any) -> bool:
    from torch import nn

    return isinstance(value, nn.Module)

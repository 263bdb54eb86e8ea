"""Functions stored by name: lamina ops and ``@register_function`` user functions.

A Lambda whose function is registered is saved as its name only, and loading resolves the
name from this registry or from ``custom_objects``, never by importing a module path read
from a file. Ops applied to symbolic tensors (``x * 2``, ``ops.mean(x, axis=1)``) are saved
as the op's name plus their constant arguments in JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import ops
from lamina.errors import ArgumentError, SerializationError, UnknownFunctionError
from lamina.functions.allowlist import IMAGE_OPS, OPS
from lamina.symbolic import Slot

_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_function(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a function under ``"package>name"`` so Lambda layers using it save by name.

    Example:
        >>> @register_function("docs>double")
        ... def double(x):
        ...     return x * 2
        >>> get_registered("docs>double") is double
        True
    """
    if not isinstance(name, str) or ">" not in name:
        raise ArgumentError(
            f"register_function needs a name like 'my_package>my_function', received {name!r}."
        )

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not fn and _code(existing) != _code(fn):
            raise ArgumentError(
                f"'{name}' is already registered to {existing!r}; pick another name."
            )
        _REGISTRY[name] = fn
        fn.__lamina_registered__ = name
        return fn

    return decorate


def _code(fn: Any) -> Any:
    code = getattr(fn, "__code__", None)
    return None if code is None else (code.co_filename, code.co_firstlineno)


def get_registered(name: str, custom_objects: dict[str, Any] | None = None) -> Callable[..., Any]:
    """The function registered (or given in ``custom_objects``) under ``name``."""
    if not isinstance(name, str):
        raise UnknownFunctionError(f"A function name must be a string, received {name!r}.")
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith("ops>"):
        # Only the allowlisted ops: never set_epsilon / set_learning_phase from a file.
        op = _op_named(name[4:]) if name[4:] in OPS or name[4:] in IMAGE_OPS else None
        if op is not None and hasattr(op, "__lamina_op__"):
            return op
    raise UnknownFunctionError(
        f"No function is registered as '{name}'. Import the module that defines it with "
        f"@lamina.register_function('{name}'), or pass custom_objects={{'{name}': fn}}."
    )


def registered_name(fn: Any) -> str | None:
    """The name ``fn`` is stored under, or ``None`` if it is not registered."""
    name = getattr(fn, "__lamina_registered__", None)
    if name is not None and _REGISTRY.get(name) is fn:
        return name
    op = getattr(fn, "__lamina_op__", None)
    if op is not None:
        if _op_named(op) is fn:
            return f"ops>{op}"
    return None


def _op_named(name: str) -> Any:
    """``ops.<name>``, or ``ops.image.<name>`` for ``"image.<name>"``; ``None`` if absent."""
    namespace, _, op = name.rpartition(".")
    if namespace == "image":
        return getattr(ops.image, op, None) if op in ops.image.OPS else None
    return None if namespace else getattr(ops, op, None)


# ---------------------------------------------------------------------- JSON of constants
def encode_constant(value: Any, where: str) -> Any:
    """A JSON-safe form of an op argument (slots, slices, tuples, dtypes, literals)."""

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Slot):
        return {"__slot__": value.index}
    if isinstance(value, slice):
        return {"__slice__": [encode_constant(v, where) for v in (value.start, value.stop,
                                                                   value.step)]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, torch.dtype):
        return {"__dtype__": str(value).removeprefix("torch.")}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_constant(v, where) for v in value]}
    if isinstance(value, list):
        return [encode_constant(v, where) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: encode_constant(v, where) for k, v in value.items()}}
    raise SerializationError(
        f"{where}: the argument {value!r} of type {type(value).__name__} cannot be stored in "
        "a config. Use Python literals, tuples, slices or dtypes as op arguments."
    )


def decode_constant(value: Any) -> Any:
    """The inverse of :func:`encode_constant`."""

    if isinstance(value, list):
        return [decode_constant(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__slot__" in value:
        return Slot(int(value["__slot__"]))
    if "__slice__" in value:
        return slice(*(decode_constant(v) for v in value["__slice__"]))
    if "__ellipsis__" in value:
        return Ellipsis
    if "__dtype__" in value:
        dtype = getattr(torch, str(value["__dtype__"]), None)
        if not isinstance(dtype, torch.dtype):
            raise SerializationError(f"Unknown dtype in config: {value['__dtype__']!r}.")
        return dtype
    if "__tuple__" in value:
        return tuple(decode_constant(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {k: decode_constant(v) for k, v in value["__dict__"].items()}
    raise SerializationError(f"Unrecognised constant in config: {value!r}.")

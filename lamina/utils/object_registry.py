"""Custom classes by name: ``@register_serializable``, ``custom_objects``, and scopes.

A config names a custom class as ``"package>ClassName"`` when the class is registered, or
by its bare class name otherwise. Loading resolves a name from, in order, the
``custom_objects`` given to the call, the innermost :func:`custom_object_scope`, and the
registry; never by importing a module path read from a file.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from lamina.errors import ArgumentError, UnknownFunctionError

T = TypeVar("T")

_REGISTRY: dict[str, Any] = {}
_SCOPES: contextvars.ContextVar[tuple[dict[str, Any], ...]] = contextvars.ContextVar(
    "lamina_custom_object_scopes", default=())


def register_serializable(package: str = "Custom", name: str | None = None
                          ) -> Callable[[T], T]:
    """Register a class (a layer, model, loss, metric...) under ``"package>name"``.

    Configs then name it that way, and :func:`lamina.load_model` finds it without
    ``custom_objects``.

    Args:
        package: A namespace for the name, usually your package's. Default: ``"Custom"``.
        name: The name within the package. Default: the class's ``__name__``.

    Example:
        >>> from lamina import layers
        >>> @register_serializable(package="docs")
        ... class Doubler(layers.Layer):
        ...     def call(self, inputs):
        ...         return inputs * 2
        >>> registered_name(Doubler), get_object("docs>Doubler") is Doubler
        ('docs>Doubler', True)
    """
    if not isinstance(package, str) or not package or ">" in package:
        raise ArgumentError(
            f"register_serializable: package must be a non-empty string without '>', "
            f"received {package!r}."
        )

    def decorate(obj: T) -> T:
        key = f"{package}>{name or getattr(obj, '__name__', None)}"
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not obj and (
                getattr(existing, "__qualname__", None) != getattr(obj, "__qualname__", None)
                or getattr(existing, "__module__", None) != getattr(obj, "__module__", None)):
            raise ArgumentError(f"'{key}' is already registered to {existing!r}.")
        _REGISTRY[key] = obj
        # Set on the class itself, so a subclass does not inherit its parent's name.
        obj.__lamina_serializable__ = (key, obj)  # type: ignore[attr-defined]
        return obj

    return decorate


def get_custom_objects() -> dict[str, Any]:
    """Keras's ``get_custom_objects``: every registered object by its ``"package>name"``
    (a copy: register with :func:`register_serializable`)."""
    return dict(_REGISTRY)


def registered_name(obj: Any) -> str | None:
    """The registered name of a class, a registered function, or an instance's class."""
    if isinstance(obj, type):
        entry = obj.__dict__.get("__lamina_serializable__")
    else:
        entry = getattr(obj, "__lamina_serializable__", None)
        if entry is not None and entry[1] is not obj:  # an instance: its own class's name
            entry = type(obj).__dict__.get("__lamina_serializable__")
    return entry[0] if entry else None


@contextlib.contextmanager
def custom_object_scope(objects: dict[str, Any]) -> Iterator[None]:
    """Make ``objects`` (names to classes or functions) resolvable inside the block.

    Example:
        >>> with custom_object_scope({"MyLayer": int}):
        ...     get_object("MyLayer") is int
        True
    """
    if not isinstance(objects, dict):
        raise ArgumentError(f"custom_object_scope expects a dict, received {objects!r}.")
    token = _SCOPES.set((*_SCOPES.get(), dict(objects)))
    try:
        yield
    finally:
        _SCOPES.reset(token)


def find_object(name: str, custom_objects: dict[str, Any] | None = None) -> Any | None:
    """The object for ``name``, or ``None`` when nothing provides it."""
    if not isinstance(name, str):
        return None
    short = name.split(">", 1)[-1]
    for source in (custom_objects or {}, *reversed(_SCOPES.get())):
        for key in (name, short):
            if key in source:
                return source[key]
    return _REGISTRY.get(name)


def get_object(name: str, custom_objects: dict[str, Any] | None = None,
               kind: str = "class") -> Any:
    """Like :func:`find_object`, but an unknown name is an error saying how to provide it."""
    found = find_object(name, custom_objects)
    if found is None:
        short = str(name).split(">", 1)[-1]
        raise UnknownFunctionError(
            f"Unknown {kind} '{name}'. Provide it in one of three ways: decorate the class "
            f"with @lamina.register_serializable(...) in code you import before loading; "
            f"pass custom_objects={{'{short}': {short}}} to load_model; or load inside "
            f"`with lamina.custom_object_scope({{'{short}': {short}}}):`."
        )
    return found

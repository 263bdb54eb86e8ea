"""Keras's ``serialize_keras_object`` / ``deserialize_keras_object`` for lamina objects.

``serialize_keras_object`` gives Keras 3's dict for a layer, loss, metric, optimizer,
schedule, initializer, regularizer, constraint, registered class or function, numpy array,
and plain values. ``deserialize_keras_object`` rebuilds an object from such a dict (one
lamina or Keras wrote): classes come from lamina's own tables (by Keras's ``module`` hint,
then by name), from ``custom_objects`` or from the registry, never by importing the
module a dict names.

Example:
    >>> from lamina import regularizers
    >>> entry = serialize_keras_object(regularizers.L2(0.1))
    >>> entry["module"], entry["class_name"], entry["config"]
    ('keras.regularizers', 'L2', {'l2': 0.1})
    >>> deserialize_keras_object(entry).l2
    0.1
"""

from __future__ import annotations

import types
from typing import Any

import numpy as np
import torch

from lamina import (
    activations,
    constraints,
    initializers,
    losses,
    metrics,
    optimizer_schedules,
    optimizers,
    regularizers,
)
from lamina.errors import ArgumentError, UnknownFunctionError
from lamina.layers.layer import Layer
from lamina.layers.serialization import builtin_classes, deserialize_layer, serialize_layer
from lamina.utils.object_registry import find_object, registered_name

_MODULES: dict[str, Any] = {
    "keras.losses": losses, "keras.metrics": metrics, "keras.optimizers": optimizers,
    "keras.optimizers.schedules": optimizer_schedules, "keras.initializers": initializers,
    "keras.regularizers": regularizers, "keras.constraints": constraints,
    "keras.activations": activations,
}


def _classes(module: Any) -> dict[str, type]:
    return {name: value for name, value in vars(module).items()
            if isinstance(value, type) and not name.startswith("_")
            and value.__module__.startswith("lamina")}


def _module_of(obj: Any) -> str:
    """Keras's ``module`` for a lamina object: its namespace's Keras name."""
    if isinstance(obj, Layer):
        return "keras.layers"
    for name, module in _MODULES.items():
        if _classes(module).get(type(obj).__name__) is type(obj):
            return name
    return type(obj).__module__


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` is registered under (``"package>Name"``), else its own name."""
    return registered_name(obj) or getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: dict[str, Any] | None = None,
                          module_objects: dict[str, Any] | None = None) -> Any:
    """The object registered (or given in ``custom_objects`` / ``module_objects``) under
    ``name``, or ``None``."""
    found = find_object(name, custom_objects)
    if found is None and module_objects:
        found = module_objects.get(name)
    return found


def serialize_keras_object(obj: Any) -> Any:
    """Keras 3's serialized form of ``obj`` (JSON-safe)."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if isinstance(obj, (np.ndarray, torch.Tensor)):
        array = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else obj
        return {"class_name": "__numpy__",
                "config": {"value": array.tolist(), "dtype": str(array.dtype)}}
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, Layer):
        entry = {key: value for key, value in serialize_layer(obj).items() if key != "name"}
        return {"module": "keras.layers" if builtin_classes().get(type(obj).__name__) is
                type(obj) else type(obj).__module__, **entry,
                "registered_name": registered_name(obj)}
    if isinstance(obj, types.FunctionType) or callable(obj) and not hasattr(obj, "get_config"):
        name = registered_name(obj)
        if name is not None:
            return {"module": getattr(obj, "__module__", None), "class_name": "function",
                    "config": name, "registered_name": name}
        builtin = next((n for n in activations.names() if activations.get(n) is obj), None)
        if builtin is not None:
            return {"module": "keras.activations", "class_name": "function",
                    "config": builtin, "registered_name": None}
        for module_name, module in (("keras.losses", losses), ("keras.metrics", metrics)):
            found = next((name for name, value in vars(module).items()
                          if value is obj and not name.startswith("_")), None)
            if found is not None:  # keras.losses.mean_squared_error and the like
                return {"module": module_name, "class_name": "function", "config": found,
                        "registered_name": found}
        raise ArgumentError(
            f"serialize_keras_object: the function {getattr(obj, '__name__', obj)!r} has no "
            "name a file can store; register it with @lamina.saving."
            "register_keras_serializable().")
    if hasattr(obj, "get_config"):
        return {"module": _module_of(obj), "class_name": type(obj).__name__,
                "config": serialize_keras_object(obj.get_config()),
                "registered_name": registered_name(obj)}
    raise ArgumentError(f"serialize_keras_object: cannot serialize a "
                        f"{type(obj).__name__}; give it get_config() and register its class.")


def deserialize_keras_object(config: Any, custom_objects: dict[str, Any] | None = None,
                             safe_mode: bool = True, **kwargs: Any) -> Any:
    """The object a :func:`serialize_keras_object` dict describes (plain values as
    they are). Nothing named in ``config`` is imported."""
    if config is None or isinstance(config, (bool, int, float, str)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(item, custom_objects, safe_mode) for item in config]
    if not isinstance(config, dict):
        raise ArgumentError(f"deserialize_keras_object: expected a dict, received "
                            f"{type(config).__name__}.")
    if "class_name" not in config:
        return {key: deserialize_keras_object(value, custom_objects, safe_mode)
                for key, value in config.items()}
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "__numpy__":
        return np.asarray(inner["value"], dtype=inner["dtype"])
    if class_name == "function":
        return _function(str(inner), config, custom_objects)
    module = str(config.get("module") or "")
    if module == "keras.layers" or class_name in builtin_classes():
        return deserialize_layer({"class_name": class_name, "config": inner,
                                  "registered_name": config.get("registered_name")},
                                 custom_objects)
    cls = _find_class(class_name, module, config.get("registered_name"), custom_objects)
    if isinstance(inner, dict):
        return cls.from_config(inner)
    return cls()


def _find_class(class_name: str, module: str, registered: Any,
                custom_objects: dict[str, Any] | None) -> Any:
    for name in (registered, class_name):
        found = find_object(name, custom_objects) if isinstance(name, str) else None
        if found is not None:
            return found
    tables = ([_MODULES[module]] if module in _MODULES else []) + list(_MODULES.values())
    for table in tables:
        found = _classes(table).get(class_name)
        if found is not None:
            return found
    raise UnknownFunctionError(
        f"deserialize_keras_object: unknown class {class_name!r} (module {module!r}). "
        f"Pass custom_objects={{'{class_name}': ...}} or register the class.")


def _function(name: str, config: dict[str, Any], custom_objects: dict[str, Any] | None
              ) -> Any:
    found = find_object(name, custom_objects)
    if found is not None:
        return found
    module = str(config.get("module") or "")
    table = {"keras.metrics": metrics, "keras.losses": losses}.get(module)
    if table is not None and not name.startswith("_") and isinstance(
            getattr(table, name, None), types.FunctionType):
        return getattr(table, name)  # keras.losses.mean_squared_error, the function
    for getter in ((activations.get,) if module != "keras.losses" else ()) + (losses.get,):
        try:
            return getter(name)
        except (ValueError, TypeError):
            continue
    raise UnknownFunctionError(
        f"deserialize_keras_object: unknown function {name!r}. Pass "
        f"custom_objects={{'{name}': fn}} or register it with "
        "@lamina.saving.register_keras_serializable().")

"""A layer's config entry and back: ``{"class_name", "name", "config", "build_config"}``.

Keras's ``layers.serialize`` / ``layers.deserialize``. Custom classes are found through
``utils/object_registry.py`` (``custom_objects``, scopes, the registry), lamina's own layers
and models by name; nothing is ever imported by a module path read from a config.
"""

from __future__ import annotations

import inspect
from typing import Any

from lamina.errors import SerializationError
from lamina.functions import load_budget
from lamina.layers.layer import Layer
from lamina.utils.object_registry import find_object, get_object, registered_name

#: The packages whose public layer classes configs name by their bare class names.
BUILTIN_PACKAGES = ("lamina.layers.", "lamina.models.")


#: Keras's config names of lamina classes whose Python names differ (Keras's own class is
#: ``GroupedQueryAttention`` too, but its configs say ``GroupQueryAttention``).
RENAMED = {"GroupQueryAttention": "GroupedQueryAttention"}


def builtin_classes() -> dict[str, type]:
    """lamina's own layer and model classes by name: the public subclasses of ``Layer``
    defined in ``lamina.layers`` and ``lamina.models`` (found by walking the subclasses,
    so that this module needs nothing above it)."""
    found: dict[str, type] = {}
    stack = [Layer]
    while stack:
        cls = stack.pop()
        if cls.__module__.startswith(BUILTIN_PACKAGES) and not cls.__name__.startswith("_"):
            found.setdefault(cls.__name__, cls)
        stack.extend(cls.__subclasses__())
    return found


def class_name_of(layer: Layer) -> str:
    """How a config names a layer's class: lamina's own by their names, any other class by
    its registered ``"package>Name"`` (``"Custom>Name"`` when unregistered)."""
    cls = type(layer)
    if builtin_classes().get(cls.__name__) is cls:
        return cls.__name__
    return registered_name(cls) or f"Custom>{cls.__name__}"


def serialize_layer(layer: Layer, build_config: bool = False) -> dict[str, Any]:
    """``{"class_name", "name", "config"}`` for one layer (configs nest for models), with
    ``"build_config"`` (the layer's ``get_build_config()``, when it has one) if asked: a
    model's layers and a saved top-level layer have one; a layer another layer holds (a
    wrapper's, a Lambda's captured one) is built by its holder."""
    entry = {"class_name": class_name_of(layer), "name": layer.name,
             "config": serialize_values(layer.get_config())}
    built = layer.get_build_config() if build_config else None
    if built is not None:
        entry["build_config"] = built
    return entry


#: Keras's module names for the packages of lamina's serializable objects.
_KERAS_MODULES = {"lamina.regularizers": "keras.regularizers",
                  "lamina.initializers": "keras.initializers",
                  "lamina.constraints": "keras.constraints", "lamina.losses": "keras.losses",
                  "lamina.metrics": "keras.metrics", "lamina.optimizers": "keras.optimizers"}


def serialize_values(value: Any) -> Any:
    """``value`` (a ``get_config`` result) with the Keras objects inside it turned into
    their config dicts, as Keras's ``serialize_dict`` does: a layer a custom
    ``get_config`` returns as it is (``{"inner": self.inner}``) becomes its entry, a
    regularizer/initializer/constraint object its ``{"module", "class_name", "config"}``.
    Everything else is left as it is."""
    if isinstance(value, dict):
        return {key: serialize_values(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [serialize_values(item) for item in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Layer):
        return keras_entry(value)
    if isinstance(value, (str, int, float, bool, type(None))) or isinstance(value, type) or \
            not callable(getattr(value, "get_config", None)):
        return value
    package = ".".join(type(value).__module__.split(".")[:2])
    custom = registered_name(value)
    return {"module": _KERAS_MODULES.get(package, type(value).__module__),
            "class_name": custom or type(value).__name__,
            "config": serialize_values(value.get_config()), "registered_name": custom}


def keras_entry(layer: Layer) -> dict[str, Any]:
    """:func:`serialize_layer` with Keras 3's ``module`` and ``registered_name`` keys, for
    configs Keras must also read (a wrapper's inner layer): lamina's own layers are
    ``keras.layers`` classes of the same name there."""
    entry = serialize_layer(layer)
    if builtin_classes().get(type(layer).__name__) is type(layer):
        return {"module": "keras.layers", **entry, "registered_name": None}
    return entry


def nest_paths(layer: Layer, parent: str) -> None:
    """Put ``parent/`` before the paths of ``layer``'s weights: Keras's paths of the
    weights a wrapper creates for the layer it wraps (``bidirectional/forward_lstm/...``)."""
    for weight in layer.parameters():
        path = getattr(weight, "path", None)
        if isinstance(path, str) and not path.startswith(parent + "/"):
            weight.path = f"{parent}/{path}"


def _build_config_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """An entry's build config; files of the first release kept its parts elsewhere (a
    top-level layer's ``build_input_shape``/``build_input_dtype``, a Lambda's recorded
    spec as ``inferred``), read here as the build config they were."""
    if "build_config" in entry:
        return entry["build_config"]
    legacy: dict[str, Any] = {}
    if "build_input_shape" in entry:
        legacy["input_shape"] = entry["build_input_shape"]
        legacy["input_dtype"] = list(entry.get("build_input_dtype", []))
    if "inferred" in entry:
        legacy["inferred"] = entry["inferred"]
    return legacy or None


def layer_class(class_name: str, custom_objects: dict[str, Any] | None = None) -> type:
    """The layer class for a config's ``class_name`` (custom ones never imported by path)."""
    found = find_object(class_name, custom_objects)
    if found is None:
        found = builtin_classes().get(RENAMED.get(class_name, class_name))
    if found is None:
        found = get_object(class_name, custom_objects, kind="layer class")
    if not (isinstance(found, type) and issubclass(found, Layer)):
        raise SerializationError(
            f"'{class_name}' resolves to {found!r}, which is not a lamina layer class."
        )
    return found


def deserialize_layer(entry: dict[str, Any], custom_objects: dict[str, Any] | None = None
                      ) -> Layer:
    """A new layer from :func:`serialize_layer`'s output."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise SerializationError(
            f"A layer entry needs 'class_name' and 'config', received {entry!r}."
        )
    if not isinstance(entry.get("name", ""), str) or not isinstance(entry["class_name"], str):
        raise SerializationError(
            f"A layer entry's 'name' and 'class_name' must be strings, received "
            f"{entry.get('name')!r} and {entry['class_name']!r}.")
    load = load_budget.current_load()
    if load is not None:
        load.charge(load_budget.LAYER_UNITS, f"layer '{entry.get('name')}'")
    cls = layer_class(entry["class_name"], custom_objects)
    config = dict(entry["config"])
    if "batch_input_shape" in config and config["batch_input_shape"] is not None:
        config["batch_input_shape"] = tuple(config["batch_input_shape"])
    if "batch_shape" in config and config["batch_shape"] is not None:
        config["batch_shape"] = tuple(config["batch_shape"])
    try:
        if _takes_custom_objects(cls):
            layer = cls.from_config(config, custom_objects=custom_objects)
        else:
            layer = cls.from_config(config)
        build_config = _build_config_of(entry)
        if build_config is not None:
            if not isinstance(build_config, dict):
                raise SerializationError(f"Layer '{layer.name}': its build_config must be an "
                                         f"object, received {build_config!r}.")
            layer.build_from_config(build_config)
        return layer
    except (TypeError, ValueError) as error:
        if isinstance(error, SerializationError):
            raise
        raise SerializationError(
            f"Could not rebuild layer '{entry.get('name')}' ({entry['class_name']}) from its "
            f"config: {error}"
        ) from error


def _takes_custom_objects(cls: type) -> bool:
    return "custom_objects" in inspect.signature(cls.from_config).parameters

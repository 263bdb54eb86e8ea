"""Configs to objects and back: ``{"class_name": ..., "config": ...}`` trees.

Classes are found by name among lamina's own layers and models, then in ``custom_objects``;
never by importing a module path read from a config.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import SerializationError, UnknownFunctionError
from lamina.layers.layer import Layer
from lamina.utils import tree


def _builtin_classes() -> dict[str, type]:
    from lamina import layers, models

    found: dict[str, type] = {}
    for module in (layers, models):
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, Layer):
                found[name] = value
    return found


def serialize_layer(layer: Layer) -> dict[str, Any]:
    """``{"class_name", "name", "config"}`` for one layer (configs nest for models)."""
    return {"class_name": type(layer).__name__, "name": layer.name,
            "config": layer.get_config()}


def layer_class(class_name: str, custom_objects: dict[str, Any] | None = None) -> type:
    """The layer class for a config's ``class_name``."""
    if custom_objects and class_name in custom_objects:
        return custom_objects[class_name]
    classes = _builtin_classes()
    if class_name in classes:
        return classes[class_name]
    raise UnknownFunctionError(
        f"Unknown layer class '{class_name}'. Pass custom_objects={{'{class_name}': "
        f"{class_name}}} to rebuild it."
    )


def deserialize_layer(entry: dict[str, Any], custom_objects: dict[str, Any] | None = None
                      ) -> Layer:
    """A new layer from :func:`serialize_layer`'s output."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise SerializationError(
            f"A layer entry needs 'class_name' and 'config', received {entry!r}."
        )
    cls = layer_class(entry["class_name"], custom_objects)
    config = dict(entry["config"])
    if "batch_input_shape" in config and config["batch_input_shape"] is not None:
        config["batch_input_shape"] = tuple(config["batch_input_shape"])
    if "batch_shape" in config and config["batch_shape"] is not None:
        config["batch_shape"] = tuple(config["batch_shape"])
    try:
        if _takes_custom_objects(cls):
            return cls.from_config(config, custom_objects=custom_objects)
        return cls.from_config(config)
    except (TypeError, ValueError) as error:
        if isinstance(error, SerializationError):
            raise
        raise SerializationError(
            f"Could not rebuild layer '{entry.get('name')}' ({entry['class_name']}) from its "
            f"config: {error}"
        ) from error


def _takes_custom_objects(cls: type) -> bool:
    import inspect

    return "custom_objects" in inspect.signature(cls.from_config).parameters


def _decode(value: Any, created: dict[tuple[str, int], list[Any]]) -> Any:
    if isinstance(value, list):
        return [_decode(v, created) for v in value]
    if isinstance(value, dict):
        if "__ref__" in value:
            name, node, index = value["__ref__"]
            return created[(name, node)][index]
        if "__tuple__" in value:
            return tuple(_decode(v, created) for v in value["__tuple__"])
        if "__dict__" in value:
            return {k: _decode(v, created) for k, v in value["__dict__"].items()}
    return value


def _refs(value: Any) -> list[tuple[str, int]]:
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    if isinstance(value, dict):
        if "__ref__" in value:
            return [(value["__ref__"][0], value["__ref__"][1])]
        return [r for v in value.values() for r in _refs(v)]
    return []


def rebuild_graph(config: dict[str, Any], custom_objects: dict[str, Any] | None = None
                  ) -> tuple[Any, Any]:
    """Recreate a Functional model's layers and replay its calls; returns (inputs, outputs)."""
    from lamina.layers.input_layer import InputLayer

    layers = {}
    for entry in config["layers"]:
        layers[entry["name"]] = deserialize_layer(entry, custom_objects)
    created: dict[tuple[str, int], list[Any]] = {}
    pending = []
    for entry in config["layers"]:
        layer = layers[entry["name"]]
        if isinstance(layer, InputLayer):
            created[(layer.name, 0)] = [layer.output]
        for index, node in enumerate(entry.get("inbound_nodes", [])):
            pending.append((layer, index, node))
    while pending:
        ready = [p for p in pending if all(r in created for r in _refs(p[2]))]
        if not ready:
            waiting = sorted({p[0].name for p in pending})
            raise SerializationError(
                f"Functional config '{config.get('name')}': the calls of layers {waiting} "
                "read tensors that no layer of the config produces."
            )
        for item in ready:
            layer, index, node = item
            args = _decode(node["args"], created)
            kwargs = _decode(node.get("kwargs", {}), created)
            outputs = layer(*args, **kwargs)
            created[(layer.name, index)] = tree.flatten(outputs)
            pending.remove(item)
    def ref(value: Any) -> Any:
        return created[(value[0], value[1])][value[2]]

    return (_map_refs(config["input_layers"], ref), _map_refs(config["output_layers"], ref))


def _map_refs(structure: Any, ref: Any) -> Any:
    if isinstance(structure, dict):
        return {k: _map_refs(v, ref) for k, v in structure.items()}
    if isinstance(structure, list) and len(structure) == 3 and isinstance(structure[0], str):
        return ref(structure)
    return [_map_refs(v, ref) for v in structure]

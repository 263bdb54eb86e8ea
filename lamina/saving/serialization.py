"""Configs to objects and back: ``{"class_name": ..., "config": ...}`` trees.

Custom classes are found through ``saving/registry.py`` (``custom_objects``, scopes, the
registry), lamina's own layers and models by name; nothing is ever imported by a module
path read from a config.
"""

from __future__ import annotations

import heapq
from typing import Any

from lamina.errors import SerializationError
from lamina.functions import load_budget
from lamina.layers.layer import Layer
from lamina.saving.registry import find_object, get_object, registered_name
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


def class_name_of(layer: Layer) -> str:
    """How a config names a layer's class: lamina's own by their names, any other class by
    its registered ``"package>Name"`` (``"Custom>Name"`` when unregistered)."""
    cls = type(layer)
    if _builtin_classes().get(cls.__name__) is cls:
        return cls.__name__
    return registered_name(cls) or f"Custom>{cls.__name__}"


def serialize_layer(layer: Layer, build_config: bool = False) -> dict[str, Any]:
    """``{"class_name", "name", "config"}`` for one layer (configs nest for models), with
    ``"build_config"`` (the layer's ``get_build_config()``, when it has one) if asked: a
    model's layers and a saved top-level layer have one; a layer another layer holds (a
    wrapper's, a Lambda's captured one) is built by its holder."""
    entry = {"class_name": class_name_of(layer), "name": layer.name,
             "config": layer.get_config()}
    built = layer.get_build_config() if build_config else None
    if built is not None:
        entry["build_config"] = built
    return entry


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
        found = _builtin_classes().get(class_name)
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
    # Calls in config order as soon as the tensors they read exist (Kahn's algorithm, the
    # earliest ready call first): linear in the number of calls, whatever their order.
    calls: list[tuple[Layer, int, Any]] = []
    for entry in config["layers"]:
        layer = layers[entry["name"]]
        if isinstance(layer, InputLayer):
            created[(layer.name, 0)] = [layer.output]
        for index, node in enumerate(entry.get("inbound_nodes", [])):
            calls.append((layer, index, node))
    missing: list[int] = []
    waiting: dict[tuple[str, int], list[int]] = {}
    ready: list[int] = []
    for position, (_, _, node) in enumerate(calls):
        needed = {r for r in _refs(node) if r not in created}
        missing.append(len(needed))
        for key in needed:
            waiting.setdefault(key, []).append(position)
        if not needed:
            ready.append(position)
    heapq.heapify(ready)
    done = 0
    while ready:
        position = heapq.heappop(ready)
        layer, index, node = calls[position]
        args = _decode(node["args"], created)
        kwargs = _decode(node.get("kwargs", {}), created)
        outputs = layer(*args, **kwargs)
        key = (layer.name, index)
        created[key] = tree.flatten(outputs)
        done += 1
        for later in waiting.pop(key, ()):
            missing[later] -= 1
            if missing[later] == 0:
                heapq.heappush(ready, later)
    if done < len(calls):
        stuck = sorted({calls[p][0].name for p, left in enumerate(missing) if left})
        more = f" and {len(stuck) - 10} more" if len(stuck) > 10 else ""
        raise SerializationError(
            f"Functional config '{config.get('name')}': the calls of layers {stuck[:10]}{more} "
            "read tensors that no layer of the config produces."
        )

    def ref(value: Any) -> Any:
        return created[(value[0], value[1])][value[2]]

    return (_map_refs(config["input_layers"], ref), _map_refs(config["output_layers"], ref))


def _map_refs(structure: Any, ref: Any) -> Any:
    if isinstance(structure, dict):
        return {k: _map_refs(v, ref) for k, v in structure.items()}
    if isinstance(structure, list) and len(structure) == 3 and isinstance(structure[0], str):
        return ref(structure)
    return [_map_refs(v, ref) for v in structure]


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
    from lamina import initializers

    builtin = set(_builtin_classes().values())
    for layer in model.modules():
        if not isinstance(layer, Layer) or type(layer) in builtin:
            continue
        where = f"Layer '{layer.name}' ({type(layer).__name__})"
        config = layer.get_config()
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

"""A Functional model's graph from its config: layers rebuilt, then their calls replayed in
an order where every call's inputs exist (linear in the number of calls)."""

from __future__ import annotations

import heapq
from typing import Any

from lamina.errors import SerializationError
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer
from lamina.utils import tree


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
    layers = {}
    for entry in config["layers"]:
        layer = deserialize_layer(entry, custom_objects)
        if layer.name != entry["name"]:
            # A custom get_config without "name": the layer takes the name the graph knows
            # it by, so its weights are found under that name in a saved file.
            layer.name = entry["name"]
        layers[entry["name"]] = layer
    created: dict[tuple[str, int], list[Any]] = {}
    # Calls in config order as soon as the tensors they read exist (Kahn's algorithm, the
    # earliest ready call first): linear in the number of calls, whatever their order.
    # Tensors are keyed by the entry's name, not the rebuilt layer's: a custom layer whose
    # get_config leaves out "name" comes back with a new one (Keras keys them the same way).
    calls: list[tuple[Layer, str, int, Any]] = []
    for entry in config["layers"]:
        layer = layers[entry["name"]]
        if isinstance(layer, InputLayer):
            created[(entry["name"], 0)] = [layer.output]
        for index, node in enumerate(entry.get("inbound_nodes", [])):
            calls.append((layer, entry["name"], index, node))
    missing: list[int] = []
    waiting: dict[tuple[str, int], list[int]] = {}
    ready: list[int] = []
    for position, (_, _, _, node) in enumerate(calls):
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
        layer, entry_name, index, node = calls[position]
        args = _decode(node["args"], created)
        kwargs = _decode(node.get("kwargs", {}), created)
        outputs = layer(*args, **kwargs)
        key = (entry_name, index)
        created[key] = tree.flatten(outputs)
        done += 1
        for later in waiting.pop(key, ()):
            missing[later] -= 1
            if missing[later] == 0:
                heapq.heappush(ready, later)
    if done < len(calls):
        stuck = sorted({calls[p][1] for p, left in enumerate(missing) if left})
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

"""A lamina model's ``config.json`` in Keras 3's form (``serialize_keras_object``).

lamina's layer configs already use Keras's keys; what differs is the envelope: Keras's
entries carry ``module`` and ``registered_name`` (``keras.layers`` for the layers,
``keras.src.models.functional`` / ``Functional`` for a functional model), its
``build_config`` is ``{"input_shape": shape}``, a functional model's node arguments are
``__keras_tensor__`` placeholders (lamina writes ``__ref__``, ``__tuple__`` and
``__dict__``), objects of lamina's namespaces (``lamina.initializers``...) are Keras's
(``keras.initializers``), and a Lambda's function is Keras's ``__lambda__`` bytecode
(``keras_archive_write_lambda.py``). A class Keras does not have is refused by
``keras_weight_paths`` before this runs.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import SerializationError
from lamina.layers.function_config import loading_options
from lamina.layers.graph_nodes import topological_nodes
from lamina.layers.layer import Layer
from lamina.layers.serialization import builtin_classes, serialize_layer
from lamina.saving.keras_archive_write_lambda import keras_lambda_entry
from lamina.saving.keras_archive_write_ops import is_op_entry, keras_op_entry
from lamina.utils import tree

#: lamina's namespaces of serializable objects and Keras's module for each.
_NAMESPACES = {"lamina.initializers": "keras.initializers",
               "lamina.regularizers": "keras.regularizers",
               "lamina.constraints": "keras.constraints", "lamina.losses": "keras.losses",
               "lamina.metrics": "keras.metrics", "lamina.optimizers": "keras.optimizers",
               "lamina.optimizer_schedules": "keras.optimizers.schedules",
               "lamina.activations": "keras.activations"}
#: Keras's (module, registered_name) of its model classes.
_MODELS = {"Functional": ("keras.src.models.functional", "Functional"),
           "Sequential": ("keras", None)}


def keras_model_config(model: Layer, include_optimizer: bool = True) -> dict[str, Any]:
    """The ``config.json`` of a Keras archive of ``model``: its Keras
    ``serialize_keras_object`` dict, with ``compile_config`` when the model is compiled
    and ``include_optimizer`` is true.

    Raises:
        SerializationError: Something in the model has no Keras form (named).
    """
    with loading_options(allow_bytecode=True):  # lamina's function tiers are not used here
        entry = serialize_layer(model, build_config=True)
    converted = _layer_entry(entry, model)
    converted.pop("name", None)
    compile_config = getattr(model, "get_compile_config", None)
    if include_optimizer and callable(compile_config):
        found = compile_config()
        if found is not None:
            converted["compile_config"] = _value(found)
    return converted


def _layer_entry(entry: dict[str, Any], layer: Layer | None, in_graph: bool = False
                 ) -> dict[str, Any]:
    """Keras's entry for a layer; ``in_graph``: a layer of a functional model, which its
    calls build (Keras's ``build_config`` of a layer with several inputs differs)."""
    class_name = str(entry["class_name"])
    config = entry.get("config")
    if class_name in _MODELS:
        module, registered = _MODELS[class_name]
    elif builtin_classes().get(class_name) is not None:
        module, registered = "keras.layers", None
    else:  # a user's class, by lamina's "package>Name" or "Custom>Name"
        package, _, name = class_name.rpartition(">")
        registered = class_name if package and package != "Custom" else name
        class_name = name
        module = type(layer).__module__ if layer is not None else None
    where = f"Layer '{config.get('name') if isinstance(config, dict) else class_name}'"
    if class_name == "Lambda":
        config = _lambda_config(config, layer, where)
    elif class_name == "Functional":
        config = _functional_config(config, layer, where)
    elif class_name == "Sequential":
        config = dict(config)
        build = entry.get("build_config")
        if isinstance(build, dict) and build.get("input_shape") is not None:
            config["build_input_shape"] = _shape(build["input_shape"])
        by_name = {sub.name: sub for sub in (layer.layers if layer is not None else [])}
        config["layers"] = [_layer_entry(sub, by_name.get(sub["config"].get("name")))
                            for sub in config["layers"]]
    else:
        config = _value(config)
    out: dict[str, Any] = {"module": module, "class_name": class_name, "config": config,
                           "registered_name": registered}
    build = entry.get("build_config")
    if isinstance(build, dict) and "input_shape" in build and class_name != "Functional" \
            and not in_graph:
        out["build_config"] = {"input_shape": _shape(build["input_shape"])}
    if "name" in entry:
        out["name"] = entry["name"]
    return out


def _shape(value: Any) -> Any:
    """lamina's build shapes (``{"shape": [...]}`` leaves) as Keras's plain lists."""
    if isinstance(value, dict) and set(value) == {"shape"}:
        return value["shape"]
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_shape(item) for item in value]
    return value


def _value(value: Any) -> Any:
    """A config value with lamina's namespaces and nested layer entries made Keras's."""
    if isinstance(value, (list, tuple)):
        return [_value(item) for item in value]
    if not isinstance(value, dict):
        return value
    if "class_name" in value and "config" in value:
        module = value.get("module")
        if module is None and _is_layer_class(str(value["class_name"])):
            return _layer_entry(value, None)
        if isinstance(module, str) and module.startswith("lamina"):
            if module not in _NAMESPACES:
                raise SerializationError(
                    f"'{value['class_name']}' of {module} has no Keras equivalent, so it "
                    "cannot be written to a .keras file. Save as .lamina instead.")
            value = {**value, "module": _NAMESPACES[module]}
    return {key: _value(item) for key, item in value.items()}


def _is_layer_class(name: str) -> bool:
    return name in builtin_classes() or ">" in name


def _lambda_config(config: dict[str, Any], layer: Layer | None, where: str
                   ) -> dict[str, Any]:
    if layer is None:
        raise SerializationError(
            f"{where}: a Lambda inside a wrapper or cell cannot be written to a .keras "
            "file. Save as .lamina instead.")
    where = f"Lambda '{layer.name}'"
    if "tensor_arguments" in config:
        raise SerializationError(f"{where}: it takes tensor arguments, which a .keras "
                                 "file cannot hold. Save as .lamina instead.")
    for key in ("output_shape", "mask"):
        value = config.get(key)
        if isinstance(value, dict) and "__tuple__" not in value:
            raise SerializationError(
                f"{where}: its {key} is a function; only its main function can be "
                "written to a .keras file. Give output_shape as a shape, or save as "
                ".lamina.")
    if config.get("mask") is not None:
        raise SerializationError(f"{where}: mask={config['mask']!r} has no Keras form in "
                                 "a .keras file. Save as .lamina instead.")
    out = {key: config[key] for key in ("name", "trainable", "dtype") if key in config}
    out["function"] = keras_lambda_entry(layer.function, where)
    shape = config.get("output_shape")
    if shape is not None:
        out["output_shape"] = shape["__tuple__"] if isinstance(shape, dict) else shape
    out["arguments"] = _value(dict(layer.arguments))
    return out


def _functional_config(config: dict[str, Any], model: Layer | None, where: str
                       ) -> dict[str, Any]:
    if model is None:
        raise SerializationError(f"{where}: a functional model inside a wrapper cannot be "
                                 "written to a .keras file.")
    tensors = _node_tensors(model)
    by_name = {layer.name: layer for layer in model.layers}
    layers = []
    for entry in config["layers"]:
        if is_op_entry(entry):
            converted = keras_op_entry(entry)
            nodes = converted["inbound_nodes"]
        else:
            converted = _layer_entry(entry, by_name.get(entry["name"]), in_graph=True)
            nodes = [{"args": _call_args(entry["class_name"], node["args"]),
                      "kwargs": node["kwargs"]} for node in entry.get("inbound_nodes", [])]
        converted["inbound_nodes"] = [
            {"args": _node_value(node["args"], tensors),
             "kwargs": _node_value(node["kwargs"], tensors)} for node in nodes]
        layers.append(converted)
    return {**config, "layers": layers}


def _call_args(class_name: str, args: list[Any]) -> list[Any]:
    """A call's positional arguments as Keras records them: lamina's attention layers
    record ``attention(query, value, key)`` as one list, Keras as three arguments."""
    if class_name in _SPLIT_CALLS and len(args) == 1 and isinstance(args[0], list) \
            and len(args[0]) in (2, 3):
        return list(args[0])
    return args


_SPLIT_CALLS = ("MultiHeadAttention", "GroupedQueryAttention")


def _node_tensors(model: Any) -> dict[tuple[str, int, int], Any]:
    """Each symbolic tensor of a functional model by ``(layer name, node index, tensor
    index)``, numbering each layer's nodes in the order lamina's config does."""
    found: dict[tuple[str, int, int], Any] = {}
    for tensor in model.inputs:
        found[(tensor.node.layer.name, 0, 0)] = tensor
    counts: dict[str, int] = {}
    # The graph's nodes, each after those it reads, in the order lamina's Functional runs.
    for node in topological_nodes(tree.flatten(model.outputs), model.inputs):
        index = counts.get(node.layer.name, 0)
        counts[node.layer.name] = index + 1
        for position, tensor in enumerate(node.flat_outputs):
            found[(node.layer.name, index, position)] = tensor
    return found


def _node_value(value: Any, tensors: dict[tuple[str, int, int], Any]) -> Any:
    if isinstance(value, list):
        return [_node_value(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    if "__ref__" in value:
        name, node, index = value["__ref__"]
        tensor = tensors.get((name, node, index))
        if tensor is None:
            raise SerializationError(f"internal: no tensor {value['__ref__']} in the graph")
        return {"class_name": "__keras_tensor__", "config": {
            "shape": list(tensor.shape), "dtype": _dtype_name(tensor.dtype),
            "keras_history": [name, node, index]}}
    if "__tuple__" in value:
        return {"class_name": "__tuple__",
                "config": {"value": _node_value(value["__tuple__"], tensors)}}
    if "__dict__" in value:
        return {key: _node_value(item, tensors) for key, item in value["__dict__"].items()}
    return {key: _node_value(item, tensors) for key, item in value.items()}


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")

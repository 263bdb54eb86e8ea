"""An op applied to symbolic tensors (``x * 2.0``, ``ops.sin(x)``) as Keras 3 stores it.

lamina records such a call as a Lambda whose function is the op (``{"kind": "op"}``);
Keras records an operation node: ``{"module": "keras.src.ops.numpy", "class_name":
"Multiply", "config": {"name": ...}}`` called with the op's arguments (tensors as
``__keras_tensor__`` placeholders, numbers as they are). Ops of :data:`KERAS_OPS` called
with positional arguments only are written; any other is refused, naming the op.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import SerializationError

_NUMPY = """add subtract multiply divide true_divide floor_divide mod power negative abs
absolute square sqrt exp log log1p expm1 sin cos tan tanh sinh cosh arcsin arccos arctan
maximum minimum greater greater_equal less less_equal equal not_equal matmul sign floor ceil
reciprocal logical_and logical_or logical_not""".split()
#: lamina's op name -> Keras's (module, operation class).
KERAS_OPS: dict[str, tuple[str, str]] = {
    **{name: ("keras.src.ops.numpy", "".join(p.capitalize() for p in name.split("_")))
       for name in _NUMPY},
    "relu": ("keras.src.ops.nn", "Relu"), "sigmoid": ("keras.src.ops.nn", "Sigmoid"),
}


def is_op_entry(entry: dict[str, Any]) -> bool:
    """Whether a layer entry of lamina's config is an op call (a Lambda of an op)."""
    function = entry.get("config", {}).get("function") if entry.get(
        "class_name") == "Lambda" else None
    return isinstance(function, dict) and function.get("kind") == "op"


def keras_op_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """Keras's entry for lamina's op Lambda ``entry``, its ``inbound_nodes`` still in
    lamina's form (``__ref__``) with the op's own arguments in place of the Lambda's.

    Raises:
        SerializationError: An op Keras's files do not hold this way (named).
    """
    config = entry["config"]
    function = config["function"]
    op, name = str(function.get("op")), str(config.get("name"))
    found = KERAS_OPS.get(op)
    template = function.get("template", {}).get("__tuple__", [])
    args = template[0].get("__tuple__") if template and isinstance(template[0], dict) else None
    kwargs = template[1].get("__dict__") if len(template) > 1 and isinstance(
        template[1], dict) else None
    if found is None or args is None or kwargs:
        raise SerializationError(
            f"Op '{name}' (ops.{op}{' with keyword arguments' if kwargs else ''}) applied to "
            "symbolic tensors has no form lamina writes to a .keras file. Use a Keras layer "
            "for it (layers.Multiply, layers.Activation...), or save as .lamina.")
    count = int(function.get("count", 1))
    nodes = entry.get("inbound_nodes", [])
    converted = []
    for node in nodes:
        inputs = node["args"][0] if node.get("args") else None
        refs = [inputs] if count == 1 else inputs
        if not isinstance(refs, list) or len(refs) != count:
            raise SerializationError(f"Op '{name}': its call does not match its {count} "
                                     "inputs.")
        converted.append({"args": _fill(args, refs), "kwargs": {"__dict__": {}}})
    module, class_name = found
    return {"module": module, "class_name": class_name, "config": {"name": name},
            "registered_name": class_name, "name": entry.get("name", name),
            "inbound_nodes": converted}


def _fill(value: Any, refs: list[Any]) -> Any:
    if isinstance(value, dict) and "__slot__" in value:
        return refs[int(value["__slot__"])]
    if isinstance(value, dict) and "__tuple__" in value:
        return {"__tuple__": [_fill(item, refs) for item in value["__tuple__"]]}
    if isinstance(value, list):
        return [_fill(item, refs) for item in value]
    return value

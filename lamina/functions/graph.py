"""The graph tier: a function with no source, traced by ``torch.fx``, saved as lamina JSON.

Saving traces the function and writes each node as JSON: the op (``lamina.ops.mean``,
``torch.relu``, a tensor method, a Python operator) named from the allowlist, and its
arguments (constants, or references to earlier nodes and to captured tensors). Loading
turns the nodes back into the text of a plain ``def`` and sends that through the same
validator and compiler as the source tier: the graph tier can reach nothing the source
tier cannot.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.fx
from torch import nn

from lamina.errors import SerializationError
from lamina.functions import allowlist, registry
from lamina.functions.compiler import module_view

#: Python operators fx records as functions, and how to write them back.
_BINARY = {
    operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/",
    operator.floordiv: "//", operator.mod: "%", operator.pow: "**", operator.matmul: "@",
    operator.eq: "==", operator.ne: "!=", operator.lt: "<", operator.le: "<=",
    operator.gt: ">", operator.ge: ">=", operator.and_: "&", operator.or_: "|",
    operator.xor: "^",
}
_UNARY = {operator.neg: "-", operator.pos: "+", operator.invert: "~"}
_ALIASES = {"lamina.ops": "ops", "torch": "torch", "torch.nn.functional": "F", "math": "math"}


def _function_name(target: Any, where: str) -> str:
    if target in _BINARY:
        return f"operator.{target.__name__}"
    if target in _UNARY:
        return f"operator.{target.__name__}"
    if target is operator.getitem:
        return "operator.getitem"
    if target is getattr:
        return "getattr"
    op = getattr(target, "__lamina_op__", None)
    if op is not None and op in allowlist.OPS:
        return f"lamina.ops.{op}"
    name = getattr(target, "__name__", None)
    for module in ("torch", "torch.nn.functional", "math"):
        if name in allowlist.MODULE_ATTRIBUTES[module] and getattr(
                module_view(module), name, None) is target:
            return f"{module}.{name}"
    raise SerializationError(f"{where}: the traced function calls {target!r}, which is not "
                             "in the allowlist of loadable functions.")


def trace_to_json(fn: Any, weight_keys: dict[int, str], captured: dict[str, Any],
                  where: str) -> dict[str, Any]:
    """Trace ``fn`` (one tensor argument) and describe its graph in JSON."""
    root = nn.Module()
    for tensor in captured.values():
        key = weight_keys.get(id(tensor))
        if isinstance(tensor, nn.Parameter) and key is not None:
            root.register_parameter(key, tensor)
        elif isinstance(tensor, torch.Tensor) and key is not None:
            root.register_buffer(key, tensor)

    class Traced(nn.Module):
        def forward(self, inputs: Any) -> Any:
            return fn(inputs)

    traced = Traced()
    for key, value in list(root.named_parameters()) + list(root.named_buffers()):
        setattr(traced, key, value)
    try:
        graph = torch.fx.Tracer().trace(traced)
    except Exception as error:  # noqa: BLE001 - any tracing failure means: no graph tier
        raise SerializationError(
            f"{where}: the function has no source and cannot be traced by torch.fx ({error}). "
            "Move it into a .py file, register it with @lamina.register_function, or save "
            "with allow_bytecode=True."
        ) from error
    nodes = []
    for node in graph.nodes:
        entry: dict[str, Any] = {"op": node.op, "name": node.name}
        if node.op == "call_function":
            entry["target"] = _function_name(node.target, where)
        elif node.op == "call_method":
            if node.target not in allowlist.TENSOR_ATTRIBUTES:
                raise SerializationError(f"{where}: the traced function calls the method "
                                         f".{node.target}, which is not allowed.")
            entry["target"] = node.target
        elif node.op == "get_attr":
            entry["target"] = str(node.target)
        entry["args"] = _encode(node.args, where)
        entry["kwargs"] = _encode(dict(node.kwargs), where)
        nodes.append(entry)
    return {"kind": "graph", "nodes": nodes}


def _encode(value: Any, where: str) -> Any:
    if isinstance(value, torch.fx.Node):
        return {"__node__": value.name}
    if isinstance(value, (list, tuple)):
        encoded = [_encode(v, where) for v in value]
        return encoded if isinstance(value, list) else {"__tuple__": encoded}
    if isinstance(value, dict):
        return {"__dict__": {k: _encode(v, where) for k, v in value.items()}}
    if isinstance(value, slice):
        return {"__slice__": [_encode(v, where) for v in (value.start, value.stop, value.step)]}
    return registry.encode_constant(value, where)


def graph_to_source(entry: dict[str, Any], where: str) -> tuple[str, set[str]]:
    """The text of a ``def`` equivalent to a saved graph, and the captured names it reads."""
    names: dict[str, str] = {}
    captured: set[str] = set()
    lines = []
    parameter = None
    nodes = entry.get("nodes")
    if not isinstance(nodes, list) or len(nodes) > 10_000:
        raise SerializationError(f"{where}: a graph entry needs a list of at most 10000 nodes.")
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise SerializationError(f"{where}: graph node {index} is not an object.")
        try:
            line = _node_line(node, index, names, captured)
        except SerializationError as error:
            raise SerializationError(f"{where}: {error}") from None
        if line is None:
            continue
        lines.append(line)
        if line.startswith("    return"):
            break
        if node.get("op") == "placeholder":
            if parameter is not None:
                raise SerializationError(f"{where}: a graph must have one input.")
            parameter = "inputs"
    if parameter is None or not lines or not lines[-1].lstrip().startswith("return"):
        raise SerializationError(f"{where}: a graph needs an input and an output node.")
    return "def graph_function(inputs):\n" + "\n".join(
        line for line in lines if line != _PLACEHOLDER) + "\n", captured


_PLACEHOLDER = "<placeholder>"


def _node_line(node: dict[str, Any], index: int, names: dict[str, str],
               captured: set[str]) -> str | None:
    """One line of the generated ``def`` for a graph node (``None`` for attribute reads)."""
    op, target = node.get("op"), node.get("target")
    if op == "placeholder":
        names[str(node.get("name"))] = "inputs"
        return _PLACEHOLDER
    if op == "get_attr":
        captured.add(str(target))
        names[str(node.get("name"))] = str(target)
        return None
    args = [_render(a, names) for a in _decode_list(node.get("args", []))]
    kwargs = {str(k): _render(v, names) for k, v in _decode_dict(node.get("kwargs", {})).items()}
    if op == "output":
        return f"    return {args[0]}"
    if op == "call_method":
        method_args = ", ".join(args[1:] + [f"{k}={v}" for k, v in kwargs.items()])
        expression = f"{args[0]}.{target}({method_args})"
    elif op == "call_function":
        call_args = ", ".join(args + [f"{k}={v}" for k, v in kwargs.items()])
        expression = _render_call(str(target), args, call_args)
    else:
        raise SerializationError(f"unknown graph op {op!r}")
    local = f"v{index}"
    names[str(node.get("name"))] = local
    return f"    {local} = {expression}"


def _render_call(target: str, args: list[str], call_args: str) -> str:
    symbols = {f"operator.{f.__name__}": s for f, s in _BINARY.items()}
    unary = {f"operator.{f.__name__}": s for f, s in _UNARY.items()}
    if target in symbols and len(args) == 2:
        return f"({args[0]} {symbols[target]} {args[1]})"
    if target in unary and len(args) == 1:
        return f"({unary[target]}{args[0]})"
    if target == "operator.getitem" and len(args) == 2:
        return f"{args[0]}[{args[1]}]"
    if target == "getattr" and len(args) == 2:
        attribute = args[1].strip("'\"")
        if not attribute.isidentifier():
            raise SerializationError(f"the attribute {args[1]} is not a name")
        return f"{args[0]}.{attribute}"
    module, _, name = target.rpartition(".")
    if module not in _ALIASES:
        raise SerializationError(f"the graph calls {target!r}, outside the allowlist")
    return f"{_ALIASES[module]}.{name}({call_args})"


def _decode_list(value: Any) -> list[Any]:
    if isinstance(value, dict) and "__tuple__" in value:
        value = value["__tuple__"]
    return list(value) if isinstance(value, list) else [value]


def _decode_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and "__dict__" in value:
        return dict(value["__dict__"])
    return dict(value) if isinstance(value, dict) else {}


def _render(value: Any, names: dict[str, str]) -> str:
    if isinstance(value, dict):
        if "__node__" in value:
            name = str(value["__node__"])
            if name not in names:
                raise SerializationError(f"the graph refers to an unknown node {name!r}")
            return names[name]
        if "__tuple__" in value:
            items = [_render(v, names) for v in value["__tuple__"]]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        if "__slice__" in value:
            parts = ["" if p is None else _render(p, names) for p in value["__slice__"]]
            return ":".join(parts)
        if "__dict__" in value:
            return "{" + ", ".join(f"{k!r}: {_render(v, names)}"
                                   for k, v in value["__dict__"].items()) + "}"
        if "__ellipsis__" in value:
            return "..."
        if "__dtype__" in value:
            return f"torch.{value['__dtype__']}"
        raise SerializationError(f"unrecognised value in a graph: {value!r}")
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, names) for v in value) + "]"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    raise SerializationError(f"unrecognised value in a graph: {value!r}")


def graph_namespace() -> dict[str, Any]:
    """The module views a compiled graph function may read."""
    return {alias: module_view(module) for module, alias in _ALIASES.items()}

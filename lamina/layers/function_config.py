"""A Lambda's function as a config entry, in the first tier that fits, and back.

Tiers, tried in this order:
  * ``op``: an ops call made on symbolic tensors (``x * 2``): op name + JSON arguments.
  * ``registered``: ``@register_function`` functions and lamina ops, stored by name.
  * ``source``: the exact source of a lambda or def with what it captures: literals as
    JSON, modules by allowlisted name, tensors and Parameters as references to the
    layer's weights (their values travel with the weights), layers as nested configs,
    other functions as nested entries. Loading validates the source (``safe.py``) and
    compiles it with only those objects in reach (``compiler.py``).
  * ``graph``: no source (REPL, exec) but ``torch.fx`` traces it: the graph as JSON, loaded
    through the same validator (``graph.py``).
  * ``bytecode``: only with ``allow_bytecode=True`` at save and ``safe_mode=False`` at load
    (``bytecode.py``).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from lamina import backend, initializers, ops
from lamina.errors import SerializationError, UnsafeFunctionError
from lamina.functions import allowlist, registry
from lamina.functions.bytecode import dump_code, load_code
from lamina.functions.compiler import ModuleView, compile_function, module_view, unwrap
from lamina.functions.graph import graph_namespace, trace_to_json
from lamina.functions.plan import plan_captured, plan_function
from lamina.functions.safe import validate
from lamina.functions.source import captured_values, function_source
from lamina.layers.layer import Layer
from lamina.layers.serialization import deserialize_layer, serialize_layer
from lamina.symbolic import OpCall
from lamina.utils.shapes import standardize_dtype
from lamina.variables import Variable

_MAX_NESTING = 8
_DEFAULT_OPTIONS = {"safe_mode": True, "allow_bytecode": False}
_OPTIONS: contextvars.ContextVar[dict[str, bool] | None] = contextvars.ContextVar(
    "lamina_function_options", default=None)


def _option(name: str) -> bool:
    return (_OPTIONS.get() or _DEFAULT_OPTIONS)[name]


@contextlib.contextmanager
def loading_options(**options: bool) -> Iterator[None]:
    """Set ``safe_mode`` (loading) or ``allow_bytecode`` (saving) for the functions inside."""
    token = _OPTIONS.set({**(_OPTIONS.get() or _DEFAULT_OPTIONS), **options})
    try:
        yield
    finally:
        _OPTIONS.reset(token)


def module_names() -> dict[int, str]:
    """The modules a saved function may read, by ``id``: their names in configs."""
    return {id(ops): "lamina.ops", id(backend): "lamina.backend", id(torch): "torch",
            id(torch.nn.functional): "torch.nn.functional", id(math): "math"}


def serialize_function(fn: Any, where: str, weight_keys: dict[int, str] | None = None,
                       depth: int = 0) -> dict[str, Any]:
    """The config entry of ``fn``.

    Args:
        fn: The function.
        where: Names the layer in error messages.
        weight_keys: ``id(tensor or module) -> attribute name`` of the captured tensors
            and layers the owning Lambda tracks.
        depth: Nesting of captured functions (bounded).
    """

    if isinstance(fn, OpCall):
        return {"kind": "op", "op": fn.op.__lamina_op__, "count": fn.count,
                "template": registry.encode_constant(fn.template, where)}
    name = registry.registered_name(fn)
    if name is not None:
        return {"kind": "registered", "name": name}
    if depth >= _MAX_NESTING:
        raise SerializationError(f"{where}: functions nest deeper than {_MAX_NESTING} levels.")
    values = captured_values(fn)
    source = function_source(fn)
    if source is None:
        return _sourceless(fn, values, where, weight_keys or {}, depth)
    captured = {}
    for var, value in values.items():
        captured[var] = _serialize_captured(var, value, where, weight_keys or {}, depth)
    _check_source(source, captured, where)
    return {"kind": "source", "source": source, "captured": captured}


def _check_source(source: str, captured: dict[str, Any], where: str) -> None:
    """Refuse at save what loading would refuse, before anything is written."""
    kinds = {name: (f"module:{entry['module']}" if entry["kind"] == "module" else
                    "layer" if entry["kind"] == "layer" else "value")
             for name, entry in captured.items()}
    try:
        validate(source, kinds, where)
    except UnsafeFunctionError as error:
        raise SerializationError(
            f"{error} It would not load in safe mode, so it is not saved. Rewrite that part "
            "with lamina ops or allowlisted torch functions, register the function with "
            "@lamina.register_function('pkg>name'), or save with allow_bytecode=True."
        ) from error


def _sourceless(fn: Any, values: dict[str, Any], where: str, weight_keys: dict[int, str],
                depth: int) -> dict[str, Any]:
    """The graph tier, else (if allowed) the bytecode tier, else a clear error."""
    tensors = {var: v for var, v in values.items() if isinstance(v, torch.Tensor)}
    try:
        entry = trace_to_json(fn, weight_keys, tensors, where)
    except SerializationError as graph_error:
        if not _option("allow_bytecode") or not hasattr(fn, "__code__"):
            raise graph_error
        captured = {var: _serialize_captured(var, v, where, weight_keys, depth)
                    for var, v in values.items()}
        return {"kind": "bytecode", **dump_code(fn), "captured": captured}
    entry["captured"] = {
        weight_keys[id(v)]: _serialize_captured(var, v, where, weight_keys, depth)
        for var, v in tensors.items() if id(v) in weight_keys
    }
    return entry


def _serialize_captured(name: str, value: Any, where: str, weight_keys: dict[int, str],
                        depth: int) -> dict[str, Any]:
    modules = module_names()
    value = unwrap(value)
    if isinstance(value, ModuleView):
        return {"kind": "module", "module": value.__lamina_module__}
    if id(value) in modules:
        return {"kind": "module", "module": modules[id(value)]}
    if isinstance(value, torch.Tensor):
        key = weight_keys.get(id(value))
        if key is None:
            raise SerializationError(f"{where}: the captured tensor '{name}' is not tracked "
                                     "(track_captured=False); pass it through arguments=.")
        kind = "variable" if isinstance(value, Variable) else (
            "parameter" if isinstance(value, nn.Parameter) else "tensor")
        return {"kind": kind, "key": key, "shape": list(value.shape),
                "dtype": str(value.dtype).removeprefix("torch."),
                "trainable": bool(value.requires_grad)}
    if isinstance(value, nn.Module):
        key = weight_keys.get(id(value))
        if not isinstance(value, Layer) or key is None:
            raise SerializationError(
                f"{where}: the captured module '{name}' ({type(value).__name__}) is not a "
                "tracked lamina layer, so it cannot be saved; wrap it in a lamina layer."
            )
        return {"kind": "layer", "key": key, "layer": serialize_layer(value)}
    if callable(value) and not isinstance(value, type):
        return {"kind": "function", "function": _serialize_callable(name, value, where, depth)}
    try:
        return {"kind": "literal", "value": registry.encode_constant(value, where)}
    except SerializationError:
        raise SerializationError(
            f"{where}: the function reads '{name}', a {type(value).__name__}, which cannot be "
            "saved. Capture only literals, tensors, lamina Variables, layers, functions, and "
            "the modules lamina.ops/backend, torch, torch.nn.functional and math."
        ) from None


def _serialize_callable(name: str, value: Any, where: str, depth: int) -> dict[str, Any]:
    for module_name, attributes in allowlist.MODULE_ATTRIBUTES.items():
        attribute = getattr(value, "__name__", None)
        if attribute in attributes:
            module = module_view(module_name)
            if getattr(module, attribute, None) is value:
                return {"kind": "attribute", "module": module_name, "name": attribute}
    return serialize_function(value, f"{where} (function '{name}')", None, depth + 1)


def deserialize_function(entry: dict[str, Any], where: str,
                         custom_objects: dict[str, Any] | None = None) -> Any:
    """The function described by ``entry``: what :func:`~lamina.functions.plan.plan_function`
    says the entry runs, built (validated and compiled for the source and graph tiers)."""

    plan = plan_function(entry, where)
    if plan.tier == "op":
        return OpCall(registry.get_registered(f"ops>{plan.name}"), plan.template, plan.count)
    if plan.tier == "registered":
        return registry.get_registered(plan.name, custom_objects)
    if plan.tier == "attribute":
        view = module_view(plan.module)
        if plan.name.startswith("_") or not hasattr(view, plan.name):
            raise SerializationError(f"{where}: '{plan.code}' is not allowed.")
        return getattr(view, plan.name)
    if plan.tier == "bytecode":
        if _option("safe_mode"):  # refuse before building anything the entry describes
            return load_code(entry, {}, True, where)
    captured = {name: _deserialize_captured(value, f"{where} (captured '{name}')",
                                            custom_objects)
                for name, value in plan.captured.items()}
    if plan.tier == "bytecode":
        return load_code(entry, captured, False, where)
    if plan.tier == "graph":
        captured = {**graph_namespace(), **captured}
    return compile_function(plan.code, captured, where)


def _deserialize_captured(entry: dict[str, Any], where: str,
                          custom_objects: dict[str, Any] | None) -> Any:
    kind = plan_captured(entry, where)
    if kind == "module":
        if entry["module"] not in allowlist.MODULES:
            raise SerializationError(f"{where}: module {entry['module']!r} is not allowed.")
        return module_view(entry["module"])
    if kind in ("variable", "parameter", "tensor"):
        shape = [int(d) for d in entry["shape"]]
        dtype = standardize_dtype(str(entry["dtype"]))
        initializers.charge(tuple(shape), dtype)
        value = torch.zeros(shape, dtype=dtype)
        if kind == "variable":
            return Variable(value, trainable=bool(entry.get("trainable", True)))
        if kind == "parameter":
            return nn.Parameter(value, requires_grad=bool(entry.get("trainable", True)))
        return value
    if kind == "layer":
        return deserialize_layer(entry["layer"], custom_objects)
    if kind == "function":
        return deserialize_function(entry["function"], where, custom_objects)
    return registry.decode_constant(entry["value"])

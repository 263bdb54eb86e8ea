"""What loading a saved function entry will run, decided from the entry alone.

:func:`plan_function` is the loader's own dispatch: ``deserialize_function`` builds exactly
what the plan says, and ``lamina inspect`` prints the same plan. So the tier shown is the
tier the loader uses (never a label such as ``metadata.json``'s ``function_tiers``), the
code shown is the text the loader compiles (for a graph entry, the ``def`` generated from
its nodes), and an entry the loader refuses for its shape is refused here, by the same
check. Making a plan compiles, resolves and runs nothing.

An entry holds exactly the fields its kind uses (:data:`ENTRY_FIELDS`); any other field is
a :class:`~lamina.errors.CorruptArchiveError`. lamina never writes one, and a field the
loader ignores could only mislead a reader of the file (a ``"source"`` beside a
``registered`` name, say). Captured values are held to the same rule
(:data:`CAPTURED_FIELDS`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lamina.errors import CorruptArchiveError
from lamina.functions.graph import graph_to_source
from lamina.functions.registry import decode_constant
from lamina.symbolic import fill

#: The fields of each kind of function entry (``kind`` included).
ENTRY_FIELDS: dict[str, frozenset[str]] = {
    "op": frozenset({"kind", "op", "count", "template"}),
    "registered": frozenset({"kind", "name"}),
    "attribute": frozenset({"kind", "module", "name"}),
    "source": frozenset({"kind", "source", "captured"}),
    "graph": frozenset({"kind", "nodes", "captured"}),
    "bytecode": frozenset({"kind", "python", "name", "code", "captured"}),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "op": ("op", "count", "template"), "registered": ("name",), "attribute": ("module", "name"),
    "source": ("source",), "graph": ("nodes",), "bytecode": ("python", "code"),
}
_TENSOR_FIELDS = frozenset({"kind", "key", "shape", "dtype", "trainable"})
#: The fields of each kind of captured value (``kind`` included). A tensor's ``key`` is
#: written for people: the loading Lambda derives the weight name from the variable's.
CAPTURED_FIELDS: dict[str, frozenset[str]] = {
    "module": frozenset({"kind", "module"}),
    "variable": _TENSOR_FIELDS, "parameter": _TENSOR_FIELDS, "tensor": _TENSOR_FIELDS,
    "layer": frozenset({"kind", "key", "layer"}),
    "function": frozenset({"kind", "function"}),
    "literal": frozenset({"kind", "value"}),
}
_CAPTURED_REQUIRED: dict[str, tuple[str, ...]] = {
    "module": ("module",), "variable": ("shape", "dtype"), "parameter": ("shape", "dtype"),
    "tensor": ("shape", "dtype"), "layer": ("layer",), "function": ("function",),
    "literal": ("value",),
}


@dataclasses.dataclass(frozen=True)
class FunctionPlan:
    """What the loader builds for one function entry.

    Attributes:
        tier: The entry's kind, which the loader dispatches on: ``op``, ``registered``,
            ``attribute``, ``source``, ``graph`` or ``bytecode``.
        code: The source the loader compiles (``source``, ``graph``), or the call it makes
            (``ops.multiply(x, 2.0)``), the name it resolves (``registered``), the module
            attribute it reads (``attribute``), or what the bytecode is (never decoded).
        name: The op name, registered name or attribute name the loader looks up.
        module: The module an ``attribute`` entry reads from.
        template: An ``op`` entry's decoded arguments (``(args, kwargs)`` with input slots).
        count: How many inputs an ``op`` entry's call takes.
        captured: Captured-value entries by the name the function reads them under, each
            checked by :func:`plan_captured` as the loader rebuilds it.
    """

    tier: str
    code: str
    name: Any = None
    module: str | None = None
    template: Any = None
    count: int = 1
    captured: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def plan_function(entry: Any, where: str) -> FunctionPlan:
    """The plan of a function entry; a malformed entry is a CorruptArchiveError.

    Args:
        entry: The function entry from a config.
        where: Names the layer (and role: ``mask``, ``output_shape``) in error messages.

    Example:
        >>> plan_function({"kind": "source", "source": "lambda x: -x"}, "Lambda 'neg'").code
        'lambda x: -x'
    """
    if not isinstance(entry, dict):
        raise CorruptArchiveError(
            f"{where}: a function entry must be an object, got {_short(entry)}.")
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in ENTRY_FIELDS:
        raise CorruptArchiveError(f"{where}: unknown function entry kind {_short(kind)}.")
    _check_fields(entry, ENTRY_FIELDS[kind], _REQUIRED[kind], f"a '{kind}' function entry",
                  where)
    if kind == "op":
        return _plan_op(entry, where)
    if kind == "registered":
        name = entry["name"]
        return FunctionPlan(kind, name if isinstance(name, str) else repr(name), name=name)
    if kind == "attribute":
        module, name = str(entry["module"]), str(entry["name"])
        return FunctionPlan(kind, f"{module}.{name}", name=name, module=module)
    captured = entry.get("captured", {})
    if not isinstance(captured, dict):
        raise CorruptArchiveError(f"{where}: 'captured' must be an object.")
    if kind == "source":
        if not isinstance(entry["source"], str):
            raise CorruptArchiveError(f"{where}: a source entry's 'source' must be a string, "
                                      f"got {_short(entry['source'])}.")
        return FunctionPlan(kind, entry["source"], captured=captured)
    if kind == "graph":
        source, _ = graph_to_source(entry, where)
        return FunctionPlan(kind, source, captured=captured)
    code = entry["code"]
    size = f"{len(code)} base64 characters" if isinstance(code, str) else "not a string"
    return FunctionPlan(
        kind, f"Python {_short(entry['python'])} bytecode of {_short(entry.get('name'))} "
              f"({size}); loaded only with safe_mode=False, never decoded by inspect",
        captured=captured)


def plan_captured(entry: Any, where: str) -> str:
    """The kind of a captured-value entry, after checking its fields."""
    kind = entry.get("kind") if isinstance(entry, dict) else None
    if not isinstance(kind, str) or kind not in CAPTURED_FIELDS:
        raise CorruptArchiveError(f"{where}: unknown captured value {_short(entry)}.")
    _check_fields(entry, CAPTURED_FIELDS[kind], _CAPTURED_REQUIRED[kind],
                  f"a captured '{kind}' entry", where)
    return kind


def _check_fields(entry: dict[str, Any], allowed: frozenset[str], required: tuple[str, ...],
                  what: str, where: str) -> None:
    extra = sorted(str(key) for key in entry if key not in allowed)
    if extra:
        raise CorruptArchiveError(
            f"{where}: {what} holds {extra}, which that kind does not use (lamina never "
            f"writes them; the file was edited). It may hold only {sorted(allowed)}.")
    missing = [field for field in required if field not in entry]
    if missing:
        raise CorruptArchiveError(f"{where}: {what} lacks {missing}.")


def _plan_op(entry: dict[str, Any], where: str) -> FunctionPlan:
    name, count = entry["op"], entry["count"]
    if not isinstance(name, str):
        raise CorruptArchiveError(f"{where}: an op entry's 'op' must be a name, got "
                                  f"{_short(name)}.")
    if type(count) is not int or count < 1:
        raise CorruptArchiveError(f"{where}: an op entry's 'count' must be a positive "
                                  f"integer, got {_short(count)}.")
    template = decode_constant(entry["template"])
    return FunctionPlan("op", _op_call_text(name, template, count), name=name,
                        template=template, count=count)


class _Input:
    def __init__(self, text: str) -> None:
        self.text = text


def _op_call_text(name: str, template: Any, count: int) -> str:
    """``ops.name(x, 2.0)``: the call an op entry makes, its inputs named ``x``/``x[i]``."""

    inputs = [_Input("x")] if count == 1 else [_Input(f"x[{i}]") for i in range(count)]
    try:
        args, kwargs = fill(template, inputs)
        parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
    except (TypeError, ValueError, IndexError, AttributeError):
        return f"ops.{name} with the arguments {template!r} (not an (args, kwargs) pair: " \
               "calling it fails)"
    return f"ops.{name}({', '.join(parts)})"


def _show(value: Any) -> str:
    if isinstance(value, _Input):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, slice):
        return ":".join("" if p is None else _show(p) for p in (value.start, value.stop,
                                                                 value.step))
    return "..." if value is Ellipsis else repr(value)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------------- config trees

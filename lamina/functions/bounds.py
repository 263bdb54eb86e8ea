"""Bounds that hold while a function compiled from a file runs, and the budget of a load.

The validator (``safe.py``) bounds what it can see in a function's text: ``range(10 ** 12)``
and ``'ab' * 10 ** 9`` are refused there. Values computed at run time escape any check of
the text (``range(abs(10 ** 9))``, ``9 ** int(10 ** 8)``, ``s * (n * 50000)``, three nested
loops over ``range(10000)``), so the compiler (``compiler.py``) also rewrites every
function it compiles from a file (:func:`bound_tree`): each call gets its own
:class:`Budget`, and every operation that can grow without bound goes through it.

* ``range(...)`` makes at most :data:`MAX_SEQUENCE` items.
* Every ``for`` loop and comprehension, and every iterable consumed by ``list``, ``tuple``,
  ``dict``, ``sum``, ``min``, ``max``, ``sorted``, ``all`` or ``any``, charges one unit per
  item; a call may spend :data:`MAX_ITERATIONS` units (:data:`LOAD_ITERATIONS` while a
  file is being loaded, when functions run only on fake tensors to infer shapes).
* ``*`` and ``+`` on lists, tuples and strings make at most :data:`MAX_SEQUENCE` items and
  charge the items they make; ``%`` on a string (formatting, whose width is unbounded) is
  refused.
* ``**``, ``<<`` and ``*`` on Python integers refuse results wider than :data:`MAX_INT_BITS`.

A function that exceeds a bound raises :class:`~lamina.errors.LimitExceededError` (a
``LoadError``) naming its layer. Tensors pass through each check untouched (one ``type``
test), and functions the user wrote in their own process are never rewritten.

Loading a file (:func:`loading_file`) has a budget of its own: at most :data:`MAX_LAYERS`
layers (and no more than the config's size makes plausible), config nesting of at most
:data:`MAX_CONFIG_DEPTH`, and :data:`LOAD_UNITS` units of work for rebuilding layers,
compiling functions and inferring shapes on fake tensors (:class:`LoadBudget`). While a
file loads, shapes are never inferred on real tensors.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import contextvars
import re
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from lamina.errors import LimitExceededError, UnsafeFunctionError
from lamina.functions.allowlist import TENSOR_ONLY_METHODS

#: Units (loop iterations, items consumed or made) one call of a loaded function may spend.
MAX_ITERATIONS = 100_000
#: The same while its file is being loaded (shape inference on fake tensors), and the
#: units all functions together may spend while one file loads.
LOAD_ITERATIONS = 10_000
LOAD_ITERATIONS_PER_FILE = 200_000
#: Most items (or characters) in one list, tuple, string or range a loaded function makes.
MAX_SEQUENCE = 10_000
#: Widest Python integer a loaded function may compute.
MAX_INT_BITS = 4096
#: Most layers (at any depth) one file may describe.
MAX_LAYERS = 10_000
#: Fewest bytes of config.json per layer: a file may not describe more layers than this
#: allows (a real layer entry takes at least this much).
MIN_BYTES_PER_LAYER = 40
#: The work one load may do, in units of about 50 microseconds (see :class:`LoadBudget`):
#: about a second and a half on a 2-core machine, whatever the file holds.
LOAD_UNITS = 25_000
#: Units charged for each layer entry, for each shape inference (making fake tensors),
#: and for each tensor operation inference runs; a compiled function costs
#: ``FUNCTION_UNITS`` plus one unit per ``SOURCE_CHARS_PER_UNIT`` characters of source.
LAYER_UNITS = 3
INFERENCE_UNITS = 6
OPERATION_UNITS = 2
FUNCTION_UNITS = 6
SOURCE_CHARS_PER_UNIT = 3
#: Deepest nesting of config.json (a model nested in a model adds about six levels).
MAX_CONFIG_DEPTH = 100

#: Names the rewriting adds to a compiled function; nothing a file writes may use them.
RESERVED_PREFIX = "__lamina_"
_BUDGET = "__lamina_budget__"  # the per-call Budget, a local of the rewritten function
_NEW_BUDGET = "__lamina_new_budget__"  # the global that makes one
_SLICE = "__lamina_slice__"  # the builtin slice, for slices the rewrite passes to the budget

_SEQUENCES = frozenset({list, tuple, str})
_INTEGERS = frozenset({int, bool})
_NUMBERS = frozenset({int, bool, float, complex})
#: Builtins whose first argument is an iterable they consume whole.
_CONSUMERS = frozenset({"list", "tuple", "dict", "sorted", "all", "any", "min", "max"})


class LoadBudget:
    """What loading one file may spend, in units of about 50 microseconds of work here
    (:data:`LOAD_UNITS` in all): each layer entry rebuilt, each function compiled (by the
    length of its source), each shape inference and each tensor operation it runs."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.left = LOAD_UNITS
        self.iterations_left = LOAD_ITERATIONS_PER_FILE

    def charge_iterations(self, units: int) -> None:
        self.iterations_left -= units
        if self.iterations_left < 0:
            raise LimitExceededError(
                f"{self.where}: while it loads, its functions run more than "
                f"{LOAD_ITERATIONS_PER_FILE} iterations in all, over the load budget (see "
                "lamina/functions/README.md)."
            )

    def charge(self, units: int, what: Any) -> None:
        """Spend ``units`` on ``what`` (anything; only described when the budget is out)."""
        self.left -= units
        if self.left < 0:
            if not isinstance(what, str):
                what = f"the operation {getattr(what, '__name__', what)}"
            raise LimitExceededError(
                f"{self.where}: loading it needs more work than the load budget allows "
                f"({LOAD_UNITS} units; it ran out at {what}). A real model needs far less; "
                "the file is malformed or hostile (see lamina/functions/README.md)."
            )


_LOADING: contextvars.ContextVar[LoadBudget | None] = contextvars.ContextVar(
    "lamina_loading_file", default=None)


@contextlib.contextmanager
def loading_file(where: str) -> Iterator[LoadBudget]:
    """While a file loads: its budget is in force, and shapes come from fake tensors only."""
    token = _LOADING.set(LoadBudget(where))
    try:
        yield _LOADING.get()  # type: ignore[misc]
    finally:
        _LOADING.reset(token)


def current_load() -> LoadBudget | None:
    """The budget of the file being loaded in this context, or ``None``."""
    return _LOADING.get()


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET_STEPS = np.zeros(256, dtype=np.int8)
_BRACKET_STEPS[list(b"[{")] = 1
_BRACKET_STEPS[list(b"]}")] = -1


def json_depth(data: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest, found without parsing it
    (so the answer never depends on how deep the interpreter's stack already is).

    Example:
        >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
        3
    """
    brackets = np.frombuffer(_JSON_STRING.sub(b"", data), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    return int(np.cumsum(_BRACKET_STEPS[brackets], dtype=np.int64).max(initial=0))


def check_json_depth(data: bytes, where: str) -> None:
    """Refuse JSON nesting deeper than :data:`MAX_CONFIG_DEPTH` before it is parsed."""
    depth = json_depth(data)
    if depth > MAX_CONFIG_DEPTH:
        raise LimitExceededError(
            f"{where} nests {depth} levels deep; the config nests too deeply (a file may nest "
            f"at most {MAX_CONFIG_DEPTH})."
        )


#: Modules of serialized objects that are not layers (an initializer's config is a
#: ``{"module", "class_name", "config"}`` dict too). A file that labels a layer so only
#: escapes this early count: every layer it builds is still charged to the load budget.
_NOT_LAYERS = (".initializers", ".regularizers", ".constraints", ".activations")


def count_layers(config: Any) -> tuple[int, int]:
    """(layer entries, layer calls) in a config tree, at any depth, without recursion."""
    layers = calls = 0
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            module = node.get("module")
            if "class_name" in node and "config" in node and not (
                    isinstance(module, str) and module.endswith(_NOT_LAYERS)):
                layers += 1
                inbound = node.get("inbound_nodes")
                calls += len(inbound) if isinstance(inbound, list) else 0
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return layers, calls


def check_layer_count(config: Any, config_bytes: int, where: str) -> None:
    """Refuse a file describing more layers (or layer calls) than :data:`MAX_LAYERS`, or
    more than its config's size makes plausible (:data:`MIN_BYTES_PER_LAYER` each)."""
    plausible = min(MAX_LAYERS, config_bytes // MIN_BYTES_PER_LAYER)
    for count, what in zip(count_layers(config), ("layers", "layer calls")):
        if count > plausible:
            raise LimitExceededError(
                f"{where} describes {count} {what}; a file may describe at most "
                f"{MAX_LAYERS}, and one whose config.json has {config_bytes} bytes at most "
                f"{plausible}."
            )


class Budget:
    """One call's allowance; the rewritten function makes one when it is called."""

    __slots__ = ("left", "load", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        # torch.compile and torch.export cannot trace a ContextVar; nothing loads while
        # they run.
        self.load = None if torch.compiler.is_compiling() else _LOADING.get()
        self.left = MAX_ITERATIONS if self.load is None else LOAD_ITERATIONS

    def exceeded(self, what: str) -> LimitExceededError:
        return LimitExceededError(
            f"{self.where}: the loaded function {what}. Functions loaded from a file are "
            f"bounded (lamina/functions/README.md): {MAX_ITERATIONS} iterations per call, "
            f"sequences of {MAX_SEQUENCE} items, integers of {MAX_INT_BITS} bits."
        )

    def charge(self, units: int) -> None:
        self.left -= units
        if self.load is not None:
            self.load.charge_iterations(units)
        if self.left < 0:
            limit = MAX_ITERATIONS if self.load is None else LOAD_ITERATIONS
            raise self.exceeded(f"ran more than {limit} iterations in one call"
                                + ("" if self.load is None else " while its file loads"))

    def items(self, iterable: Iterable[Any]) -> Iterable[Any]:
        """``iterable``, charging one unit per item (up front when its length is known:
        loops and comprehensions in a loaded function cannot stop early)."""
        try:
            size = len(iterable)  # type: ignore[arg-type]
        except (TypeError, OverflowError):
            return self._counted(iterable)
        self.charge(size)
        return iterable

    def _counted(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.charge(1)
            yield item

    def range(self, *args: Any) -> range:
        made = range(*args)
        try:
            size = len(made)
        except OverflowError:
            size = MAX_SEQUENCE + 1
        if size > MAX_SEQUENCE:
            raise self.exceeded(f"made a range of more than {MAX_SEQUENCE} items")
        return made

    def sequence(self, size: int) -> None:
        if size > MAX_SEQUENCE:
            raise self.exceeded(f"made a sequence of more than {MAX_SEQUENCE} items")
        self.charge(size)

    def integer(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise self.exceeded(f"computed an integer wider than {MAX_INT_BITS} bits")

    def mul(self, a: Any, b: Any) -> Any:
        kind_a, kind_b = type(a), type(b)
        if kind_a in _SEQUENCES and kind_b in _INTEGERS:
            self.sequence(len(a) * max(b, 0))
        elif kind_b in _SEQUENCES and kind_a in _INTEGERS:
            self.sequence(len(b) * max(a, 0))
        elif kind_a in _INTEGERS and kind_b in _INTEGERS:
            self.integer(a.bit_length() + b.bit_length())
        return a * b

    def add(self, a: Any, b: Any) -> Any:
        if type(a) in _SEQUENCES and type(b) is type(a):
            self.sequence(len(a) + len(b))
        return a + b

    def pow(self, a: Any, b: Any) -> Any:
        if type(a) in _INTEGERS and type(b) in _INTEGERS and b > 0 and abs(a) > 1:
            self.integer(a.bit_length() * b)
        return a ** b

    def lshift(self, a: Any, b: Any) -> Any:
        if type(a) in _INTEGERS and type(b) in _INTEGERS and a and b > 0:
            self.integer(a.bit_length() + b)
        return a << b

    def sum(self, iterable: Any, start: Any = 0) -> Any:
        if not (type(start) in _NUMBERS or isinstance(start, torch.Tensor)):
            raise self.exceeded("sums sequences with sum() (its joins are not bounded); "
                                "join them with + instead")
        return builtins.sum(self.items(iterable), start)

    def sliced(self, value: Any, key: Any) -> Any:
        """``value[key]`` for a key with slices, charged by the items a sequence's slice
        copies (a tensor's slice is a view and passes untouched)."""
        result = value[key]
        if type(result) in _SEQUENCES:
            self.charge(len(result))
        return result

    def contains(self, item: Any, container: Any) -> bool:
        """``item in container``, charged by the container's length."""
        if type(container) in _SEQUENCES:
            self.charge(len(container))
        return item in container

    def tensor_method(self, value: Any, name: str) -> Any:
        """``value.<name>`` for a name lists and sets also have: tensors only."""
        # (a captured module's view, ``torch.sort`` or ``ops.add``, names its functions)
        if not isinstance(value, torch.Tensor) and not hasattr(value, "__lamina_module__"):
            raise self.exceeded(f"calls .{name} on a {type(value).__name__} (only tensors "
                                "have it in a loaded function)")
        return getattr(value, name)

    def mod(self, a: Any, b: Any) -> Any:
        if type(a) is str:
            raise self.exceeded("formats a string with '%' (not allowed: its width is "
                                "unbounded)")
        return a % b


def bounded_prod(iterable: Any, *, start: Any = 1) -> Any:
    """``math.prod`` for loaded functions: at most :data:`MAX_SEQUENCE` factors, and an
    integer product no wider than :data:`MAX_INT_BITS` bits."""
    product = start
    for count, factor in enumerate(iterable):
        if count >= MAX_SEQUENCE:
            raise LimitExceededError(f"math.prod over more than {MAX_SEQUENCE} factors in a "
                                     "loaded function")
        if type(product) in _INTEGERS and type(factor) in _INTEGERS and (
                product.bit_length() + factor.bit_length() > MAX_INT_BITS):
            raise LimitExceededError(f"math.prod wider than {MAX_INT_BITS} bits in a loaded "
                                     "function")
        product = product * factor
    return product


def budget_factory(where: str) -> Any:
    """The global a rewritten function calls to get its per-call :class:`Budget`."""
    def new_budget() -> Budget:
        return Budget(where)

    return new_budget


def _budget() -> ast.Name:
    return ast.Name(id=_BUDGET, ctx=ast.Load())


def _method(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=ast.Attribute(value=_budget(), attr=name, ctx=ast.Load()),
                    args=list(args), keywords=[])


def _slice_object(part: ast.Slice) -> ast.Call:
    """``a:b:c`` as the expression ``slice(a, b, c)``."""
    bounds_ = [part.lower, part.upper, part.step]
    return ast.Call(func=ast.Name(id=_SLICE, ctx=ast.Load()),
                    args=[b if b is not None else ast.Constant(None) for b in bounds_],
                    keywords=[])


_OPERATORS = {ast.Mult: "mul", ast.Add: "add", ast.Pow: "pow", ast.LShift: "lshift",
              ast.Mod: "mod"}


class _Bound(ast.NodeTransformer):
    """Routes growth through the per-call budget (after validation: no name the rewrite
    adds can be written by a file, since the validator refuses names starting with '_')."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        method = _OPERATORS.get(type(node.op))
        if method is None:
            return node
        return ast.copy_location(_method(method, node.left, node.right), node)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_method("items", node.iter), node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = ast.copy_location(_method("items", node.iter), node.iter)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)):
            found = _method("contains", node.left, node.comparators[0])
            if isinstance(node.ops[0], ast.NotIn):
                found = ast.UnaryOp(op=ast.Not(), operand=found)
            return ast.copy_location(found, node)
        if any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            raise UnsafeFunctionError(f"line {node.lineno}: a chained comparison with 'in' is "
                                      "not allowed in a saved function.")
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not isinstance(node.ctx, ast.Load) or not any(
                isinstance(part, ast.Slice) for part in parts):
            return node
        # A slice copies: ``s[:]`` of a list in a loop would copy without being charged.
        key = [_slice_object(part) if isinstance(part, ast.Slice) else part for part in parts]
        index = ast.Tuple(elts=key, ctx=ast.Load()) if isinstance(node.slice, ast.Tuple) \
            else key[0]
        return ast.copy_location(_method("sliced", node.value, index), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if node.attr in TENSOR_ONLY_METHODS and isinstance(node.ctx, ast.Load):
            return ast.copy_location(
                _method("tensor_method", node.value, ast.Constant(node.attr)), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id in ("range", "sum"):
            node.func = ast.copy_location(
                ast.Attribute(value=_budget(), attr=node.func.id, ctx=ast.Load()), node.func)
        elif (isinstance(node.func, ast.Name) and node.func.id in _CONSUMERS
              and len(node.args) == 1):
            node.args = [ast.copy_location(_method("items", node.args[0]), node.args[0])]
        return node


def bound_tree(tree: ast.Module, name: str) -> tuple[ast.Module, str]:
    """``tree`` (one validated ``def`` or ``lambda``) as a ``def`` that makes a
    :class:`Budget` on entry and spends it; returns the module and the def's name.

    Example:
        >>> tree, name = bound_tree(ast.parse("lambda x, k=2: x * k"), "scaled")
        >>> print(ast.unparse(tree))
        def scaled(x, k=2):
            __lamina_budget__ = __lamina_new_budget__()
            return __lamina_budget__.mul(x, k)
    """
    top = tree.body[0]
    if isinstance(top, ast.FunctionDef):
        function = top
    else:
        lambda_node = top.value  # type: ignore[attr-defined]
        function = ast.FunctionDef(
            name=name, args=lambda_node.args, body=[ast.Return(value=lambda_node.body)],
            decorator_list=[], returns=None, type_comment=None,
            **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}))
    function = _Bound().visit(function)
    start = ast.Assign(targets=[ast.Name(id=_BUDGET, ctx=ast.Store())],
                       value=ast.Call(func=ast.Name(id=_NEW_BUDGET, ctx=ast.Load()),
                                      args=[], keywords=[]))
    function.body = [start, *function.body]
    module = ast.Module(body=[function], type_ignores=[])
    return ast.fix_missing_locations(module), function.name


def namespace_entries(where: str) -> dict[str, Any]:
    """What a rewritten function's globals need besides its captured values."""
    return {_NEW_BUDGET: budget_factory(where), _SLICE: slice}

"""Building the expression tree that ``bytecode_interpret`` rebuilds from bytecode.

Every node is made by :func:`make`, which records its depth and expanded size (a node
may be shared by both arms of a conditional) and refuses trees deeper than
``MAX_DEPTH`` or larger than ``MAX_NODES``, so unparsing or comparing a tree is bounded.
Names are checked as identifiers lamina may write: no ``_`` prefix, no keyword.
:func:`conditional` rebuilds ``a if c else b`` with the conditional as deep as the two
arms differ, so the same source comes out whether a compiler duplicated the code after
the conditional into both arms (3.12+) or joined them (3.6-3.11).
"""

from __future__ import annotations

import ast
import keyword
import math
from typing import Any

from lamina.errors import LoadError

MAX_DEPTH = 100
MAX_NODES = 5_000
MAX_LITERAL_DEPTH = 16
#: Most characters of one string or bytes constant or literal (the validator refuses a
#: longer source anyway; refusing here spares unparsing and parsing it per version).
MAX_TEXT_CHARS = 20_000

BINARY = {"+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv,
          "%": ast.Mod, "**": ast.Pow, "@": ast.MatMult, "<<": ast.LShift, ">>": ast.RShift,
          "&": ast.BitAnd, "|": ast.BitOr, "^": ast.BitXor}
COMPARE = {"<": ast.Lt, "<=": ast.LtE, "==": ast.Eq, "!=": ast.NotEq, ">": ast.Gt,
           ">=": ast.GtE, "in": ast.In, "not_in": ast.NotIn, "is": ast.Is, "is_not": ast.IsNot}
SIZE, DEPTH = "lamina_size", "lamina_depth"


NULL = object()  # the NULL / self slot CPython pushes around a call


class Const:
    """A constant from ``co_consts``, kept raw until used (keyword names are raw tuples)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class TranslateError(LoadError):
    """Bytecode that the translator refuses; the caller adds the layer and version."""


def _children(node: ast.AST) -> list[ast.AST]:
    out: list[ast.AST] = []
    for _, value in ast.iter_fields(node):
        items = value if isinstance(value, list) else [value]
        out.extend(v for v in items if isinstance(v, (ast.expr, ast.keyword)))
    return out


def make(cls: type, **fields: Any) -> Any:
    """A node of ``cls`` with ``fields``, its depth and size checked against the bounds."""
    node = cls(**fields)
    kids = _children(node)
    depth = 1 + max((getattr(k, DEPTH, 1) for k in kids), default=0)
    size = 1 + sum(getattr(k, SIZE, 1) for k in kids)
    if depth > MAX_DEPTH:
        raise TranslateError(f"an expression nested more than {MAX_DEPTH} levels deep")
    if size > MAX_NODES:
        raise TranslateError(f"an expression of more than {MAX_NODES} parts")
    setattr(node, DEPTH, depth)
    setattr(node, SIZE, size)
    return node


def identifier(name: Any, what: str) -> str:
    """``name`` if lamina may write it as a name, attribute or keyword; else refuse."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise TranslateError(f"{what} {name!r} is not a Python identifier")
    if name.startswith("_"):
        raise TranslateError(f"{what} {name!r} starts with '_'")
    return name


def name(ident: str, what: str = "the name") -> ast.Name:
    """A ``Name`` load of a checked identifier."""
    return make(ast.Name, id=identifier(ident, what), ctx=ast.Load())


def constant(value: Any, depth: int = 0) -> ast.expr:
    """A code object's constant as an expression (tuples and frozensets as displays)."""
    if depth > MAX_LITERAL_DEPTH:
        raise TranslateError(f"a constant nested more than {MAX_LITERAL_DEPTH} levels deep")
    if isinstance(value, (str, bytes)) and len(value) > MAX_TEXT_CHARS:
        raise TranslateError(f"a constant of {len(value)} characters, more than "
                             f"{MAX_TEXT_CHARS}")
    if value is None or value is ... or isinstance(value, (bool, int, float, complex, str,
                                                           bytes)):
        return make(ast.Constant, value=value)
    if isinstance(value, tuple):
        return make(ast.Tuple, elts=[constant(v, depth + 1) for v in value], ctx=ast.Load())
    if isinstance(value, frozenset) and value:
        items = sorted(value, key=lambda v: (type(v).__name__, repr(v)))
        return make(ast.Set, elts=[constant(v, depth + 1) for v in items])
    if isinstance(value, frozenset):
        raise TranslateError("an empty frozenset constant")
    raise TranslateError(f"a {type(value).__name__} constant (a nested function, class or "
                         "comprehension)")


def check_literal_size(value: Any, what: str) -> None:
    """Refuse a JSON literal of more than ``MAX_NODES`` items or ``MAX_TEXT_CHARS``
    characters of text, counted without recursion before any node is built (a
    default of two million items would otherwise cost seconds and a gigabyte per
    Python version tried)."""
    items, chars, stack = 0, 0, [value]
    while stack:
        item = stack.pop()
        items += 1
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, (list, tuple)):
            if items + len(item) > MAX_NODES:
                break
            stack.extend(item)
        if items > MAX_NODES or chars > MAX_TEXT_CHARS:
            break
    else:
        return
    raise TranslateError(f"{what} holds more than {MAX_NODES} items or {MAX_TEXT_CHARS} "
                         "characters of text")


def literal(value: Any, what: str, depth: int = 0) -> ast.expr:
    """A JSON literal from the config (a default or closure value) as an expression."""
    if depth > MAX_LITERAL_DEPTH:
        raise TranslateError(f"{what} is nested more than {MAX_LITERAL_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, str)):
        return make(ast.Constant, value=value)
    if isinstance(value, int) and value.bit_length() <= 4096:
        return make(ast.Constant, value=value)
    if isinstance(value, float) and math.isfinite(value):
        return make(ast.Constant, value=value)
    if isinstance(value, (list, tuple)):
        elts = [literal(v, what, depth + 1) for v in value]
        return make(ast.List if isinstance(value, list) else ast.Tuple, elts=elts,
                    ctx=ast.Load())
    raise TranslateError(f"{what} is a {type(value).__name__}, not a JSON literal (number, "
                         "string, bool, None, or a list of those)")


def same(a: Any, b: Any) -> bool:
    """Whether two trees are the same expression (bounded by MAX_NODES)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if not isinstance(a, ast.AST):
        return repr(a) == repr(b)
    if isinstance(a, (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop)):
        return True
    return all(same(getattr(a, f, None), getattr(b, f, None)) for f in a._fields)


def _holds_slice(node: ast.AST) -> bool:
    return isinstance(node, ast.Slice) or (
        isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts))


def _factor(test: ast.expr, a: ast.AST, b: ast.AST) -> ast.AST | None:
    """``a if test else b`` pushed down to where ``a`` and ``b`` differ; None if invalid."""
    if type(a) is type(b) and not isinstance(a, (ast.Name, ast.Constant)):
        fields = list(a._fields)
        diffs = []
        for field in fields:
            va, vb = getattr(a, field, None), getattr(b, field, None)
            if isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb):
                diffs += [(field, i) for i, (x, y) in enumerate(zip(va, vb)) if not same(x, y)]
            elif isinstance(va, ast.expr) and isinstance(vb, ast.expr) or (
                    isinstance(va, ast.keyword) and isinstance(vb, ast.keyword)):
                diffs += [] if same(va, vb) else [(field, None)]
            elif not same(va, vb):
                diffs = [None, None]
                break
        if len(diffs) == 1 and diffs[0] is not None:
            field, index = diffs[0]
            va, vb = getattr(a, field), getattr(b, field)
            inner = _factor(test, va if index is None else va[index],
                            vb if index is None else vb[index])
            if inner is not None:
                values = {f: getattr(a, f, None) for f in fields}
                if index is None:
                    values[field] = inner
                else:
                    values[field] = [*va[:index], inner, *va[index + 1:]]
                return make(type(a), **values)
    if isinstance(a, ast.keyword) or isinstance(b, ast.keyword):
        return None
    if _holds_slice(a) or _holds_slice(b):
        return None
    return make(ast.IfExp, test=test, body=a, orelse=b)


def conditional(test: ast.expr, a: ast.expr, b: ast.expr) -> ast.expr:
    """``a if test else b``, with the conditional as deep as the arms differ."""
    factored = _factor(test, a, b)
    if factored is None:
        raise TranslateError("a conditional expression between slices")
    return factored


def check_slices(tree: ast.AST) -> None:
    """Refuse a slice anywhere but a subscript's index (it would not unparse as Python)."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            allowed.add(id(node.slice))
            if isinstance(node.slice, ast.Tuple):
                allowed.update(id(e) for e in node.slice.elts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Slice) and id(node) not in allowed:
            raise TranslateError("a slice outside a subscript")

"""The rewrite that puts a function compiled from a file under its per-call budget.

After validation, :func:`bound_tree` turns the function (a lambda becomes a ``def`` with
the same parameters) into one that makes a ``bounds.Budget`` on entry and routes through
it every operation that can grow without bound: ``*``, ``+``, ``**``, ``<<``, ``%``,
``range`` and ``sum``, loops and comprehensions, consuming builtins, ``in``, slices, and
the tensor method names lists and sets also have. The names it adds start with
:data:`RESERVED_PREFIX`, which no validated source can write.
"""

from __future__ import annotations

import ast
from typing import Any

from lamina.errors import UnsafeFunctionError
from lamina.functions.allowlist import TENSOR_ONLY_METHODS
from lamina.functions.bounds import budget_factory

#: Names the rewriting adds to a compiled function; nothing a file writes may use them.
RESERVED_PREFIX = "__lamina_"
_BUDGET = "__lamina_budget__"  # the per-call Budget, a local of the rewritten function
_NEW_BUDGET = "__lamina_new_budget__"  # the global that makes one
_SLICE = "__lamina_slice__"  # the builtin slice, for slices the rewrite passes to the budget

#: Builtins whose first argument is an iterable they consume whole.
_CONSUMERS = frozenset({"list", "tuple", "dict", "sorted", "all", "any", "min", "max"})


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

"""Constant expressions in a saved function, evaluated with bounds before anything runs.

``2 ** 10 ** 10``, ``range(10 ** 12)`` or ``('ab' * 10000) * 10000`` pass every syntactic
rule yet would hang or exhaust memory when run; ``safe.py`` asks this module for the value
of each constant subexpression, computed step by step with every intermediate bounded.
Like ``safe.py`` it imports neither torch nor the rest of lamina.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from . import allowlist as allowed


def is_constant(node: ast.AST) -> bool:
    return all(isinstance(n, (ast.Constant, ast.UnaryOp, ast.BinOp, ast.unaryop, ast.operator))
               for n in ast.walk(node))


_MAX_TEXT = 10_000


def bounded_value(node: ast.AST, fail: Callable[[ast.AST, str], Exception]) -> Any:
    """The value of a constant expression, refusing any step whose result would be huge."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        value = bounded_value(node.operand, fail)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(node.op, ast.USub):
                return -value
            if isinstance(node.op, ast.UAdd):
                return value
            if isinstance(node.op, ast.Invert) and isinstance(value, int):
                return ~value
        if isinstance(node.op, ast.Not):
            return not value
        raise fail(node, "this constant operation")
    if not isinstance(node, ast.BinOp):
        raise fail(node, "this constant expression")
    left, right = bounded_value(node.left, fail), bounded_value(node.right, fail)
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
    op = node.op
    if numbers:
        if isinstance(op, (ast.Pow, ast.LShift)) and (
                abs(right) > allowed.MAX_CONSTANT_EXPONENT or abs(left) > allowed.MAX_INT):
            raise fail(node, "a constant power or shift this large")
        if isinstance(op, ast.LShift) and right < 0:
            raise fail(node, "a negative shift")
        operations = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
                      ast.Mult: lambda a, b: a * b, ast.Pow: lambda a, b: a ** b,
                      ast.LShift: lambda a, b: a << b, ast.RShift: lambda a, b: a >> b,
                      ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b,
                      ast.Mod: lambda a, b: a % b}
        if type(op) in operations:
            try:
                value = operations[type(op)](left, right)
            except ZeroDivisionError:
                return float("nan")  # fails when run, like any Python; nothing grows
            except (OverflowError, ValueError, TypeError):
                raise fail(node, "this constant arithmetic") from None
            if isinstance(value, int) and abs(value) > allowed.MAX_INT:
                raise fail(node, "a constant larger than 2**53")
            return value
        raise fail(node, "this constant operation")
    if isinstance(op, ast.Mult) and {type(left), type(right)} <= {str, int}:
        text, count = (left, right) if isinstance(left, str) else (right, left)
        if isinstance(text, str) and isinstance(count, int) and len(text) * count <= _MAX_TEXT:
            return text * count
    if isinstance(op, ast.Add) and isinstance(left, str) and isinstance(right, str) and (
            len(left) + len(right) <= _MAX_TEXT):
        return left + right
    raise fail(node, "this constant expression (too large, or not numbers)")


def literal_number(node: ast.AST) -> float | None:
    """The value of a number literal (optionally negated), else ``None``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = literal_number(node.operand)
        return None if inner is None else -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
            node.value, bool):
        return node.value
    return None

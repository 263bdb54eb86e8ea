"""Keras's rebinding semantics by rewriting, so mutating functions need no input copy.

``x -= m`` in a Keras Lambda makes a new tensor; in PyTorch it writes into the tensor passed
in. A function whose only in-place operations are augmented assignments to plain names is
recompiled once, at construction, with each ``x -= m`` written as ``x = x - m``: the same
function (same globals, same closure cells, same defaults), without the in-place writes.
Functions with other in-place operations (``x[0] = ...``, ``x.add_(...)``) keep the copying
fallback of the Lambda layer.
"""

from __future__ import annotations

import ast
import copy
import types
from typing import Any

from lamina.functions.safe import _Rebind
from lamina.functions.source import function_node, function_source


def _only_name_augassigns(node: ast.AST) -> bool:
    for part in ast.walk(node):
        if isinstance(part, ast.AugAssign) and not isinstance(part.target, ast.Name):
            return False
        if isinstance(part, (ast.Assign, ast.AnnAssign)):
            targets = part.targets if isinstance(part, ast.Assign) else [part.target]
            if any(isinstance(t, (ast.Subscript, ast.Attribute))
                   for target in targets for t in ast.walk(target)):
                return False
        if isinstance(part, ast.Attribute) and part.attr.endswith("_") and not (
                part.attr.startswith("_")):
            return False
        if isinstance(part, (ast.Global, ast.Nonlocal)):
            return False
    return True


def rebind_function(fn: Any) -> Any | None:
    """``fn`` with augmented assignments rebinding names, or ``None`` if that cannot be done
    (no source, a lambda, a decorated def, or in-place operations other than ``x -= ...``)."""
    found = function_node(fn)
    if found is None or not isinstance(found[0], ast.FunctionDef):
        return None
    node = found[0]
    code = fn.__code__
    if node.decorator_list or not _only_name_augassigns(node):
        return None
    inner = copy.deepcopy(node)
    inner.returns = None
    for argument in ast.walk(inner.args):
        if isinstance(argument, ast.arg):
            argument.annotation = None
    inner = _Rebind().visit(inner)
    # Defined inside a function whose parameters are the original's free variables, so the
    # new code object reads them from the same closure cells.
    outer = ast.FunctionDef(
        name="lamina_rebinding_outer",
        args=ast.arguments(posonlyargs=[], args=[ast.arg(arg=n) for n in code.co_freevars],
                           kwonlyargs=[], kw_defaults=[], defaults=[]),
        body=[inner, ast.Return(value=ast.Name(id=inner.name, ctx=ast.Load()))],
        decorator_list=[], returns=None, type_comment=None,
        **({"type_params": []} if "type_params" in ast.FunctionDef._fields else {}),
    )
    module = ast.fix_missing_locations(ast.Module(body=[outer], type_ignores=[]))
    try:
        compiled = compile(module, code.co_filename, "exec")
    except (SyntaxError, ValueError):
        return None
    outer_code = next(c for c in compiled.co_consts if isinstance(c, types.CodeType))
    inner_code = next((c for c in outer_code.co_consts if isinstance(c, types.CodeType)
                       and c.co_name == code.co_name), None)
    if inner_code is None or not set(inner_code.co_freevars) <= set(code.co_freevars):
        return None
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    closure = tuple(cells[name] for name in inner_code.co_freevars) or None
    rebound = types.FunctionType(inner_code, fn.__globals__, fn.__name__, fn.__defaults__,
                                 closure)
    rebound.__kwdefaults__ = fn.__kwdefaults__
    rebound.__dict__.update(fn.__dict__)
    rebound.__qualname__ = fn.__qualname__
    rebound.__module__ = fn.__module__
    rebound.__doc__ = fn.__doc__
    rebound.__annotations__ = dict(getattr(fn, "__annotations__", {}))
    rebound.__lamina_source__ = function_source(fn)
    return rebound

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

from lamina.functions.safe import AugmentedRebind
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
    inner = AugmentedRebind().visit(inner)
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
    rebound = _copy_function(fn, inner_code, fn.__globals__, closure)
    rebound.__lamina_source__ = function_source(fn)
    return rebound


def _copy_function(fn: Any, code: types.CodeType, namespace: dict[str, Any],
                   closure: tuple[Any, ...] | None) -> types.FunctionType:
    """A new function of ``code`` with ``fn``'s name, defaults, attributes and docs."""
    copy_ = types.FunctionType(code, namespace, fn.__name__, fn.__defaults__, closure)
    copy_.__kwdefaults__ = fn.__kwdefaults__
    copy_.__dict__.update(fn.__dict__)
    copy_.__qualname__ = fn.__qualname__
    copy_.__module__ = fn.__module__
    copy_.__doc__ = fn.__doc__
    copy_.__annotations__ = dict(getattr(fn, "__annotations__", {}))
    return copy_


class OwnedGlobals(dict):
    """A function's globals with some names of its own: the rest are read, live, from the
    module the function was written in (a name the module later rebinds is seen)."""

    def __init__(self, module_globals: dict[str, Any], own: dict[str, Any]) -> None:
        super().__init__(own)
        self.module_globals = module_globals

    def __missing__(self, name: str) -> Any:
        return self.module_globals[name]


def own_function(fn: Any, names: set[str]) -> Any:
    """A copy of ``fn`` whose closure cells and globals called ``names`` are its own, so
    that a layer can point them at its moved tensors (``.to()``, ``.double()``) without
    writing into the user's closure or module. Everything else is shared with ``fn``.
    ``None`` when ``fn`` is not a plain Python function or reads none of ``names``."""
    code = getattr(fn, "__code__", None)
    if not isinstance(fn, types.FunctionType) or code is None:
        return None
    cells = dict(zip(code.co_freevars, fn.__closure__ or ()))
    own_cells = {name for name in names if name in cells}
    own_globals = {name for name in names if name not in cells and name in fn.__globals__}
    if not own_cells and not own_globals:
        return None
    closure = tuple(types.CellType(cell.cell_contents) if name in own_cells else cell
                    for name, cell in cells.items()) or None
    namespace = fn.__globals__
    if own_globals:
        namespace = OwnedGlobals(fn.__globals__, {n: fn.__globals__[n] for n in own_globals})
    owned = _copy_function(fn, code, namespace, closure)
    source = function_source(fn)
    if source is not None:
        owned.__lamina_source__ = source
    owned.__wrapped__ = fn  # the user's function, for inspection and pickling
    owned.__lamina_owned__ = True
    return owned


def point_at(owned: Any, values: dict[str, Any]) -> None:
    """Make an :func:`own_function` copy read ``values`` (by captured name) from now on."""
    cells = dict(zip(owned.__code__.co_freevars, owned.__closure__ or ()))
    for name, value in values.items():
        if name in cells:
            cells[name].cell_contents = value
        elif isinstance(owned.__globals__, OwnedGlobals):
            owned.__globals__[name] = value

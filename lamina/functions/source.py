"""What a Python function is made of: its exact source, whether it mutates, what it captures.

* :func:`function_source` finds the exact text of a ``lambda`` or ``def``, also when several
  lambdas share a line or a lambda spans lines: the whole file is parsed once and the
  lambda whose position matches the code object's is taken.
* :func:`mutates_arguments` reads the bytecode (always available, unlike source) for
  in-place operations: augmented assignment (``x -= m``), item assignment, and calls to
  torch's in-place methods (``add_``). Such functions get copies of their inputs so that
  Keras's rebinding semantics hold; others pay nothing.
* :func:`captured_values` lists the closure variables and module globals a function reads.
"""

from __future__ import annotations

import ast
import dis
import linecache
import sys
import types
from typing import Any

from lamina.functions.bound_rewrite import RESERVED_PREFIX


class _FileIndex:
    """One parsed source file: its lines, and its lambdas and defs by first line."""

    def __init__(self, text: str, module: ast.Module) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.lambdas: dict[int, list[ast.Lambda]] = {}
        self.defs: dict[tuple[str, int], ast.AST] = {}
        for node in ast.walk(module):
            if isinstance(node, ast.Lambda):
                self.lambdas.setdefault(node.lineno, []).append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for line in _def_lines(node):
                    self.defs[(node.name, line)] = node

    def segment(self, node: ast.AST) -> str:
        """The exact text of ``node`` (what ``ast.get_source_segment`` gives, without
        splitting the whole file again)."""
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            return _columns(self.lines[first], node.col_offset, node.end_col_offset)
        parts = [_columns(self.lines[first], node.col_offset, None)]
        parts.extend(self.lines[first + 1: last])
        parts.append(_columns(self.lines[last], 0, node.end_col_offset))
        return "".join(parts)


def _columns(line: str, start: int, end: int | None) -> str:
    """A line's text between two AST column offsets (which count UTF-8 bytes)."""
    data = line.encode("utf-8")
    return data[start:end].decode("utf-8")


_FILES: dict[tuple[str, int, int], _FileIndex | None] = {}


def _file_index(filename: str) -> _FileIndex | None:
    """The index of a source file, built once per file version (an edit re-indexes it)."""
    lines = linecache.getlines(filename)
    if not lines:
        return None
    text = "".join(lines)
    key = (filename, len(text), hash(text))
    if key not in _FILES:
        try:
            module = ast.parse(text, filename)
        except (SyntaxError, ValueError, RecursionError):
            _FILES[key] = None
        else:
            _FILES[key] = _FileIndex(text, module)
    return _FILES[key]


def _code_of(fn: Any) -> types.CodeType | None:
    return getattr(fn, "__code__", None)


def function_node(fn: Any) -> tuple[ast.AST, _FileIndex] | None:
    """The AST node (``Lambda`` or ``FunctionDef``) of ``fn`` and the index of its file."""
    code = _code_of(fn)
    if code is None:
        return None
    index = _file_index(code.co_filename)
    if index is None:
        return None
    if code.co_name == "<lambda>":
        node = _pick_lambda(index.lambdas.get(code.co_firstlineno, []), code)
    else:
        node = index.defs.get((code.co_name, code.co_firstlineno))
    return None if node is None else (node, index)


def _def_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    return {node.lineno, *(d.lineno for d in node.decorator_list)}


def _pick_lambda(candidates: list[ast.Lambda], code: types.CodeType) -> ast.Lambda | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    arg_names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    same_args = [n for n in candidates if tuple(a.arg for a in _all_args(n)) == arg_names]
    if len(same_args) == 1:
        return same_args[0]
    pool = same_args or candidates
    if sys.version_info >= (3, 11):
        # Every instruction of the lambda's body lies inside its own node's span.
        spots = {
            (line, col)
            for line, _end, col, end_col in code.co_positions()
            if line is not None and col is not None and end_col is not None and end_col > col
        }
        for node in pool:
            if all(_inside(node, line, col) for line, col in spots):
                return node
    return pool[0]


def _all_args(node: ast.Lambda) -> list[ast.arg]:
    args = node.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def _inside(node: ast.AST, line: int, col: int) -> bool:
    start = (node.lineno, node.col_offset)
    end = (node.end_lineno, node.end_col_offset)
    return start <= (line, col) <= end


def function_source(fn: Any) -> str | None:
    """The exact source text of a lambda or def, or ``None`` when there is none (REPL).

    Example:
        >>> square, cube = (lambda x: x ** 2), (lambda x: x ** 3)
        >>> function_source(cube)
        'lambda x: x ** 3'
    """
    saved = getattr(fn, "__lamina_source__", None)
    if isinstance(saved, str):
        return saved
    found = function_node(fn)
    if found is None:
        return None
    node, index = found
    if isinstance(node, ast.Lambda):
        return index.segment(node)
    lines = index.lines
    start = min(_def_lines(node)) - 1
    block = "".join(lines[start: node.end_lineno])
    indent = len(block) - len(block.lstrip())
    return "".join(line[indent:] if line[:indent].isspace() else line
                   for line in block.splitlines(keepends=True))


def short_description(fn: Any) -> str:
    """How a function is shown in ``repr`` and summaries: a lambda's text, or ``name(args)``.

    Example:
        >>> def antirectifier(x):
        ...     return x
        >>> short_description(antirectifier), short_description(lambda x: x ** 2)
        ('antirectifier(x)', 'lambda x: x ** 2')
    """
    source = getattr(fn, "source", None)
    if isinstance(source, str):
        return source
    code = _code_of(fn)
    if code is None:
        return getattr(fn, "__name__", type(fn).__name__)
    if code.co_name == "<lambda>" or hasattr(fn, "__lamina_source__"):
        text = function_source(fn)
        if text is not None and text.startswith("lambda"):
            return " ".join(text.split())
        if text is None:
            return "<lambda>"
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return f"{code.co_name}({', '.join(names)})"


_INPLACE_BINARY = {"INPLACE_ADD", "INPLACE_SUBTRACT", "INPLACE_MULTIPLY", "INPLACE_TRUE_DIVIDE",
                   "INPLACE_FLOOR_DIVIDE", "INPLACE_MODULO", "INPLACE_POWER",
                   "INPLACE_MATRIX_MULTIPLY", "INPLACE_AND", "INPLACE_OR", "INPLACE_XOR",
                   "INPLACE_LSHIFT", "INPLACE_RSHIFT"}


def _codes(code: types.CodeType) -> list[types.CodeType]:
    nested = [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return [code, *(inner for c in nested for inner in _codes(c))]


def mutates_arguments(fn: Any) -> bool:
    """Whether ``fn`` may change a tensor in place (so its inputs must be copied first).

    Example:
        >>> def antirectifier(x):
        ...     x -= x.mean()
        ...     return x
        >>> mutates_arguments(antirectifier), mutates_arguments(lambda x: x - x.mean())
        (True, False)
    """
    code = _code_of(fn)
    if code is None:
        return False
    for inner in _codes(code):
        for instruction in dis.get_instructions(inner):
            name = instruction.opname
            if name in _INPLACE_BINARY or name in ("STORE_SUBSCR", "STORE_SLICE", "STORE_ATTR"):
                return True
            if name == "BINARY_OP" and instruction.argrepr.endswith("="):
                return True
            if name in ("LOAD_METHOD", "LOAD_ATTR") and isinstance(instruction.argval, str):
                attr = instruction.argval
                if attr.endswith("_") and not attr.startswith("_"):
                    return True
    return False


def mutated_captures(fn: Any, names: set[str]) -> list[tuple[str, str]]:
    """``(name, method)`` for each captured ``name`` the function changes in place.

    Example:
        >>> counter = 0
        >>> mutated_captures(lambda x: x + counter.add_(1), {"counter"})
        [('counter', 'add_')]
    """
    code = _code_of(fn)
    if code is None or not names:
        return []
    found = []
    for inner in _codes(code):
        previous = None
        for instruction in dis.get_instructions(inner):
            if (
                previous is not None
                and instruction.opname in ("LOAD_METHOD", "LOAD_ATTR")
                and isinstance(instruction.argval, str)
                and instruction.argval.endswith("_")
                and not instruction.argval.startswith("_")
            ):
                found.append((previous, instruction.argval))
            loads = ("LOAD_GLOBAL", "LOAD_DEREF", "LOAD_NAME", "LOAD_CLASSDEREF")
            previous = instruction.argval if (
                instruction.opname in loads and instruction.argval in names) else None
    return found


def captured_values(fn: Any) -> dict[str, Any]:
    """The closure variables and module globals that ``fn`` (or a nested function) reads."""
    code = _code_of(fn)
    if code is None:
        return {}
    found: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            found[name] = cell.cell_contents
        except ValueError:  # a cell not yet assigned
            continue
    namespace = getattr(fn, "__globals__", {})
    for inner in _codes(code):
        for instruction in dis.get_instructions(inner):
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                name = instruction.argval
                if name in found or name.startswith(RESERVED_PREFIX):
                    continue  # (what the compiler adds to a loaded function)
                try:  # a layer's own copy of a function reads its module's globals too
                    found[name] = namespace[name]
                except KeyError:
                    continue
    return found

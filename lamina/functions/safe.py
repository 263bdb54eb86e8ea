"""The safe subset: check a saved function's source before anything of it is compiled.

``validate(source, captured)`` parses the text and walks every node. Only the constructs
listed in ``allowlist.py`` and below pass: arithmetic, comparisons, subscripts and slices,
conditionals, assignments (augmented ones are rewritten to rebinding, Keras's semantics),
``return``, bounded loops, calls to allowlisted functions and methods, captured layers.
Nothing starting with ``_``; no imports, no ``getattr``/``eval``/``open``, no f-strings,
no decorators, no annotations kept (they would run at definition time), no defaults but
literals. Anything else is an :class:`UnsafeFunctionError` naming the line and construct.

This module imports no torch, so a config can be validated on any Python (see ``validate``).
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import Any

from . import allowlist as allowed  # relative: these files must also work copied without lamina
from .constants import bounded_value, is_constant, literal_number

try:
    from lamina.errors import UnsafeFunctionError
except ImportError:  # validating a config without lamina's dependencies installed
    class UnsafeFunctionError(ValueError):  # type: ignore[no-redef]
        """A saved function uses a construct outside the safe-load allowlist."""

_EXPRESSIONS = (
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Attribute,
    ast.Subscript, ast.Slice, ast.Name, ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set,
    ast.Lambda, ast.ListComp, ast.GeneratorExp, ast.DictComp, ast.SetComp, ast.keyword,
    ast.comprehension, ast.arguments, ast.arg,
)
_STATEMENTS = (ast.Return, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Expr)
_CONTEXTS = (ast.Load, ast.Store)
_OPERATORS = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)


def _fail(node: ast.AST | None, what: str, where: str) -> UnsafeFunctionError:
    line = f"line {node.lineno}: " if node is not None and hasattr(node, "lineno") else ""
    return UnsafeFunctionError(f"{where}: {line}{what} is not allowed in a saved function.")


def _strip_annotations(tree: ast.AST) -> None:
    """Drop annotations: they would be evaluated when the function is defined."""
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            node.annotation = None
        elif isinstance(node, ast.FunctionDef):
            node.returns = None


class AugmentedRebind(ast.NodeTransformer):
    """``x -= m`` becomes ``x = x - m``: a new tensor, never a write into the old one."""

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.Assign:
        target = node.target
        load = ast.Name(id=target.id, ctx=ast.Load())
        value = ast.BinOp(left=load, op=node.op, right=node.value)
        return ast.copy_location(ast.Assign(targets=[ast.Name(id=target.id, ctx=ast.Store())],
                                            value=value), node)


class _Checker:
    def __init__(self, captured: dict[str, str], where: str) -> None:
        self.captured = captured
        self.where = where
        self.names: set[str] = set(allowed.BUILTINS) | set(captured)
        self.locals: set[str] = set()  # arguments and assigned names
        self.called: set[int] = set()  # the Name nodes that are called

    def fail(self, node: ast.AST | None, what: str) -> UnsafeFunctionError:
        return _fail(node, what, self.where)

    def collect_names(self, tree: ast.AST) -> None:
        self.called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.arg):
                self.names.add(node.arg)
                self.locals.add(node.arg)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.names.add(node.id)
                self.locals.add(node.id)

    def check(self, node: ast.AST, depth: int = 0) -> None:
        if depth > allowed.MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {allowed.MAX_DEPTH} levels")
        if not isinstance(node, (*_EXPRESSIONS, *_STATEMENTS, *_CONTEXTS, *_OPERATORS)):
            raise self.fail(node, f"'{type(node).__name__}'")
        method = getattr(self, f"check_{type(node).__name__}", None)
        if method is not None:
            method(node)
        for child in ast.iter_child_nodes(node):
            self.check(child, depth + 1)

    # -- names and attributes
    def check_Name(self, node: ast.Name) -> None:
        self.identifier(node, node.id)
        if isinstance(node.ctx, ast.Store) and (node.id in self.captured
                                                or node.id in allowed.BUILTINS):
            raise self.fail(node, f"assigning to '{node.id}' (a captured value or builtin)")
        if isinstance(node.ctx, ast.Load) and node.id not in self.names:
            raise self.fail(node, f"the name '{node.id}' (not an argument, a local, a captured "
                                  "value or an allowed builtin)")
        if (isinstance(node.ctx, ast.Load) and node.id in allowed.ITERATING_BUILTINS
                and node.id not in self.locals and id(node) not in self.called):
            # Run-time bounds (bounds.py) apply where these are called by name: an alias
            # (``r = range``, a lambda's argument) would call the builtin unbounded.
            raise self.fail(node, f"the builtin '{node.id}' other than by calling it")

    def identifier(self, node: ast.AST, name: str | None) -> None:
        if name is not None and name.startswith("_"):
            raise self.fail(node, f"the name '{name}' (names starting with '_')")

    def check_arg(self, node: ast.arg) -> None:
        self.identifier(node, node.arg)

    def check_keyword(self, node: ast.keyword) -> None:
        if node.arg is None:
            raise self.fail(node, "'**' unpacking")
        self.identifier(node, node.arg)

    def module_path(self, node: ast.AST) -> str | None:
        """``torch.nn.functional`` for that chain of attributes on a captured module."""
        if isinstance(node, ast.Name):
            kind = self.captured.get(node.id, "")
            return kind[len("module:"):] if kind.startswith("module:") else None
        if isinstance(node, ast.Attribute):
            base = self.module_path(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def check_Attribute(self, node: ast.Attribute) -> None:
        self.identifier(node, node.attr)
        if isinstance(node.ctx, ast.Store):
            raise self.fail(node, f"assigning to the attribute '{node.attr}'")
        base = self.module_path(node.value)
        if base is not None:
            if f"{base}.{node.attr}" in allowed.MODULES or any(
                m.startswith(f"{base}.{node.attr}.") for m in allowed.MODULES
            ):
                return
            if node.attr not in allowed.MODULE_ATTRIBUTES.get(base, ()):
                raise self.fail(node, f"'{base}.{node.attr}' (not in the allowlist)")
            return
        if isinstance(node.value, ast.Name) and self.captured.get(node.value.id) == "layer":
            if node.attr not in allowed.LAYER_ATTRIBUTES:
                raise self.fail(node, f"the layer attribute '{node.attr}'")
            return
        if node.attr not in allowed.TENSOR_ATTRIBUTES:
            raise self.fail(node, f"the attribute or method '.{node.attr}'")

    # -- values
    def check_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            return
        if isinstance(value, int) and abs(value) > allowed.MAX_INT:
            raise self.fail(node, f"the integer literal {value} (larger than 2**53)")
        if isinstance(value, str) and len(value) > 1000:
            raise self.fail(node, "a string literal longer than 1000 characters")
        if isinstance(value, bytes):
            raise self.fail(node, "a bytes literal")

    def check_BinOp(self, node: ast.BinOp) -> None:
        if is_constant(node):
            bounded_value(node, self.fail)  # raises if the constant work is too large
            return
        if isinstance(node.op, (ast.Pow, ast.LShift)) and is_constant(node.right):
            exponent = bounded_value(node.right, self.fail)
            if not isinstance(exponent, (int, float)) or abs(exponent) > (
                    allowed.MAX_CONSTANT_EXPONENT):
                raise self.fail(node, "a power or shift by a large constant")
        if isinstance(node.op, ast.Mult):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                if isinstance(side, (ast.List, ast.Tuple)) or (
                    isinstance(side, ast.Constant) and isinstance(side.value, str)
                ):
                    count = bounded_value(other, self.fail) if is_constant(other) else None
                    if not isinstance(count, int) or count > allowed.MAX_RANGE:
                        raise self.fail(node, "repeating a sequence a large or computed "
                                              "number of times")

    def check_Call(self, node: ast.Call) -> None:
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.fail(node, "'*' unpacking")
        if isinstance(node.func, ast.Name) and node.func.id == "range":
            for argument in node.args:
                if is_constant(argument):
                    number = bounded_value(argument, self.fail)
                    if not isinstance(number, int) or abs(number) > allowed.MAX_RANGE:
                        raise self.fail(node, f"range() over more than {allowed.MAX_RANGE} "
                                              "items")

    def check_Lambda(self, node: ast.Lambda) -> None:
        self.arguments(node.args)

    def arguments(self, args: ast.arguments) -> None:
        if args.vararg is not None or args.kwarg is not None:
            raise self.fail(args.vararg or args.kwarg, "'*args' or '**kwargs' parameters")
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            if not isinstance(default, ast.Constant) and literal_number(default) is None:
                raise self.fail(default, "a default value that is not a literal")
        names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
        if len(set(names)) != len(names):
            raise self.fail(args, "a parameter name used twice")

    def check_For(self, node: ast.For) -> None:
        self.plain_target(node.target, node)

    def check_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise self.fail(node.iter, "an async comprehension")
        self.plain_target(node.target, node.iter)

    def plain_target(self, target: ast.AST, where: ast.AST) -> None:
        """Loop variables are names: ``for x[0] in ...`` would write into a tensor."""
        for part in ast.walk(target):
            if not isinstance(part, (ast.Name, ast.Tuple, ast.List, ast.Store)):
                raise self.fail(where, "a loop target that is not a plain name")

    # -- statements
    def check_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            for part in ast.walk(target):
                if isinstance(part, (ast.Subscript, ast.Attribute, ast.Starred)):
                    raise self.fail(node, "assigning into an item or attribute (in place)")

    def check_AugAssign(self, node: ast.AugAssign) -> None:
        if not isinstance(node.target, ast.Name):
            raise self.fail(node, "augmented assignment to an item or attribute (in place)")

    def check_Expr(self, node: ast.Expr) -> None:
        if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            raise self.fail(node, "an expression statement other than a docstring")


def validate(source: str, captured: dict[str, str], where: str = "function") -> ast.Module:
    """Check ``source`` (one ``def`` or one ``lambda``) and return its rewritten AST.

    Args:
        source: The function's text as saved.
        captured: The names the function may read besides its arguments and locals, each
            with its kind: ``"module:<name>"`` (a module from the allowlist), ``"layer"``,
            or ``"value"`` (a literal, tensor or function).
        where: Names the layer in error messages.

    Raises:
        UnsafeFunctionError: naming the line and the construct that is not allowed.

    Example:
        >>> tree = validate("def f(x):\\n    x -= K.mean(x)\\n    return x",
        ...                 {"K": "module:lamina.backend"})
        >>> print(ast.unparse(tree))
        def f(x):
            x = x - K.mean(x)
            return x
        >>> validate("lambda x: x.numpy().tofile('/tmp/f')", {})
        Traceback (most recent call last):
        ...
        lamina.errors.UnsafeFunctionError: function: line 1: the attribute or method '.tofile' is not allowed in a saved function.
    """  # noqa: E501
    if not isinstance(source, str) or len(source) > allowed.MAX_SOURCE_CHARS:
        raise _fail(None, "a source that is not text or longer than "
                          f"{allowed.MAX_SOURCE_CHARS} characters", where)
    for name, kind in captured.items():
        if name.startswith("_"):
            raise _fail(None, f"the captured name '{name}'", where)
        if kind.startswith("module:") and kind[len("module:"):] not in allowed.MODULES:
            raise _fail(None, f"the module '{kind[len('module:'):]}'", where)
    bound = _nesting_bound(source)
    if bound is None or bound > allowed.MAX_PARSE_DEPTH:
        raise _fail(None, f"nesting deeper than {allowed.MAX_PARSE_DEPTH} levels (counted on the "
                          "source's tokens, before parsing)", where)
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        raise _fail(None, f"source that does not parse ({type(error).__name__})", where) from None
    if len(tree.body) != 1:
        raise _fail(None, "more than one top-level statement", where)
    top = tree.body[0]
    checker = _Checker(captured, where)
    if isinstance(top, ast.FunctionDef):
        if top.decorator_list:
            raise _fail(top, "a decorator", where)
        checker.identifier(top, top.name)
        checker.arguments(top.args)
        body: list[ast.AST] = top.body
        for node in ast.walk(top):
            if isinstance(node, ast.FunctionDef) and node is not top:
                raise _fail(node, "a nested def", where)
    elif isinstance(top, ast.Expr) and isinstance(top.value, ast.Lambda):
        body = [top.value]
    else:
        raise _fail(top, f"a top-level '{type(top).__name__}' (expected one def or lambda)",
                    where)
    _strip_annotations(tree)
    checker.collect_names(tree)
    try:
        for statement in body:
            checker.check(statement)
        if isinstance(top, ast.FunctionDef):
            checker.check(top.args)
    except RecursionError:
        raise _fail(None, "an expression nested too deeply", where) from None
    rewritten = AugmentedRebind().visit(tree)
    return ast.fix_missing_locations(rewritten)


_NESTING_WORDS = frozenset({"and", "or", "not", "if", "else", "lambda", "in", "is", "for",
                            "await", "yield"})


def _nesting_bound(source: str) -> int | None:
    """An upper bound of the source's syntax-tree depth, from its tokens alone (``None``
    when it does not tokenize).

    Every level of a syntax tree needs a token: an operator, a bracket, a keyword such as
    ``if``, or an indent. Counting them per bracket level (a comma starts a sibling)
    bounds the depth without parsing, so the parser, whose recursion depends on how deep
    the interpreter's stack already is, only ever sees sources it handles the same way
    every time.
    """
    levels = [0]
    indent = deepest = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = token.type, token.string
            if kind == tokenize.OP and text in "([{":
                levels.append(0)
            elif kind == tokenize.OP and text in ")]}":
                if len(levels) == 1:
                    return None
                levels.pop()
            elif kind == tokenize.OP and text == ",":
                levels[-1] = 0
            elif kind == tokenize.OP or (kind == tokenize.NAME and text in _NESTING_WORDS):
                levels[-1] += 1
            elif kind == tokenize.INDENT:
                indent += 1
            elif kind == tokenize.DEDENT:
                indent -= 1
            elif kind == tokenize.NEWLINE:
                levels = [0]
            deepest = max(deepest, len(levels) + sum(levels) + 2 * indent)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return None
    return deepest + 4  # module, statement, function, and a tuple without brackets


def _kinds(captured: dict[str, Any]) -> dict[str, str]:
    kinds = {}
    for name, entry in captured.items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        kinds[str(name)] = (f"module:{entry.get('module')}" if kind == "module" else
                            "layer" if kind == "layer" else "value")
    return kinds


def validate_config(config: Any, where: str = "config") -> int:
    """Validate every source-tier function in a saved config; returns how many there were.

    Walks the whole JSON tree, so functions nested in layers, masks, ``output_shape`` and
    captured functions are all checked. Needs neither torch nor the rest of lamina:
    ``python -m <package>.safe config.json`` runs it on any Python, with these three files
    (safe.py, allowlist.py, constants.py) copied into ``<package>``.
    """
    count = 0
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("kind") == "source" and isinstance(node.get("source"), str):
                captured = node.get("captured", {})
                if not isinstance(captured, dict):
                    raise _fail(None, "a 'captured' entry that is not an object", where)
                validate(node["source"], _kinds(captured), where)
                count += 1
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return count


if __name__ == "__main__":
    import json
    import sys

    with open(sys.argv[1], encoding="utf-8") as handle:
        print(validate_config(json.load(handle), sys.argv[1]))

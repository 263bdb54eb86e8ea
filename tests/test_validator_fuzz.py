"""Fuzzing the safe-load validator: nothing outside the allowlist is ever compiled.

Hypothesis builds Python programs as ASTs from a grammar that mixes the allowed constructs
with forbidden ones (``_`` names, attributes off the allowlist, ``getattr``/``eval``/
``open``/``__import__``, imports, f-strings, ``while``, decorators, defaults that call...),
renders them with ``ast.unparse`` and feeds them to ``validate`` and to
``compiler.compile_function``. Every accepted program is checked by ``violations`` below,
an independent reading of the allowlist written for this test (it shares only the data of
``allowlist.py``, none of ``safe.py``'s logic), and ``compile``/``exec``/``eval`` as seen by
the compiler are wrapped so that a tree is checked *before* it could be compiled.

The holes this fuzzing found (rebinding a captured name, loop targets writing into a
tensor, unbounded constant work, layer methods reached through an alias, sources that only
``compile()`` refuses) are fixed; the tests at the end keep them fixed.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lamina import layers
from lamina.errors import UnsafeFunctionError
from lamina.functions import allowlist, compiler
from lamina.functions.safe import validate

FUZZ = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                       HealthCheck.data_too_large])

#: What a fuzzed function may read besides its own names, by kind (``validate``'s view) ...
CAPTURED = {
    "K": "module:lamina.backend", "ops": "module:lamina.ops", "torch": "module:torch",
    "F": "module:torch.nn.functional", "math": "module:math", "layer": "layer", "c": "value",
}
#: ... and as objects (``compile_function``'s view).
OBJECTS = {
    **{name: compiler.module_view(kind[len("module:"):])
       for name, kind in CAPTURED.items() if kind.startswith("module:")},
    "layer": layers.Dense(2, name="captured_dense"), "c": torch.ones(2),
}
OBJECTS["layer"](torch.zeros(1, 2))  # build it: its kernel and bias exist

# ---------------------------------------------------------------------- the independent check
#: Node kinds a loadable function may contain at all (DESIGN §8's list, spelled out).
PERMITTED_NODES = (
    ast.Module, ast.Expression, ast.FunctionDef, ast.Lambda, ast.arguments, ast.arg,
    ast.Return, ast.Assign, ast.If, ast.For, ast.Pass, ast.Expr, ast.BinOp, ast.UnaryOp,
    ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Attribute, ast.Subscript,
    ast.Slice, ast.Name, ast.Constant, ast.Tuple, ast.List, ast.Dict, ast.Set, ast.ListComp,
    ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension, ast.Load, ast.Store,
    ast.operator, ast.unaryop, ast.cmpop, ast.boolop,
)
#: Callables that must never be reachable by their builtin name, whatever the allowlist says.
NEVER = frozenset({
    "open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "__import__", "type",
    "globals", "locals", "vars", "dir", "input", "breakpoint", "object", "super", "memoryview",
    "help", "exit", "quit", "classmethod", "staticmethod", "property", "print", "iter", "next",
    "__builtins__", "__loader__", "__spec__",
})


def _chain(node: ast.Attribute) -> tuple[ast.AST, list[str]]:
    """``a.b.c`` -> (the node ``a``, ["b", "c"])."""
    attrs: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        attrs.append(current.attr)
        current = current.value
    return current, attrs[::-1]


def _module_attribute_ok(module: str, attr: str) -> tuple[str | None, bool]:
    """Reading ``attr`` off the module (or package) ``module``: (the path it names if that
    is itself a module or package on the way to one, whether the read is allowed)."""
    path = f"{module}.{attr}"
    if path in allowlist.MODULES or any(m.startswith(path + ".") for m in allowlist.MODULES):
        return path, True
    return None, attr in allowlist.MODULE_ATTRIBUTES.get(module, frozenset())


def violations(tree: ast.AST, captured: dict[str, str]) -> list[str]:
    """Everything in ``tree`` that lies outside the allowlist (empty when it is all in)."""
    found: list[str] = []
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    top = tree.body[0] if isinstance(tree, ast.Module) and tree.body else None
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
    if bound & set(captured):
        found.append(f"rebinds captured names {sorted(bound & set(captured))}")
    readable = bound | set(allowlist.BUILTINS) | set(captured) | {BUDGET_FACTORY, SLICE}
    modules = {n: k[len("module:"):] for n, k in captured.items() if k.startswith("module:")}
    for function in functions:
        if function is not top:
            found.append(f"nested def {function.name}")
        if function.name.startswith("_") and function.name != BOUNDED_LAMBDA:
            found.append(f"function name {function.name}")
        if function.decorator_list:
            found.append("decorator")
        if function.returns is not None:
            found.append("return annotation kept")
    for node in ast.walk(tree):
        if not isinstance(node, PERMITTED_NODES):
            found.append(type(node).__name__)
        if isinstance(node, ast.Name):
            if node.id.startswith("_") and node.id not in (BUDGET, BUDGET_FACTORY, SLICE):
                found.append(f"name {node.id}")
            if isinstance(node.ctx, ast.Load) and node.id not in readable:
                found.append(f"unknown name {node.id}")
            if node.id in NEVER and node.id not in bound and node.id not in captured:
                found.append(f"forbidden builtin {node.id}")
        elif isinstance(node, ast.arg):
            if node.annotation is not None:
                found.append(f"annotation on {node.arg}")
            if node.arg.startswith("_"):
                found.append(f"parameter {node.arg}")
        elif isinstance(node, ast.arguments):
            if node.vararg is not None or node.kwarg is not None:
                found.append("*args/**kwargs")
            for default in [*node.defaults, *(d for d in node.kw_defaults if d is not None)]:
                signed = (isinstance(default, ast.UnaryOp)
                          and isinstance(default.op, (ast.USub, ast.UAdd))
                          and isinstance(default.operand, ast.Constant)
                          and type(default.operand.value) in (int, float))
                if not isinstance(default, ast.Constant) and not signed:
                    found.append("default that is not a literal")
        elif isinstance(node, ast.Attribute):
            found.extend(_attribute_violations(node, captured, modules))
        elif isinstance(node, ast.Call):
            if any(isinstance(a, ast.Starred) for a in node.args):
                found.append("* in a call")
            if any(k.arg is None for k in node.keywords):
                found.append("** in a call")
            if isinstance(node.func, ast.Name) and node.func.id in NEVER:
                found.append(f"call of {node.func.id}")
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bytes):
                found.append("bytes literal")
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2 ** 53:
                found.append(f"integer literal {value}")
        elif isinstance(node, ast.Expr) and not (node is top and isinstance(node.value,
                                                                            ast.Lambda)):
            if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                found.append("expression statement")
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if any(isinstance(p, (ast.Subscript, ast.Attribute, ast.Starred))
                       for p in ast.walk(target)):
                    found.append("assignment into an item or attribute")
    return found


#: What the compiler's run-time bounds (lamina/functions/bounds.py) add to every tree: the
#: per-call budget, the global that makes it, its methods, and the def a lambda becomes.
BUDGET, BUDGET_FACTORY, SLICE = "__lamina_budget__", "__lamina_new_budget__", "__lamina_slice__"
BUDGET_METHODS = {"mul", "add", "pow", "lshift", "mod", "items", "range", "sum", "contains",
                  "tensor_method", "sliced"}
BOUNDED_LAMBDA = "__lamina_function__"


def _attribute_violations(node: ast.Attribute, captured: dict[str, str],
                          modules: dict[str, str]) -> list[str]:
    if isinstance(node.value, ast.Name) and node.value.id == BUDGET:
        return [] if node.attr in BUDGET_METHODS else [f"budget attribute {node.attr}"]
    if node.attr.startswith("_"):
        return [f"attribute {node.attr}"]
    if not isinstance(node.ctx, ast.Load):
        return [f"store to attribute {node.attr}"]
    root, attrs = _chain(node)
    # Only the outermost attribute of a chain is judged here, for the whole chain; the
    # inner ones are visited too and judge their own (shorter) chains the same way.
    if isinstance(root, ast.Name) and root.id in modules:
        path: str | None = modules[root.id]
        for index, attr in enumerate(attrs):
            if path is None:
                return [f"attribute {attr} of a module's function "
                        f"({root.id}.{'.'.join(attrs[:index + 1])})"]
            path, ok = _module_attribute_ok(path, attr)
            if not ok:
                return [f"{root.id}.{'.'.join(attrs[:index + 1])} not allowlisted"]
        return []
    if isinstance(root, ast.Name) and captured.get(root.id) == "layer":
        if attrs[0] not in allowlist.LAYER_ATTRIBUTES:
            return [f"layer attribute {attrs[0]}"]
        attrs = attrs[1:]
    bad = [a for a in attrs if a not in allowlist.TENSOR_ATTRIBUTES]
    return [f"value attribute {a}" for a in bad]


def max_depth(tree: ast.AST) -> int:
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


# ---------------------------------------------------------------------- the grammar
LOCALS = ["x", "y", "z", "t", "i"]  # parameters and locals: never a captured name
OK_NAMES = LOCALS + sorted(allowlist.BUILTINS) + sorted(CAPTURED)
BAD_NAMES = sorted(NEVER | {"os", "sys", "_secret", "__class__", "map", "filter", "id", "hash",
                            "bytearray", "frozenset", "set", "str", "repr", "format"})
OK_ATTRS = sorted({"mean", "sum", "relu", "reshape", "shape", "T", "kernel", "bias", "nn",
                   "functional", "softmax", "sqrt", "pi", "to", "float", "split", "view",
                   "dtype", "abs", "exp", "cat", "tensor", "l2_normalize", "epsilon", "max",
                   "transpose", "sort", "size", "clone", "detach", "gelu", "log"})
BAD_ATTRS = ["numpy", "tofile", "__class__", "__dict__", "__globals__", "__subclasses__",
             "__mro__", "__builtins__", "__init__", "save", "load", "from_file", "system",
             "apply", "data", "storage", "untyped_storage", "format", "_private", "mro",
             "register_forward_hook", "backward", "gi_frame", "f_globals", "copy_", "add_",
             "set_", "set_epsilon", "set_learning_phase", "Module", "hub", "ops", "modules",
             "state_dict", "load_state_dict", "parameters", "register_buffer", "cpu", "grad"]
KEYWORDS = ["axis", "dim", "keepdims", "key", "_k", None]

constants = st.one_of(
    st.integers(-3, 10), st.integers(-3, 10), st.integers(2 ** 53 - 1, 2 ** 64),
    st.floats(-10, 10, allow_nan=False, width=32), st.sampled_from(["a", "axis", "C"]),
    st.none(), st.booleans(), st.just(b"x"),
).map(ast.Constant)
binary_ops = st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.LShift,
                              ast.Mod, ast.FloorDiv, ast.MatMult]).map(lambda op: op())


def _load(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Load())


def _store(name: str) -> ast.Name:
    return ast.Name(id=name, ctx=ast.Store())


def _arguments(params: list[str], defaults: list[ast.expr], vararg: str | None = None
               ) -> ast.arguments:
    return ast.arguments(
        posonlyargs=[], args=[ast.arg(arg=p, annotation=None) for p in params],
        vararg=None if vararg is None else ast.arg(arg=vararg, annotation=None),
        kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=defaults[:len(params)])


def _mix(ok: st.SearchStrategy[Any], bad: st.SearchStrategy[Any], odds: int
         ) -> st.SearchStrategy[Any]:
    """``ok`` ``odds`` times as often as ``bad`` (a composite: its repr stays short)."""
    @st.composite
    def mixed(draw: st.DrawFn) -> Any:
        return draw(bad) if draw(st.integers(0, odds)) == 0 else draw(ok)

    return mixed()


class Grammar:
    """Programs mixing allowed and forbidden constructs; ``odds`` of allowed to forbidden.

    Attributes are drawn without regard to what they are read from, so even the "allowed"
    side produces plenty the validator must refuse (``x.kernel``, ``torch.mean.T``...).
    """

    def __init__(self, odds: int) -> None:
        self.odds = odds
        self.names = _mix(st.sampled_from(OK_NAMES), st.sampled_from(BAD_NAMES), odds)
        self.attributes = _mix(st.sampled_from(OK_ATTRS), st.sampled_from(BAD_ATTRS), odds)
        self.expressions = st.recursive(st.one_of(self.names.map(_load), constants),
                                        self.extend, max_leaves=6)
        self.statements = self._statements()

    def extend(self, inner: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        keyword = st.builds(lambda arg, value: ast.keyword(arg=arg, value=value),
                            _mix(st.sampled_from(KEYWORDS[:-2]), st.sampled_from(KEYWORDS[-2:]),
                                 self.odds), inner)
        argument = _mix(inner, inner.map(lambda v: ast.Starred(value=v, ctx=ast.Load())),
                        self.odds)
        params = st.lists(st.sampled_from(LOCALS * self.odds + ["_p"]), max_size=2,
                          unique=True)
        default = _mix(constants, inner, self.odds)
        forbidden = st.one_of(
            st.builds(lambda v: ast.JoinedStr(values=[ast.Constant("f"), ast.FormattedValue(
                value=v, conversion=-1, format_spec=None)]), inner),
            st.builds(lambda t, v: ast.NamedExpr(target=_store(t), value=v),
                      st.sampled_from(LOCALS), inner),
            inner.map(lambda v: ast.Yield(value=v)),
            inner.map(lambda v: ast.Await(value=v)),
        )
        permitted = st.one_of(
            st.builds(lambda v, a: ast.Attribute(value=v, attr=a, ctx=ast.Load()), inner,
                      self.attributes),
            st.builds(lambda f, args, kws: ast.Call(func=f, args=args, keywords=kws),
                      inner, st.lists(argument, max_size=2), st.lists(keyword, max_size=1)),
            st.builds(lambda left, op, right: ast.BinOp(left=left, op=op, right=right),
                      inner, binary_ops, inner),
            st.builds(lambda v: ast.UnaryOp(op=ast.USub(), operand=v), inner),
            st.builds(lambda a, b: ast.Compare(left=a, ops=[ast.Lt()], comparators=[b]),
                      inner, inner),
            st.builds(lambda a, b, c: ast.IfExp(test=a, body=b, orelse=c), inner, inner,
                      inner),
            st.builds(lambda a, b: ast.BoolOp(op=ast.And(), values=[a, b]), inner, inner),
            st.builds(lambda v, sl: ast.Subscript(value=v, slice=sl, ctx=ast.Load()), inner,
                      st.one_of(inner, st.builds(lambda a: ast.Slice(lower=a), inner))),
            st.lists(inner, max_size=2).map(lambda xs: ast.Tuple(elts=xs, ctx=ast.Load())),
            st.lists(argument, max_size=2).map(lambda xs: ast.List(elts=xs, ctx=ast.Load())),
            st.builds(lambda k, v: ast.Dict(keys=[k], values=[v]),
                      _mix(inner, st.none(), self.odds), inner),
            st.builds(lambda ps, ds, body: ast.Lambda(args=_arguments(ps, ds), body=body),
                      params, st.lists(default, max_size=1), inner),
            st.builds(lambda elt, target, it: ast.ListComp(elt=elt, generators=[
                ast.comprehension(target=_store(target), iter=it, ifs=[], is_async=0)]),
                inner, st.sampled_from(LOCALS), inner),
        )
        return _mix(permitted, forbidden, self.odds)

    def _statements(self) -> st.SearchStrategy[list[ast.stmt]]:
        expr, local = self.expressions, st.sampled_from(LOCALS)
        in_place = st.one_of(
            st.builds(lambda n, e: ast.Subscript(value=_load(n), slice=e, ctx=ast.Store()),
                      local, expr),
            st.builds(lambda n, a: ast.Attribute(value=_load(n), attr=a, ctx=ast.Store()),
                      local, self.attributes),
            st.builds(lambda a, b: ast.Tuple(elts=[_store(a), ast.Starred(
                value=_store(b), ctx=ast.Store())], ctx=ast.Store()), local, local),
        )
        simple = _mix(st.one_of(
            st.builds(lambda t, e: ast.Assign(targets=[_store(t)], value=e), local, expr),
            st.builds(lambda n, op, e: ast.AugAssign(target=_store(n), op=op, value=e),
                      local, binary_ops, expr),
            st.just(ast.Expr(value=ast.Constant("a docstring"))),
            st.just(ast.Pass()),
        ), st.one_of(
            st.builds(lambda t, e: ast.Assign(targets=[t], value=e), in_place, expr),
            st.builds(lambda e: ast.Expr(value=e), expr),
            st.just(ast.Import(names=[ast.alias(name="os")])),
            st.just(ast.ImportFrom(module="os", names=[ast.alias(name="system")], level=0)),
            st.just(ast.Global(names=["K"])),
            st.just(ast.Delete(targets=[ast.Name(id="y", ctx=ast.Del())])),
            st.builds(lambda e: ast.Raise(exc=e, cause=None), expr),
            st.builds(lambda n, e: ast.AnnAssign(target=_store(n), annotation=e, value=None,
                                                 simple=1), local, expr),
        ), self.odds)

        def block(inner: st.SearchStrategy[list[ast.stmt]]
                  ) -> st.SearchStrategy[list[ast.stmt]]:
            one = _mix(st.one_of(
                st.builds(lambda t, b: ast.If(test=t, body=b, orelse=[]), expr, inner),
                st.builds(lambda n, it, b: ast.For(target=_store(n), iter=ast.Call(
                    func=_load("range"), args=[it], keywords=[]), body=b, orelse=[]),
                    local, expr, inner),
            ), st.one_of(
                st.builds(lambda t, b: ast.While(test=t, body=b, orelse=[]), expr, inner),
                st.builds(lambda b: ast.Try(body=b, handlers=[ast.ExceptHandler(
                    type=None, name=None, body=[ast.Pass()])], orelse=[], finalbody=[]), inner),
                st.builds(lambda e, b: ast.With(items=[ast.withitem(
                    context_expr=e, optional_vars=None)], body=b), expr, inner),
                st.builds(lambda b: ast.FunctionDef(
                    name="inner", args=_arguments([], []), body=b, decorator_list=[],
                    returns=None), inner),
            ), self.odds)
            return st.one_of(inner, st.lists(one, min_size=1, max_size=2))

        return st.recursive(st.lists(simple, min_size=1, max_size=2), block, max_leaves=3)

    def programs(self) -> st.SearchStrategy[str]:
        @st.composite
        def program(draw: st.DrawFn) -> str:
            rarely = _mix(st.just(False), st.just(True), self.odds)
            params = draw(st.lists(st.sampled_from(LOCALS * self.odds + ["_p"]), min_size=1,
                                   max_size=3, unique=True))
            defaults = draw(st.lists(_mix(constants, self.expressions, self.odds),
                                     max_size=len(params) - 1))
            vararg = "rest" if draw(rarely) else None
            arguments = _arguments(params, defaults, vararg)
            if draw(st.booleans()):
                top: ast.stmt = ast.Expr(value=ast.Lambda(args=arguments,
                                                          body=draw(self.expressions)))
            else:
                body = [*draw(self.statements), ast.Return(value=draw(self.expressions))]
                if draw(rarely):
                    arguments.args[0].annotation = draw(self.expressions)
                top = ast.FunctionDef(
                    name="_f" if draw(rarely) else "f", args=arguments, body=body,
                    decorator_list=[draw(self.expressions)] if draw(rarely) else [],
                    returns=draw(self.expressions) if draw(rarely) else None)
            return ast.unparse(ast.fix_missing_locations(ast.Module(body=[top],
                                                                    type_ignores=[])))

        return program()


#: Half the programs are a free mix, half are mostly allowed with the odd forbidden piece.
hostile_programs = st.one_of(Grammar(odds=2).programs(), Grammar(odds=12).programs())


# ---------------------------------------------------------------------- the allowed grammar
def _typed_expressions(readable: list[str]) -> st.SearchStrategy[ast.expr]:
    """Expressions built only from the allowlist (each attribute fits what it is read from)."""
    def call(func: ast.expr, args: list[ast.expr]) -> ast.Call:
        return ast.Call(func=func, args=args, keywords=[])

    def module_call(module: str, names: frozenset[str]) -> Any:
        return lambda inner: st.builds(
            lambda n, arg: call(ast.Attribute(value=_load(module), attr=n, ctx=ast.Load()),
                                [arg]), st.sampled_from(sorted(names)), inner)

    leaf = st.one_of(st.sampled_from(readable).map(_load),
                     st.integers(-3, 10).map(ast.Constant),
                     st.floats(-4, 4, allow_nan=False, width=32).map(ast.Constant),
                     st.sampled_from(sorted(allowlist.LAYER_ATTRIBUTES)).map(
                         lambda a: ast.Attribute(value=_load("layer"), attr=a, ctx=ast.Load())))

    def extend(inner: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
        return st.one_of(
            st.builds(lambda v, a: call(ast.Attribute(value=v, attr=a, ctx=ast.Load()), []),
                      inner, st.sampled_from(sorted(allowlist.TENSOR_ATTRIBUTES))),
            module_call("K", allowlist.OPS)(inner), module_call("ops", allowlist.OPS)(inner),
            module_call("torch", allowlist.TORCH)(inner),
            module_call("F", allowlist.FUNCTIONAL)(inner),
            module_call("math", allowlist.MATH)(inner),
            st.builds(lambda n, a: call(_load(n), [a]),
                      st.sampled_from(sorted(allowlist.BUILTINS)), inner),
            inner.map(lambda a: call(_load("layer"), [a])),
            inner.map(lambda a: call(ast.Attribute(value=ast.Attribute(
                value=ast.Attribute(value=_load("torch"), attr="nn", ctx=ast.Load()),
                attr="functional", ctx=ast.Load()), attr="relu", ctx=ast.Load()), [a])),
            st.builds(lambda a, op, b: ast.BinOp(left=a, op=op(), right=b), inner,
                      st.sampled_from([ast.Add, ast.Sub, ast.Mult, ast.Div]), inner),
            st.builds(lambda a, b: ast.Subscript(value=a, slice=ast.Slice(lower=b),
                                                 ctx=ast.Load()), inner, inner),
            st.builds(lambda a, b, c: ast.IfExp(test=ast.Compare(
                left=a, ops=[ast.Gt()], comparators=[b]), body=b, orelse=c), inner, inner,
                inner),
            st.builds(lambda a, b: ast.Call(func=ast.Lambda(args=_arguments(["t"], []),
                                                            body=a), args=[b], keywords=[]),
                      inner, inner),
            st.builds(lambda a: ast.ListComp(elt=_load("i"), generators=[ast.comprehension(
                target=_store("i"), iter=ast.List(elts=[a], ctx=ast.Load()), ifs=[],
                is_async=0)]), inner),
        )

    return st.recursive(leaf, extend, max_leaves=6)


TYPED_LAMBDA = _typed_expressions(["x", "y", "c"])
TYPED_DEF = _typed_expressions(["x", "y", "c", "z", "i"])  # the def below binds z and i


@st.composite
def _allowed_programs(draw: st.DrawFn) -> str:
    arguments = _arguments(["x", "y"], draw(st.lists(
        # Non-negative only: a negative default is refused (see the BUG test at the end).
        st.floats(0, 4, allow_nan=False, width=32).map(ast.Constant), max_size=1)))
    if draw(st.booleans()):
        top: ast.stmt = ast.Expr(value=ast.Lambda(args=arguments, body=draw(TYPED_LAMBDA)))
    else:
        expr = TYPED_DEF
        body = [ast.Assign(targets=[_store("z")], value=draw(expr)),
                ast.AugAssign(target=_store("z"), op=ast.Sub(), value=draw(expr)),
                ast.For(target=_store("i"), iter=ast.Call(func=_load("range"), args=[
                    ast.Constant(3)], keywords=[]), body=[ast.Assign(
                        targets=[_store("z")], value=draw(expr))], orelse=[]),
                ast.Return(value=draw(expr))]
        top = ast.FunctionDef(name="f", args=arguments, body=body, decorator_list=[],
                              returns=None)
    return ast.unparse(ast.fix_missing_locations(ast.Module(body=[top], type_ignores=[])))


allowed_programs = _allowed_programs()


# ---------------------------------------------------------------------- (a) the validator
@FUZZ
@given(source=hostile_programs)
def test_validate_rejects_or_returns_only_allowlisted_trees(source: str) -> None:
    try:
        tree = validate(source, dict(CAPTURED), "fuzz")
    except UnsafeFunctionError as error:
        event("rejected")
        assert str(error).startswith("fuzz: ")
        return
    event("accepted")
    assert violations(tree, CAPTURED) == [], source
    # The rewritten tree is itself a valid saved function (rewriting adds nothing unsafe).
    validate(ast.unparse(tree), dict(CAPTURED), "fuzz")


@FUZZ
@given(source=allowed_programs)
def test_allowlisted_programs_are_accepted_and_pass_the_independent_check(source: str) -> None:
    tree = ast.parse(source)
    if max_depth(tree) > 50:  # the validator's nesting bound, not what this test is about
        return
    checked = validate(source, dict(CAPTURED), "fuzz")
    assert violations(checked, CAPTURED) == [], source


def test_the_independent_check_sees_what_it_must() -> None:
    """The checker is not vacuous: it flags each forbidden construct on its own."""
    for text, expected in [
        ("lambda x: open('f')", "forbidden builtin open"),
        ("lambda x: x.numpy()", "value attribute numpy"),
        ("lambda x: torch.load('f')", "torch.load not allowlisted"),
        ("lambda x: torch.relu.x", "attribute x of a module's function"),
        ("lambda x: layer.apply", "layer attribute apply"),
        ("lambda x: x.__class__", "attribute __class__"),
        ("lambda x, y=open('f'): x", "default that is not a literal"),
        ("lambda x: f'{x}'", "JoinedStr"),
        ("def f(x):\n    import os\n    return x", "Import"),
        ("lambda x: 2 ** 99999999999999999999", "integer literal"),
        ("lambda x: [*x]", "Starred"),
        ("def f(x):\n    torch = layer\n    return x", "rebinds captured names ['torch']"),
    ]:
        found = violations(ast.parse(text), CAPTURED)
        assert any(expected in v for v in found), (text, found)
    assert violations(ast.parse("lambda x: K.mean(torch.nn.functional.relu(x)) * layer.kernel"),
                      CAPTURED) == []


# ---------------------------------------------------------------------- (b) the compiler
class CompileLog:
    """``compile``/``exec``/``eval`` as the compiler module sees them, each call recorded.

    A tree is checked before the real ``compile`` sees it: a tree outside the allowlist is
    an AssertionError and never becomes code.
    """

    def __init__(self) -> None:
        self.compiled: list[ast.AST] = []  # trees that became code
        self.refused: list[ast.AST] = []  # checked trees that compile() itself refused
        self.executed: list[Any] = []

    def compile(self, tree: Any, filename: str, mode: str, *args: Any, **kwargs: Any) -> Any:
        assert isinstance(tree, ast.AST), f"compile() was given source text: {tree!r}"
        found = violations(tree, CAPTURED)
        assert found == [], f"compile() was asked to compile {found}: {ast.unparse(tree)}"
        try:
            code = builtins.compile(tree, filename, mode, *args, **kwargs)
        except SyntaxError:
            self.refused.append(tree)
            raise
        self.compiled.append(tree)
        return code

    def exec(self, code: Any, *args: Any) -> Any:
        self.executed.append(code)
        return builtins.exec(code, *args)  # noqa: S102 - checked by self.compile

    def eval(self, code: Any, *args: Any) -> Any:
        self.executed.append(code)
        return builtins.eval(code, *args)  # noqa: S307 - checked by self.compile


@contextlib.contextmanager
def compile_log() -> Iterator[CompileLog]:
    log = CompileLog()
    with pytest.MonkeyPatch.context() as patch:
        for name in ("compile", "exec", "eval"):
            patch.setattr(compiler, name, getattr(log, name), raising=False)
        yield log


def _compile(source: str) -> tuple[CompileLog, BaseException | None, Any]:
    """compile_function under the log; its UnsafeFunctionError (or, were one to escape, a
    SyntaxError) is returned with the log of what was checked, compiled and run."""
    with compile_log() as log:
        try:
            return log, None, compiler.compile_function(source, dict(OBJECTS), "fuzz")
        except (UnsafeFunctionError, SyntaxError) as error:
            return log, error, None


def test_the_compile_log_sees_a_real_compilation() -> None:
    log, error, function = _compile("def f(x):\n    x -= K.mean(x)\n    return x * layer.bias")
    assert error is None and len(log.compiled) == 1 and len(log.executed) == 1
    assert isinstance(log.compiled[0].body[0].body[0], ast.Assign)  # rebinding, not -=
    assert function(torch.tensor([1.0, 3.0])).shape == (2,)


@FUZZ
@given(source=hostile_programs)
def test_compile_function_compiles_nothing_for_a_rejected_source(source: str) -> None:
    log, error, function = _compile(source)
    if isinstance(error, SyntaxError):
        event("validated, then refused by compile()")
        assert len(log.refused) == 1 and log.compiled == [] and log.executed == [], source
    elif error is not None:
        event("rejected")
        assert log.refused == log.compiled == log.executed == [], source
    else:
        event("accepted")
        assert len(log.compiled) == 1 and len(log.executed) == 1
        assert callable(function)


HOSTILE_SOURCES = [
    "lambda x: open('CANARY', 'w')",
    "lambda x: __import__('os').system('touch CANARY')",
    "lambda x: [c for c in ().__class__.__mro__[1].__subclasses__()][0]",
    "lambda x: getattr(x, 'numpy')().tofile('CANARY')",
    "lambda x: x.numpy().tofile('CANARY')",
    "lambda x: torch.load('CANARY')",
    "lambda x: torch.from_file('CANARY', shared=True, size=4)",
    "lambda x: torch.save(x, 'CANARY')",
    "lambda x: ops.__dict__['torch']",
    "lambda x: K.set_epsilon(1.0)",
    "lambda x, y=open('CANARY', 'w'): x",
    "@open('CANARY', 'w')\ndef f(x):\n    return x",
    "lambda x: f\"{open('CANARY', 'w')}\"",
    "def f(x):\n    while True:\n        pass\n    return x",
    "def f(x):\n    import os\n    return x",
    "def f(x):\n    def g():\n        return 1\n    return x",
    "def f(x):\n    global K\n    return x",
    "def f(x):\n    y = yield x\n    return x",
    "lambda: (yield)",
    "lambda x: open(*['CANARY', 'w'])",
    "lambda x: layer.apply(print)",
    "lambda x: type(x)",
    "lambda x: exec('1')",
    "lambda x: eval('1')",
    "lambda x: 2 ** 10 ** 10",
    "lambda x: x * 1" + "0" * 400,
    "lambda x: " + "(" * 300 + "x" + ")" * 300,
    "lambda x: " + "-" * 2000 + "x",
    "class C:\n    pass",
    "lambda x: x\nopen('CANARY', 'w')",
    "def f(x: open('CANARY', 'w')) -> open('CANARY', 'w'):\n    y = open\n    return x",
    "lambda x: c.__class__",
    "lambda x: [layer][0].register_forward_hook(print)",
    "lambda x: x.untyped_storage()",
]


@pytest.mark.parametrize("source", HOSTILE_SOURCES)
def test_hostile_sources_are_rejected_before_anything_is_compiled(source: str) -> None:
    log, error, function = _compile(source)
    assert isinstance(error, UnsafeFunctionError), source
    assert function is None and log.refused == log.compiled == log.executed == []


# ---------------------------------------------------------------------- former holes
FORMER_HOLES = [
    pytest.param("def f(x):\n    torch = layer\n    y = torch.bfloat16()\n    return x",
                 id="captured-module-name-rebound-to-a-layer"),
    pytest.param("def f(x):\n    for x[0] in [1.0]:\n        pass\n    return x",
                 id="for-target-writes-into-the-input"),
    pytest.param("lambda x: [0 for x[0] in [5.0]] and x", id="comprehension-target-writes"),
    pytest.param("def f(x):\n    for i in range(10 ** 12):\n        pass\n    return x",
                 id="range-over-a-computed-constant"),
    pytest.param("lambda x: abs(9) ** 10 ** 10", id="power-of-a-call"),
    pytest.param("lambda x: pow(9, 10 ** 10)", id="builtin-pow"),
    pytest.param("lambda x: ('ab' * 10000) * 10000 * 10000", id="repeat-a-repetition"),
    pytest.param("lambda x, x: x", id="duplicate-argument-reaches-compile"),
]


@pytest.mark.parametrize("source", FORMER_HOLES)
def test_former_holes_are_refused_by_the_validator(source: str) -> None:
    with pytest.raises(UnsafeFunctionError):
        validate(source, dict(CAPTURED), "hole")


@pytest.mark.parametrize("source", ["lambda x: [layer][0].to('meta')",
                                    "def f(x):\n    alias = layer\n    y = alias.double()\n"
                                    "    return x"])
def test_layer_methods_reached_through_an_alias_fail_at_run_time(source: str) -> None:
    """The validator cannot know a list item is a layer; the compiled function only ever
    holds a view of it that can be called and have its weights read, nothing else."""
    function = compiler.compile_function(source, dict(OBJECTS), "alias")
    kernel = OBJECTS["layer"].kernel
    with pytest.raises(AttributeError, match="only call a captured layer"):
        function(torch.ones(1, 2))
    assert OBJECTS["layer"].kernel is kernel and kernel.dtype == torch.float32


@pytest.mark.parametrize("source", ["lambda x: 0()", "lambda x: x is 1",
                                    "lambda x: [i async for i in x]"])
def test_sources_that_compile_refuses_are_load_errors(source: str) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UnsafeFunctionError):
            compiler.compile_function(source, dict(OBJECTS), "fuzz")


@pytest.mark.parametrize("source", ["def f(x, axis=-1):\n    return x",
                                    "lambda x, eps=-1e-7: x + eps"])
def test_negative_literal_defaults_are_accepted(source: str) -> None:
    validate(source, dict(CAPTURED), "fuzz")

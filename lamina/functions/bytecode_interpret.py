"""Abstract interpretation of one lambda's bytecode, for one CPython version, into an AST.

The stack holds expressions instead of values; each instruction pops expressions and
pushes the expression it would compute, so ``LOAD_GLOBAL K; LOAD_ATTR mean; LOAD_FAST x``
and a call become ``K.mean(x)``. Nothing is run. The only jumps followed are the forward
diamond of ``a if c else b`` (both arms may return, or meet again); any other jump, a
store, delete, import, nested function, loop, ``yield``, ``raise`` or exception handler,
an opcode not listed here, a stack underflow or a value left over is refused.
"""

from __future__ import annotations

import ast
from typing import Any

from . import opcodes
from .bytecode_ast import (
    BINARY,
    COMPARE,
    NULL,
    Const,
    TranslateError,
    conditional,
    constant,
    identifier,
    make,
    name,
)
from .bytecode_decode import Instruction, decode
from .bytecode_steps import apply, why
from .marshal_reader import FAST_FREE, CodeInfo

MAX_STEPS = 20_000
# Builtins that run or reach arbitrary code: refused here already, whatever the caller maps.
DENIED_GLOBALS = frozenset(
    "eval exec compile open getattr setattr delattr globals locals vars input breakpoint "
    "memoryview help exit quit".split())
REFUSED_FLAGS = {0x20: "a generator", 0x80: "a coroutine", 0x100: "a coroutine",
                 0x200: "an async generator"}
CONDITIONAL = {"POP_JUMP_IF_FALSE": "false", "POP_JUMP_FORWARD_IF_FALSE": "false",
               "POP_JUMP_IF_TRUE": "true", "POP_JUMP_FORWARD_IF_TRUE": "true",
               "POP_JUMP_IF_NONE": "none", "POP_JUMP_FORWARD_IF_NONE": "none",
               "POP_JUMP_IF_NOT_NONE": "not_none", "POP_JUMP_FORWARD_IF_NOT_NONE": "not_none"}
GOTO = frozenset("JUMP_FORWARD JUMP_ABSOLUTE JUMP JUMP_NO_INTERRUPT".split())


class Translator:
    """Translates one code object of one version into an expression tree."""

    def __init__(self, code: CodeInfo, closure: list[ast.expr] | None) -> None:
        self.code, self.version = code, code.version
        self.instructions = decode(code, "")  # first: a wrong version fails here
        for flag, what in REFUSED_FLAGS.items():
            if code.flags & flag:
                raise TranslateError(f"the function is {what}")
        if code.exceptiontable:
            raise TranslateError("the function has an exception table (try/with)")
        if len(closure or ()) != len(code.freevars):
            raise TranslateError(f"the function reads {len(code.freevars)} closure "
                                 f"variables but the config gives {len(closure or ())}")
        self.closure = closure or []
        self.at = {ins.offset: i for i, ins in enumerate(self.instructions)}
        self.nargs = (code.argcount + code.kwonlyargcount + bool(code.flags & 0x04)
                      + bool(code.flags & 0x08))
        self.steps = 0
        self.kwnames: tuple[str, ...] | None = None
        self.globals: list[str] = []

    def translate(self) -> ast.expr:
        """The expression the code returns."""
        if not self.instructions:
            raise TranslateError("the bytecode is empty")
        kind, *result = self.run(0, [], None)
        if kind != "return":
            raise TranslateError("the code runs past its end without returning")
        return result[0]

    def index(self, offset: int) -> int:
        if offset not in self.at:
            raise TranslateError(f"a jump to byte {offset}, which is no instruction's start")
        return self.at[offset]

    def run(self, offset: int, stack: list[Any], stop: int | None) -> tuple[Any, ...]:
        """Interpret from ``offset`` until a return, or until reaching ``stop`` or beyond.

        Returns ``("return", expr)`` or ``("at", offset, stack)``.
        """
        i = self.index(offset)
        while True:
            if i >= len(self.instructions):
                raise TranslateError("the code runs past its end without returning")
            ins = self.instructions[i]
            if stop is not None and ins.offset >= stop:
                return ("at", ins.offset, stack)
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise TranslateError(f"more than {MAX_STEPS} interpretation steps")
            if ins.name in ("RETURN_VALUE", "RETURN_CONST"):
                value = (self.expr(self.pop(stack, ins)) if ins.name == "RETURN_VALUE"
                         else constant(self.const(ins.arg)))
                if stack:
                    raise TranslateError(f"{len(stack)} values left on the stack at return")
                return ("return", value)
            if ins.target is None:
                self.step(ins, stack)
                i += 1
                continue
            if ins.target <= ins.offset:
                raise TranslateError(f"a backward jump ({ins.name}: a loop)")
            if ins.name in GOTO:
                if stop is not None and ins.target >= stop:
                    return ("at", ins.target, stack)
                i = self.index(ins.target)
            elif ins.name in CONDITIONAL:
                result = self.diamond(ins, stack, stop)
                if result[0] == "return" or (stop is not None and result[1] >= stop):
                    return result
                stack, i = result[2], self.index(result[1])
            else:
                raise TranslateError(f"the jump {ins.name}{why(ins.name)}; only a "
                                     "conditional expression's jumps are translated")

    def diamond(self, ins: Instruction, stack: list[Any], stop: int | None) -> tuple[Any, ...]:
        """``a if c else b`` from a conditional jump: run both arms, join or return."""
        value = self.expr(self.pop(stack, ins))
        kind = CONDITIONAL[ins.name]
        if kind == "false":
            test = value
        elif kind == "true":
            test = make(ast.UnaryOp, op=ast.Not(), operand=value)
        else:  # falls through when the value is None ("none" jumps if it is)
            op = ast.IsNot() if kind == "none" else ast.Is()
            test = make(ast.Compare, left=value, ops=[op],
                        comparators=[make(ast.Constant, value=None)])
        first = self.run(ins.next_offset, list(stack), ins.target)
        if first[0] == "return":
            second = self.run(ins.target, list(stack), stop)
            if second[0] != "return":
                raise TranslateError("a conditional whose arms do not both return")
            return ("return", conditional(test, first[1], second[1]))
        join = first[1]
        if join == ins.target:
            raise TranslateError("a conditional jump that is not a conditional expression "
                                 "('and'/'or', or an 'if' without 'else')")
        second = self.run(ins.target, list(stack), join)
        if second[0] != "at" or second[1] != join:
            raise TranslateError("a conditional whose arms do not meet")
        for arm in (first[2], second[2]):
            if len(arm) != len(stack) + 1 or any(x is not y for x, y in zip(arm, stack)):
                raise TranslateError("a conditional whose arms leave different stacks")
        merged = [*stack, conditional(test, self.expr(first[2][-1]),
                                      self.expr(second[2][-1]))]
        return ("at", join, merged)

    # --- values ---------------------------------------------------------------------------

    def pop(self, stack: list[Any], ins: Instruction) -> Any:
        return self.pops(stack, ins, 1)[0]

    def pops(self, stack: list[Any], ins: Instruction, count: int) -> list[Any]:
        if len(stack) < count:
            raise TranslateError(f"a stack underflow at {ins.name} (byte {ins.offset})")
        items = stack[len(stack) - count:]
        del stack[len(stack) - count:]
        return items

    def expr(self, item: Any) -> ast.expr:
        if item is NULL:
            raise TranslateError("an instruction that uses the NULL slot of a call as a value")
        if isinstance(item, Const):
            return constant(item.value)
        return item

    def const(self, arg: int) -> Any:
        if not 0 <= arg < len(self.code.consts):
            raise TranslateError(f"constant {arg} of {len(self.code.consts)}")
        return self.code.consts[arg]

    def table(self, names: tuple[str, ...], arg: int, what: str) -> str:
        if not 0 <= arg < len(names):
            raise TranslateError(f"{what} {arg} of {len(names)}")
        return names[arg]

    def load_fast(self, arg: int) -> ast.expr:
        modern = self.version in ("3.11", "3.12", "3.13")
        names = self.code.localsplusnames if modern else self.code.varnames
        ident = self.table(names, arg, "local variable")
        if arg >= self.nargs:
            raise TranslateError(f"the local variable {ident!r} (only arguments are read)")
        return name(ident, "the argument")

    def load_deref(self, arg: int) -> ast.expr:
        if self.version in ("3.11", "3.12", "3.13"):
            kinds = self.code.localspluskinds
            self.table(self.code.localsplusnames, arg, "cell or free variable")
            if not kinds[arg] & FAST_FREE:
                raise TranslateError("a cell variable (a nested function shares it)")
            index = sum(1 for k in kinds[:arg] if k & FAST_FREE)
        else:
            index = arg - len(self.code.cellvars)
            if index < 0:
                raise TranslateError("a cell variable (a nested function shares it)")
            self.table(self.code.freevars, index, "free variable")
        return self.closure[index]

    def load_global(self, ident: str) -> ast.expr:
        node = name(ident, "the global name")
        if ident in DENIED_GLOBALS:
            raise TranslateError(f"the builtin {ident!r}, which can run or reach any code")
        if ident not in self.globals:
            self.globals.append(ident)
        return node

    def attribute(self, value: Any, arg: int) -> ast.expr:
        attr = identifier(self.table(self.code.names, arg, "name"), "the attribute")
        return make(ast.Attribute, value=self.expr(value), attr=attr, ctx=ast.Load())

    def call(self, stack: list[Any], ins: Instruction, argc: int, kwnames: Any,
             slots: int) -> None:
        if kwnames is None:
            kwnames = ()
        if not isinstance(kwnames, tuple) or not all(isinstance(k, str) for k in kwnames):
            raise TranslateError(f"{ins.name} with keyword names that are not strings")
        if len(kwnames) > argc:
            raise TranslateError(f"{ins.name} with more keyword names than arguments")
        args = [self.expr(a) for a in self.pops(stack, ins, argc)] if argc else []
        below = self.pops(stack, ins, slots)
        real = [b for b in below if b is not NULL]
        if len(real) != 1:
            raise TranslateError(f"{ins.name} without exactly one callable below its "
                                 "arguments")
        positional = args[:len(args) - len(kwnames)]
        keywords = [make(ast.keyword, arg=identifier(k, "the keyword argument"), value=v)
                    for k, v in zip(kwnames, args[len(positional):])]
        stack.append(make(ast.Call, func=self.expr(real[0]), args=positional,
                          keywords=keywords))

    def binary(self, stack: list[Any], ins: Instruction, op: str) -> None:
        left, right = (self.expr(v) for v in self.pops(stack, ins, 2))
        stack.append(make(ast.BinOp, left=left, op=BINARY[op](), right=right))

    def compare(self, stack: list[Any], ins: Instruction, op: str) -> None:
        left, right = (self.expr(v) for v in self.pops(stack, ins, 2))
        stack.append(make(ast.Compare, left=left, ops=[COMPARE[op]()], comparators=[right]))

    def build(self, stack: list[Any], ins: Instruction, cls: type) -> None:
        elts = [self.expr(v) for v in self.pops(stack, ins, ins.arg)] if ins.arg else []
        node = (make(cls, elts=elts) if cls is ast.Set
                else make(cls, elts=elts, ctx=ast.Load()))
        stack.append(node)

    def step(self, ins: Instruction, stack: list[Any]) -> None:
        """Apply one non-jump instruction to the stack."""
        apply(self, ins, stack)


def translate_code(code: CodeInfo, closure: list[ast.expr] | None = None
                   ) -> tuple[ast.expr, tuple[str, ...]]:
    """The expression a lambda's code object returns, and the global names it reads.

    Args:
        code: the code object, read by ``marshal_reader.read_code`` for its version.
        closure: one expression per free variable (``code.freevars`` order).

    Returns:
        The body expression and the global names in the order first read.

    Raises:
        TranslateError: the code uses a construct outside the translated subset.
    """
    if code.version not in opcodes.VERSIONS:
        raise TranslateError(f"Python {code.version} bytecode")
    translator = Translator(code, closure)
    return translator.translate(), tuple(translator.globals)

"""What each straight-line instruction does to the abstract stack, per CPython version.

``apply(translator, instruction, stack)`` is called by ``bytecode_interpret.Translator``
for every instruction that is not a jump or a return. Version differences handled here:
``LOAD_GLOBAL``'s NULL flag (3.11+, pushed before the global until 3.12 and after it in
3.13), ``LOAD_ATTR``'s method flag (3.12+), ``LOAD_METHOD``/``CALL_METHOD`` (3.7-3.11),
``CALL_FUNCTION``/``_KW`` (-3.10), ``KW_NAMES`` + ``CALL`` (3.11-3.12), ``CALL_KW``
(3.13), ``BINARY_OP``'s argument (3.11+), ``COMPARE_OP``'s argument (shifted by 4 in
3.12 and 5 in 3.13), ``BINARY_SLICE`` (3.12+), ``CALL_INTRINSIC_1`` (3.12+) and
``LOAD_FAST_LOAD_FAST`` (3.13). Anything not listed is refused, naming the instruction.
"""

from __future__ import annotations

import ast
from typing import Any

from . import opcodes
from .bytecode_ast import NULL, Const, TranslateError, constant, make
from .bytecode_decode import Instruction

INTRINSIC_UNARY_POSITIVE, INTRINSIC_LIST_TO_TUPLE = 5, 6
MODERN = ("3.11", "3.12", "3.13")
NOOPS = frozenset("NOP RESUME CACHE PRECALL COPY_FREE_VARS MAKE_CELL TO_BOOL".split())
OLD_BINARY = {"BINARY_POWER": "**", "BINARY_MULTIPLY": "*", "BINARY_MATRIX_MULTIPLY": "@",
              "BINARY_FLOOR_DIVIDE": "//", "BINARY_TRUE_DIVIDE": "/", "BINARY_MODULO": "%",
              "BINARY_ADD": "+", "BINARY_SUBTRACT": "-", "BINARY_LSHIFT": "<<",
              "BINARY_RSHIFT": ">>", "BINARY_AND": "&", "BINARY_XOR": "^", "BINARY_OR": "|"}
UNARY = {"UNARY_NEGATIVE": ast.USub, "UNARY_POSITIVE": ast.UAdd, "UNARY_NOT": ast.Not,
         "UNARY_INVERT": ast.Invert}
WHY = {"SETUP_LOOP": "a loop", "STORE": "a store", "DELETE": "a delete", "IMPORT": "an import",
       "MAKE_FUNCTION": "a nested function", "YIELD": "a yield", "RAISE": "a raise",
       "SETUP": "an exception handler or with block", "FOR_ITER": "a loop",
       "GET_ITER": "a loop or comprehension", "CALL_FUNCTION_EX": "a call with * or **",
       "LOAD_CLOSURE": "a nested function", "LIST_APPEND": "a comprehension",
       "JUMP_IF": "'and'/'or'", "DUP_TOP": "a chained comparison or in-place operation",
       "COPY": "a chained comparison, 'and'/'or' or in-place operation",
       "FORMAT_VALUE": "an f-string", "LOAD_NAME": "a module-level name",
       "BEFORE": "a with block"}


def why(opname: str) -> str:
    """A parenthesised reason an instruction is refused (what it is used for), or ''."""
    for prefix, reason in WHY.items():
        if opname.startswith(prefix) or f"_{prefix}" in opname:
            return f" ({reason})"
    return ""


def _slice_part(node: ast.expr) -> ast.expr | None:
    return None if isinstance(node, ast.Constant) and node.value is None else node


def _extend(t: Any, stack: list[Any], ins: Instruction, cls: type) -> None:
    """``LIST_EXTEND 1`` / ``SET_UPDATE 1`` of a constant: a display of constants."""
    value = t.pop(stack, ins)
    target = stack[-1] if stack else None
    if ins.arg != 1 or not isinstance(target, cls) or not isinstance(value, Const) or not (
            isinstance(value.value, (tuple, frozenset))):
        raise TranslateError(f"{ins.name} of something other than constants (unpacking)")
    items = constant(value.value).elts
    fields = {"elts": [*target.elts, *items]}
    if cls is ast.List:
        fields["ctx"] = ast.Load()
    stack[-1] = make(cls, **fields)


def _loads(t: Any, ins: Instruction, stack: list[Any]) -> bool:
    """Loads of arguments, constants, closure values, globals and attributes."""
    name, arg, version = ins.name, ins.arg, t.version
    if name in ("LOAD_FAST", "LOAD_FAST_CHECK"):
        stack.append(t.load_fast(arg))
    elif name == "LOAD_FAST_LOAD_FAST":
        stack += [t.load_fast(arg >> 4), t.load_fast(arg & 15)]
    elif name == "LOAD_CONST":
        stack.append(Const(t.const(arg)))
    elif name == "LOAD_DEREF":
        stack.append(t.load_deref(arg))
    elif name == "LOAD_GLOBAL":
        if version not in MODERN:
            stack.append(t.load_global(t.table(t.code.names, arg, "name")))
            return True
        node = t.load_global(t.table(t.code.names, arg >> 1, "name"))
        pushed = [node] if not arg & 1 else [node, NULL] if version == "3.13" else [NULL, node]
        stack += pushed
    elif name == "LOAD_ATTR":
        if version in ("3.12", "3.13"):
            node = t.attribute(t.pop(stack, ins), arg >> 1)
            stack += [node] if not arg & 1 else [node, NULL] if version == "3.13" else [
                NULL, node]
        else:
            stack.append(t.attribute(t.pop(stack, ins), arg))
    elif name == "LOAD_METHOD":
        stack += [NULL, t.attribute(t.pop(stack, ins), arg)]
    elif name == "PUSH_NULL":
        stack.append(NULL)
    elif name == "KW_NAMES":
        t.kwnames = t.const(arg)
    else:
        return False
    return True


def _calls(t: Any, ins: Instruction, stack: list[Any]) -> bool:
    name, arg = ins.name, ins.arg
    if name == "CALL_FUNCTION":
        t.call(stack, ins, arg, None, 1)
    elif name == "CALL_FUNCTION_KW":
        t.call(stack, ins, arg, _names(t, stack, ins), 1)
    elif name == "CALL_METHOD":
        t.call(stack, ins, arg, None, 2)
    elif name == "CALL":
        kwnames, t.kwnames = t.kwnames, None
        t.call(stack, ins, arg, kwnames, 2)
    elif name == "CALL_KW":
        t.call(stack, ins, arg, _names(t, stack, ins), 2)
    else:
        return False
    return True


def _names(t: Any, stack: list[Any], ins: Instruction) -> Any:
    item = t.pop(stack, ins)
    if not isinstance(item, Const):
        raise TranslateError(f"{ins.name} whose keyword names are not a constant")
    return item.value


def _operators(t: Any, ins: Instruction, stack: list[Any]) -> bool:
    name, arg, version = ins.name, ins.arg, t.version
    if name in OLD_BINARY:
        t.binary(stack, ins, OLD_BINARY[name])
    elif name == "BINARY_OP":
        if arg >= 13 or arg >= len(opcodes.BINARY_OP_ARGS):
            raise TranslateError(f"BINARY_OP {arg} (an in-place operation)")
        t.binary(stack, ins, opcodes.BINARY_OP_ARGS[arg])
    elif name in UNARY:
        operand = t.expr(t.pop(stack, ins))
        stack.append(make(ast.UnaryOp, op=UNARY[name](), operand=operand))
    elif name == "CALL_INTRINSIC_1" and arg == INTRINSIC_UNARY_POSITIVE:
        stack.append(make(ast.UnaryOp, op=ast.UAdd(), operand=t.expr(t.pop(stack, ins))))
    elif name == "COMPARE_OP":
        index = arg >> 5 if version == "3.13" else arg >> 4 if version == "3.12" else arg
        ops = opcodes.COMPARE_OPS
        if index >= len(ops) or ops[index] in ("exception_match", "BAD") or (
                version not in ("3.6", "3.7", "3.8") and index > 5):
            raise TranslateError(f"COMPARE_OP {arg}")
        t.compare(stack, ins, ops[index])
    elif name == "IS_OP":
        t.compare(stack, ins, "is_not" if arg else "is")
    elif name == "CONTAINS_OP":
        t.compare(stack, ins, "not_in" if arg else "in")
    else:
        return False
    return True


def _containers(t: Any, ins: Instruction, stack: list[Any]) -> bool:
    name, arg = ins.name, ins.arg
    if name == "BINARY_SUBSCR":
        value, index = t.pops(stack, ins, 2)
        stack.append(make(ast.Subscript, value=t.expr(value), slice=t.expr(index),
                          ctx=ast.Load()))
    elif name == "BUILD_SLICE":
        if arg not in (2, 3):
            raise TranslateError(f"BUILD_SLICE {arg}")
        parts = [_slice_part(t.expr(v)) for v in t.pops(stack, ins, arg)]
        stack.append(make(ast.Slice, lower=parts[0], upper=parts[1],
                          step=parts[2] if arg == 3 else None))
    elif name == "BINARY_SLICE":
        value, lower, upper = t.pops(stack, ins, 3)
        part = make(ast.Slice, lower=_slice_part(t.expr(lower)),
                    upper=_slice_part(t.expr(upper)), step=None)
        stack.append(make(ast.Subscript, value=t.expr(value), slice=part, ctx=ast.Load()))
    elif name in ("BUILD_TUPLE", "BUILD_LIST", "BUILD_SET"):
        t.build(stack, ins, {"BUILD_TUPLE": ast.Tuple, "BUILD_LIST": ast.List,
                             "BUILD_SET": ast.Set}[name])
    elif name == "BUILD_MAP":
        items = [t.expr(v) for v in t.pops(stack, ins, 2 * arg)] if arg else []
        stack.append(make(ast.Dict, keys=items[0::2], values=items[1::2]))
    elif name == "BUILD_CONST_KEY_MAP":
        keys = t.pop(stack, ins)
        values = [t.expr(v) for v in t.pops(stack, ins, arg)] if arg else []
        if not isinstance(keys, Const) or not isinstance(keys.value, tuple) or len(
                keys.value) != arg:
            raise TranslateError("BUILD_CONST_KEY_MAP without a constant tuple of keys")
        stack.append(make(ast.Dict, keys=[constant(k) for k in keys.value], values=values))
    elif name == "LIST_EXTEND":
        _extend(t, stack, ins, ast.List)
    elif name == "SET_UPDATE":
        _extend(t, stack, ins, ast.Set)
    elif name == "LIST_TO_TUPLE" or (name == "CALL_INTRINSIC_1"
                                     and arg == INTRINSIC_LIST_TO_TUPLE):
        value = t.expr(t.pop(stack, ins))
        if not isinstance(value, ast.List):
            raise TranslateError(f"{name} of something other than a list display")
        stack.append(make(ast.Tuple, elts=value.elts, ctx=ast.Load()))
    else:
        return False
    return True


def apply(t: Any, ins: Instruction, stack: list[Any]) -> None:
    """Apply one non-jump instruction to the abstract stack.

    Args:
        t: the ``Translator`` (its code object, version and helpers).
        ins: the instruction.
        stack: the abstract stack, changed in place.

    Raises:
        TranslateError: the instruction is not in the translated subset.
    """
    if ins.name in NOOPS:
        return
    if t.kwnames is not None and ins.name != "CALL":
        if ins.name not in ("PRECALL",):
            raise TranslateError(f"KW_NAMES followed by {ins.name}, not CALL")
    for group in (_loads, _calls, _operators, _containers):
        if group(t, ins, stack):
            return
    raise TranslateError(f"the instruction {ins.name}{why(ins.name)}")

"""A Lambda's function as Keras 3 stores a Python lambda in a ``.keras`` file.

Keras writes ``{"class_name": "__lambda__", "config": {"code", "defaults", "closure"}}``:
the base64 of ``marshal.dumps(fn.__code__)`` (``python_utils.func_dump``), and loads it
only with ``safe_mode=False``, rebuilding the function with the globals of its own module
``keras.src.utils.python_utils``. So, in the file lamina writes:

* the function's own names must resolve there: builtins do; ``ops``, ``keras``, ``np``,
  ``numpy`` and ``math`` (when the function's module holds ``lamina.ops``, ``lamina``,
  numpy or ``math`` under that name) are bound by a wrapper lambda compiled from the
  function's source, ``lambda x: (lambda ops: <source>)(__import__("keras").ops)(x)``, so
  that ``lamina.ops.sin`` becomes ``keras.ops.sin``. Any other global is refused;
* captured values (closure cells) must be plain JSON values;
* default argument values are refused: Keras 3.15 cannot load them (``func_load`` passes
  the JSON list where a tuple is needed);
* the bytecode is this Python's, as in Keras's own files: load it with the same Python
  version.
"""

from __future__ import annotations

import ast
import builtins
import codecs
import dis
import marshal
import math
import types
from typing import Any

from lamina.errors import SerializationError
from lamina.functions.source import function_source
from lamina.keras_names import KERAS_NAMES

#: The module a global must hold, and the expression that gives Keras's equivalent.
_MODULES = {"lamina.ops": '__import__("keras").ops', "lamina": '__import__("keras")',
            "numpy": '__import__("numpy")', "math": '__import__("math")'}


def keras_lambda_entry(fn: Any, where: str) -> dict[str, Any]:
    """Keras's ``__lambda__`` entry for ``fn`` (see the module docstring).

    Raises:
        SerializationError: ``fn`` cannot be written so that Keras loads and runs it; the
            message names ``where`` and the reason.
    """
    if not isinstance(fn, types.FunctionType):
        raise SerializationError(
            f"{where}: its function {fn!r} is not a plain Python function, which is all a "
            ".keras file can hold (as bytecode). Save as .lamina instead.")
    if fn.__defaults__ or fn.__kwdefaults__:
        raise SerializationError(
            f"{where}: its function has default argument values, which Keras 3 cannot "
            "load from a .keras file. Pass them through Lambda(arguments=...) instead.")
    closure = [_plain(cell.cell_contents, where, name) for name, cell in
               zip(fn.__code__.co_freevars, fn.__closure__ or ())]
    source = getattr(fn, "__lamina_source__", None)
    code = fn.__code__ if source is None else _plain_code(source, where)
    unknown = sorted(name for name in global_names(code) if not hasattr(builtins, name))
    if not unknown:
        return _entry(code, closure or None, source)
    missing = [name for name in unknown if _module_expression(fn, name) is None]
    if missing:
        raise SerializationError(
            f"{where}: its function uses {', '.join(repr(n) for n in missing)}, which Keras "
            "cannot resolve: Keras rebuilds a lambda with the globals of its own module. "
            "Only builtins and the modules ops, keras (lamina), numpy and math can be "
            "written. Save as .lamina instead, or use Keras layers for that step.")
    return _entry(_wrapped(fn, unknown, closure, where), None, source)


def global_names(code: types.CodeType) -> set[str]:
    """The global names ``code`` (and the functions defined in it) reads or writes."""
    found: set[str] = set()
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL",
                                  "DELETE_GLOBAL"):
            found.add(str(instruction.argval))
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found |= global_names(constant)
    return found


def _entry(code: types.CodeType, closure: list[Any] | None,
           source: str | None = None) -> dict[str, Any]:
    """Keras's entry; a function lamina compiled from checked source (one loaded from a file
    or converted from Keras) also carries that source as ``lamina_source``, which Keras
    ignores and ``lamina.from_keras`` reads instead of the bytecode (checked like any)."""
    raw = codecs.encode(marshal.dumps(code), "base64").decode("ascii")
    config: dict[str, Any] = {"code": raw, "defaults": None, "closure": closure}
    if source is not None:
        config["lamina_source"] = source
    return {"class_name": "__lambda__", "config": config}


def _plain_code(source: str, where: str) -> types.CodeType:
    """The code of a checked source as written (not lamina's bounded rewrite of it)."""
    try:
        module = compile(source, "<lamina keras lambda>", "exec")
    except SyntaxError as error:
        raise SerializationError(f"{where}: its source does not compile: {error}") from None
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _plain(value: Any, where: str, name: str) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(f"{where}: its function captures {name}={value!r}; a "
                                     ".keras file's JSON cannot hold it.")
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(item, where, name) for item in value]
    raise SerializationError(
        f"{where}: its function captures {name!r}, a {type(value).__name__}; a .keras "
        "file holds only plain values (numbers, strings, lists of them) in a lambda's "
        "closure. Make it a weight of a custom layer, or save as .lamina.")


def _module_expression(fn: types.FunctionType, name: str) -> str | None:
    """Keras's expression for a global of ``fn``: a module (lamina's compiled functions
    hold views of modules, which name theirs) or a captured plain value."""
    value = fn.__globals__.get(name)
    if isinstance(value, types.ModuleType):
        return _MODULES.get(value.__name__)
    module = getattr(value, "__lamina_module__", None)
    if isinstance(module, str):
        if module == "lamina.backend" and _backend_names(fn, name) <= KERAS_NAMES["ops"]:
            return _MODULES["lamina.ops"]  # the backend functions Keras has under ops
        return _MODULES.get(module)
    if hasattr(fn, "__lamina_source__") and (value is None or isinstance(
            value, (bool, int, float, str, list, tuple))):
        return repr(value)
    return None


def _backend_names(fn: types.FunctionType, name: str) -> set[str]:
    """The attributes a compiled function reads from its global ``name``."""
    tree = ast.parse(str(getattr(fn, "__lamina_source__", "")))
    return {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name) and node.value.id == name}


def _wrapped(fn: types.FunctionType, names: list[str], closure: list[Any],
             where: str) -> types.CodeType:
    """A lambda with ``fn``'s signature that binds ``names`` (and ``fn``'s captured
    values) as parameters of a lambda around ``fn``'s source, and calls the result."""
    source = function_source(fn)
    node = _lambda_node(source)
    if node is None:
        raise SerializationError(
            f"{where}: its function uses {', '.join(names)} and its source (a lambda "
            "expression) is not available, so lamina cannot bind them for Keras. Save as "
            ".lamina instead.")
    parameters = ast.unparse(node.args)
    arguments = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    if node.args.vararg is not None:
        arguments.append(f"*{node.args.vararg.arg}")
    arguments += [f"{a.arg}={a.arg}" for a in node.args.kwonlyargs]
    if node.args.kwarg is not None:
        arguments.append(f"**{node.args.kwarg.arg}")
    bound = [*names, *fn.__code__.co_freevars]
    values = [str(_module_expression(fn, name)) for name in names] + [repr(v) for v in closure]
    text = (f"lambda {parameters}: (lambda {', '.join(bound)}: ({ast.unparse(node)}))"
            f"({', '.join(values)})({', '.join(arguments)})")
    module = compile(text, "<lamina keras lambda>", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _lambda_node(source: str | None) -> ast.Lambda | None:
    if not source:
        return None
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return None
    return tree.body if isinstance(tree.body, ast.Lambda) else None

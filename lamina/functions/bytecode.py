"""The bytecode tier: opt-in at save *and* at load, for one Python version only.

Only used when a function has no source and cannot be traced, and only when the user
saves with ``allow_bytecode=True``; loading it needs ``safe_mode=False``. The Python
version that wrote the code is compared before anything is unmarshalled, so a mismatch is
a clear error rather than a crash.
"""

from __future__ import annotations

import base64
import builtins
import marshal
import sys
import types
from typing import Any

from lamina.errors import LoadError, UnsafeFunctionError


def _version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def dump_code(fn: Any) -> dict[str, Any]:
    """The function's code object, marshalled, with the Python version that wrote it."""
    code = fn.__code__
    return {"python": _version(), "name": code.co_name,
            "code": base64.b64encode(marshal.dumps(code)).decode("ascii")}


def load_code(entry: dict[str, Any], captured: dict[str, Any], safe_mode: bool,
              where: str) -> Any:
    """Rebuild a bytecode-tier function; refused in safe mode or on another Python."""
    if safe_mode:
        raise UnsafeFunctionError(
            f"{where}: the function was saved as Python bytecode, which safe mode never "
            "loads. If you trust the file, load it with safe_mode=False."
        )
    if entry.get("python") != _version():
        raise LoadError(
            f"{where}: the function's bytecode was written by Python {entry.get('python')}; "
            f"this is Python {_version()}, whose bytecode differs. Load it on Python "
            f"{entry.get('python')}, or re-save the model with the function in a .py file."
        )
    code = marshal.loads(base64.b64decode(str(entry["code"])))
    if not isinstance(code, types.CodeType):
        raise LoadError(f"{where}: the bytecode entry does not hold a code object.")
    namespace = {"__builtins__": builtins, **captured}
    closure = tuple(types.CellType(captured.get(name)) for name in code.co_freevars)
    return types.FunctionType(code, namespace, code.co_name, None, closure or None)

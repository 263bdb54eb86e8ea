"""A strict reader of CPython 3.6-3.13 ``marshal`` data, returning plain Python data.

Keras stores a ``Lambda``'s function as ``marshal.dumps(fn.__code__)``. lamina never hands
those bytes to ``marshal.loads`` (which builds live code objects): this module reads them
as data into :class:`CodeInfo` records, for ``bytecode_interpret`` to read as data too.

Only what ``marshal.dumps`` of a code object can hold is accepted: ``None``, booleans,
``...``, ints and longs, binary floats and complexes, bytes, strings, tuples, frozensets
and code objects, with references (``FLAG_REF`` and ``TYPE_REF``). Everything is bounded
before it is allocated: the input's size, nesting depth, object count, each length
against the bytes that remain, long digits, and the expanded size of any value (refs can
share one tuple many times, and hashing or comparing such a value walks every share).
Anything else is a :class:`~lamina.errors.LoadError` naming what and at which offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from lamina.errors import LoadError

MAX_INPUT_BYTES = 768 * 1024  # about 1 MiB of base64
MAX_DEPTH = 32
MAX_OBJECTS = 100_000
MAX_EXPANDED = 200_000  # items in one value counting every share of a referenced one
MAX_LONG_DIGITS = 300  # 15 bits each: 4,500 bits
VERSIONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")

FLAG_REF = 0x80
# 3.11+ co_localspluskinds bits
FAST_LOCAL, FAST_CELL, FAST_FREE = 0x20, 0x40, 0x80


@dataclass(frozen=True)
class CodeInfo:
    """A code object as data: the fields of ``types.CodeType`` that a reader needs.

    For 3.11+ ``varnames``/``cellvars``/``freevars`` are derived from
    ``localsplusnames``/``localspluskinds`` exactly as CPython derives them.
    """

    version: str
    argcount: int
    posonlyargcount: int
    kwonlyargcount: int
    nlocals: int
    stacksize: int
    flags: int
    code: bytes
    consts: tuple[Any, ...]
    names: tuple[str, ...]
    varnames: tuple[str, ...]
    freevars: tuple[str, ...]
    cellvars: tuple[str, ...]
    filename: str
    name: str
    qualname: str
    firstlineno: int
    linetable: bytes
    exceptiontable: bytes
    localsplusnames: tuple[str, ...]
    localspluskinds: bytes


class _Pending:
    """A reference slot reserved for a container whose contents are still being read."""


_PENDING = _Pending()
_SIMPLE = {ord("N"): None, ord("F"): False, ord("T"): True, ord("."): ...}


class _Reader:
    def __init__(self, data: bytes, version: str, where: str) -> None:
        self.data = data
        self.pos = 0
        self.version = version
        self.where = where
        self.refs: list[Any] = []  # (value, expanded size) or _PENDING
        self.count = 0
        self.field_size = 0  # expanded size of the code object being read, so far

    def fail(self, what: str, offset: int | None = None) -> LoadError:
        at = self.pos if offset is None else offset
        return LoadError(f"{self.where}: cannot read the lambda's bytecode as Python "
                         f"{self.version} marshal data: {what} (at byte {at}).")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or n > len(self.data) - self.pos:
            raise self.fail(f"{what} needs {n} bytes but only {len(self.data) - self.pos} "
                            "remain (truncated or damaged data)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def i32(self, what: str) -> int:
        return struct.unpack("<i", self.take(4, what))[0]

    def length(self, what: str, min_item_bytes: int) -> int:
        start = self.pos
        n = self.i32(f"the length of {what}")
        if n < 0 or n * min_item_bytes > len(self.data) - self.pos:
            raise self.fail(f"{what} declares {n} items, more than the "
                            f"{len(self.data) - self.pos} bytes that remain", start)
        return n

    def read(self, depth: int) -> tuple[Any, int]:
        """One object and its expanded size."""
        if depth > MAX_DEPTH:
            raise self.fail(f"objects nested more than {MAX_DEPTH} levels deep")
        self.count += 1
        if self.count > MAX_OBJECTS:
            raise self.fail(f"more than {MAX_OBJECTS} objects")
        start = self.pos
        byte = self.u8("a type code")
        code, flag = byte & 0x7F, byte & FLAG_REF
        if code == ord("r"):
            index = self.i32("a reference index")
            if not 0 <= index < len(self.refs):
                raise self.fail(f"reference {index} to an object not read yet "
                                f"({len(self.refs)} so far)", start)
            if self.refs[index] is _PENDING:
                raise self.fail(f"reference {index} to a container still being read "
                                "(a cycle)", start)
            return self.refs[index]
        slot = -1
        if flag:
            slot = len(self.refs)
            self.refs.append(_PENDING)
        value, size = self.read_body(code, depth, start)
        if size > MAX_EXPANDED:
            raise self.fail(f"a value that expands to more than {MAX_EXPANDED} items", start)
        if flag:
            self.refs[slot] = (value, size)
        return value, size

    def read_body(self, code: int, depth: int, start: int) -> tuple[Any, int]:
        if code in _SIMPLE:
            return _SIMPLE[code], 1
        char = chr(code)
        if char == "i":
            return self.i32("an int"), 1
        if char == "l":
            return self.read_long(start), 1
        if char == "g":
            return struct.unpack("<d", self.take(8, "a float"))[0], 1
        if char == "y":
            real, imag = struct.unpack("<dd", self.take(16, "a complex"))
            return complex(real, imag), 1
        if char == "s":
            return self.take(self.length("bytes", 1), "bytes"), 1
        if char in "zZ":
            return self.text(self.take(self.u8("a string length"), "a string"), "ascii"), 1
        if char in "aAtu":
            encoding = "utf-8" if char in "tu" else "ascii"
            return self.text(self.take(self.length("a string", 1), "a string"), encoding), 1
        if char in ")(>":
            n = self.u8("a tuple length") if char == ")" else self.length("a tuple", 1)
            if char == ")" and n > len(self.data) - self.pos:
                raise self.fail(f"a tuple declares {n} items, more than the bytes that remain")
            items, size = [], 1
            for _ in range(n):
                item, item_size = self.read(depth + 1)
                items.append(item)
                size += item_size
                if size > MAX_EXPANDED:
                    raise self.fail(f"a value that expands to more than {MAX_EXPANDED} items")
            if char != ">":
                return tuple(items), size
            try:
                return frozenset(items), size
            except TypeError:
                raise self.fail("a frozenset holding an unhashable item", start) from None
        if char == "c":
            return self.read_code(depth, start)
        name = repr(char) if char.isprintable() else f"0x{code:02x}"
        raise self.fail(f"type code {name} is not one a code object's marshal data holds",
                        start)

    def text(self, raw: bytes, encoding: str) -> str:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise self.fail(f"a string that is not valid {encoding} ({exc.reason})") from None

    def read_long(self, start: int) -> int:
        n = self.i32("a long's digit count")
        count = abs(n)
        if count > MAX_LONG_DIGITS:
            raise self.fail(f"a long of {count} digits (at most {MAX_LONG_DIGITS})", start)
        digits = struct.unpack(f"<{count}H", self.take(2 * count, "a long's digits"))
        if any(d > 0x7FFF for d in digits) or (count and digits[-1] == 0):
            raise self.fail("a long with invalid or unnormalised digits", start)
        value = 0
        for digit in reversed(digits):
            value = (value << 15) | digit
        return -value if n < 0 else value

    def field(self, depth: int, kind: type, what: str, items: type | None = None) -> Any:
        at = self.pos
        value, size = self.read(depth + 1)
        self.field_size += size
        if not isinstance(value, kind) or (
                items is not None and not all(isinstance(v, items) for v in value)):
            raise self.fail(f"the code object's {what} is a {type(value).__name__}, "
                            f"not a {kind.__name__}" + (f" of {items.__name__}" if items else ""),
                            at)
        return value

    def read_code(self, depth: int, start: int) -> tuple[CodeInfo, int]:
        modern = self.version not in ("3.6", "3.7", "3.8", "3.9", "3.10")
        outer_size, self.field_size = self.field_size, 0
        argcount = self.i32("co_argcount")
        posonly = 0 if self.version in ("3.6", "3.7") else self.i32("co_posonlyargcount")
        kwonly = self.i32("co_kwonlyargcount")
        nlocals = 0 if modern else self.i32("co_nlocals")
        stacksize = self.i32("co_stacksize")
        flags = self.i32("co_flags")
        code = self.field(depth, bytes, "co_code")
        consts = self.field(depth, tuple, "co_consts")
        names = self.field(depth, tuple, "co_names", str)
        if modern:
            plus_names = self.field(depth, tuple, "co_localsplusnames", str)
            kinds = self.field(depth, bytes, "co_localspluskinds")
            if len(kinds) != len(plus_names):
                raise self.fail("co_localspluskinds and co_localsplusnames differ in length")
            varnames = tuple(n for n, k in zip(plus_names, kinds) if k & FAST_LOCAL)
            cellvars = tuple(n for n, k in zip(plus_names, kinds) if k & FAST_CELL)
            freevars = tuple(n for n, k in zip(plus_names, kinds) if k & FAST_FREE)
            nlocals = len(varnames)
        else:
            varnames = self.field(depth, tuple, "co_varnames", str)
            freevars = self.field(depth, tuple, "co_freevars", str)
            cellvars = self.field(depth, tuple, "co_cellvars", str)
            plus_names, kinds = (), b""
        filename = self.field(depth, str, "co_filename")
        name = self.field(depth, str, "co_name")
        qualname = self.field(depth, str, "co_qualname") if modern else name
        firstlineno = self.i32("co_firstlineno")
        linetable = self.field(depth, bytes, "co_linetable" if modern else "co_lnotab")
        exceptiontable = self.field(depth, bytes, "co_exceptiontable") if modern else b""
        for label, count in (("co_argcount", argcount), ("co_posonlyargcount", posonly),
                             ("co_kwonlyargcount", kwonly), ("co_stacksize", stacksize)):
            if count < 0:
                raise self.fail(f"a negative {label} ({count})", start)
        if posonly > argcount or argcount + kwonly > len(varnames):
            raise self.fail("argument counts larger than the code object's local names", start)
        size, self.field_size = 1 + self.field_size, outer_size
        info = CodeInfo(
            version=self.version, argcount=argcount, posonlyargcount=posonly,
            kwonlyargcount=kwonly, nlocals=nlocals, stacksize=stacksize, flags=flags,
            code=code, consts=consts, names=names, varnames=varnames, freevars=freevars,
            cellvars=cellvars, filename=filename, name=name, qualname=qualname,
            firstlineno=firstlineno, linetable=linetable, exceptiontable=exceptiontable,
            localsplusnames=plus_names, localspluskinds=kinds)
        return info, size


def read_code(data: bytes, version: str, where: str = "Lambda") -> CodeInfo:
    """Read ``marshal.dumps(code)`` bytes written by CPython ``version`` as a CodeInfo.

    Args:
        data: the marshalled bytes (already base64-decoded).
        version: the Python version that wrote them, ``"3.6"`` .. ``"3.13"``.
        where: what to name in error messages (the layer).

    Returns:
        The code object's fields as plain data; nested code objects in ``consts`` are
        CodeInfo too.

    Raises:
        LoadError: the data is not exactly one well-formed code object of that version,
            or exceeds a bound.
    """
    if version not in VERSIONS:
        raise LoadError(f"{where}: Python {version} bytecode is not supported "
                        f"(only {VERSIONS[0]} to {VERSIONS[-1]}).")
    if len(data) > MAX_INPUT_BYTES:
        raise LoadError(f"{where}: the lambda's bytecode is {len(data)} bytes, more than "
                        f"the {MAX_INPUT_BYTES} lamina reads.")
    reader = _Reader(bytes(data), version, where)
    value, _ = reader.read(0)
    if not isinstance(value, CodeInfo):
        raise reader.fail(f"the data holds a {type(value).__name__}, not a code object", 0)
    if reader.pos != len(data):
        raise reader.fail(f"{len(data) - reader.pos} bytes follow the code object")
    return value

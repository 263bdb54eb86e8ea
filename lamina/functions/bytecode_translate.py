"""A Keras ``Lambda``'s marshalled function, translated into lamina source text.

Keras stores a lambda as ``base64(marshal.dumps(fn.__code__))`` with its ``defaults`` and
``closure`` values, and does not record which Python wrote it. :func:`translate_lambda`
reads the bytes with lamina's own marshal reader and rebuilds the lambda's expression by
abstract interpretation (``bytecode_interpret``) for each of CPython 3.6-3.13 in turn;
the versions that succeed must agree on one source. Nothing from the file is unmarshalled
by CPython, compiled or run here: the caller validates the text with
``lamina.functions.safe.validate`` and compiles it.
"""

from __future__ import annotations

import ast
import base64
import binascii
from dataclasses import dataclass
from typing import Any

from lamina.errors import LoadError

from .bytecode_ast import (
    MAX_TEXT_CHARS,
    TranslateError,
    check_literal_size,
    check_slices,
    identifier,
    literal,
    make,
)
from .bytecode_interpret import translate_code
from .marshal_reader import MAX_INPUT_BYTES, VERSIONS, CodeInfo, read_code

MAX_BASE64_CHARS = 1024 * 1024
CO_VARARGS, CO_VARKEYWORDS = 0x04, 0x08
#: Most parameters a translated lambda may declare (Python's limit before 3.7).
MAX_ARGUMENTS = 255


@dataclass(frozen=True)
class TranslatedLambda:
    """The translation of one Keras lambda.

    Attributes:
        source: ``lambda`` source text, names exactly as the lambda wrote them.
        versions: every Python version whose decoding produced this source.
        global_names: the global names it reads (builtins included), in first-read order.
    """

    source: str
    versions: tuple[str, ...]
    global_names: tuple[str, ...]


def decode_base64(code_b64: Any, where: str) -> bytes:
    """The bytes of Keras's base64 text (``codecs`` line breaks allowed), strictly."""
    if not isinstance(code_b64, str):
        raise LoadError(f"{where}: the lambda's code is a {type(code_b64).__name__}, not "
                        "base64 text.")
    if len(code_b64) > MAX_BASE64_CHARS:
        raise LoadError(f"{where}: the lambda's code is {len(code_b64)} characters of "
                        f"base64, more than the {MAX_BASE64_CHARS} lamina reads.")
    text = "".join(code_b64.split())
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise LoadError(f"{where}: the lambda's code is not valid base64 ({exc}).") from None
    if len(data) > MAX_INPUT_BYTES:
        raise LoadError(f"{where}: the lambda's code is {len(data)} bytes, more than the "
                        f"{MAX_INPUT_BYTES} lamina reads.")
    return data


def _arguments(code: CodeInfo, defaults: Any) -> ast.arguments:
    if code.argcount + code.kwonlyargcount > MAX_ARGUMENTS:
        raise TranslateError(f"{code.argcount + code.kwonlyargcount} parameters, more than "
                             f"the {MAX_ARGUMENTS} lamina translates")
    names = [identifier(n, "the argument") for n in code.varnames[:code.argcount
                                                                   + code.kwonlyargcount]]
    extra = code.argcount + code.kwonlyargcount
    if extra + bool(code.flags & CO_VARARGS) + bool(code.flags & CO_VARKEYWORDS) > len(
            code.varnames):
        raise TranslateError("more arguments than the code object has local names")
    vararg = kwarg = None
    if code.flags & CO_VARARGS:
        vararg = make(ast.arg, arg=identifier(code.varnames[extra], "the argument"))
        extra += 1
    if code.flags & CO_VARKEYWORDS:
        kwarg = make(ast.arg, arg=identifier(code.varnames[extra], "the argument"))
    if defaults is None:
        defaults = []
    if not isinstance(defaults, (list, tuple)):
        raise TranslateError(f"the defaults are a {type(defaults).__name__}, not a list")
    if len(defaults) > code.argcount:
        raise TranslateError(f"{len(defaults)} defaults for {code.argcount} arguments")
    positional = [make(ast.arg, arg=n) for n in names[:code.argcount]]
    kwonly = [make(ast.arg, arg=n) for n in names[code.argcount:]]
    return make(ast.arguments, posonlyargs=positional[:code.posonlyargcount],
                args=positional[code.posonlyargcount:], vararg=vararg, kwonlyargs=kwonly,
                kw_defaults=[None] * len(kwonly), kwarg=kwarg,
                defaults=[literal(d, "a default value") for d in defaults])


class VersionError(LoadError):
    """Why one Python version could not translate the data, and how far it got.

    ``stage`` is 0 when the data is not that version's marshal format, 1 when its
    instructions do not decode as that version's, 2 when they decode but use a construct
    outside the translated subset (the most informative reason).
    """

    def __init__(self, message: str, stage: int) -> None:
        super().__init__(message)
        self.stage = stage


def translate_version(data: bytes, version: str, defaults: Any, closure: Any,
                      where: str) -> tuple[str, tuple[str, ...]]:
    """The lambda's source and global names if ``data`` was written by ``version``.

    Raises:
        VersionError: the data is not that version's marshal format or instructions, or
            the code is outside the translated subset (naming the construct and version).
    """
    try:
        code = read_code(data, version, where)
    except LoadError as exc:
        raise VersionError(str(exc), 0) from None
    try:
        if closure is not None and not isinstance(closure, (list, tuple)):
            raise TranslateError(f"the closure is a {type(closure).__name__}, not a list")
        cells = [literal(v, "a closure value") for v in closure or ()]
        body, global_names = translate_code(code, cells)
        tree = make(ast.Lambda, args=_arguments(code, defaults), body=body)
        check_slices(tree)
        source = ast.unparse(tree)
        if len(source) > MAX_TEXT_CHARS:
            raise TranslateError(f"a translation of {len(source)} characters, more than "
                                 f"{MAX_TEXT_CHARS}")
        ast.parse(source, mode="eval")  # parsed only: a malformed translation is refused
    except TranslateError as exc:
        raise VersionError(f"{where}: cannot translate the lambda's Python {version} "
                           f"bytecode: {exc}.", 2) from None
    except LoadError as exc:
        raise VersionError(f"{where}: the lambda's code is not Python {version} bytecode: "
                           f"{exc}", 1) from None
    except (SyntaxError, RecursionError, ValueError) as exc:
        raise VersionError(f"{where}: the lambda's Python {version} bytecode translates to "
                           f"text that is not Python ({type(exc).__name__}).", 2) from None
    return source, global_names


def translate_lambda(code_b64: str, defaults: Any = None, closure: Any = None,
                     python_version: str | None = None, where: str = "Lambda"
                     ) -> TranslatedLambda:
    """Translate a Keras lambda's marshalled code into lamina source, never running it.

    Args:
        code_b64: the ``code`` of Keras's ``__lambda__`` config (base64 of marshal).
        defaults: the config's ``defaults`` (literal default values), or None.
        closure: the config's ``closure`` values (JSON literals, ``co_freevars`` order).
        python_version: the Python that wrote the code (``"3.10"``), if known; otherwise
            every version from 3.6 to 3.13 is tried and the successes must agree.
        where: what to name in error messages (the layer).

    Returns:
        The source, the versions that produced it and the global names it reads.

    Raises:
        LoadError: the data is malformed or over a bound, the code is outside the
            translated subset, no version reads it, or versions disagree.
    """
    data = decode_base64(code_b64, where)
    for value, what in ((defaults, "the defaults"), (closure, "the closure")):
        try:
            check_literal_size(value, what)
        except TranslateError as exc:
            raise LoadError(f"{where}: cannot translate the lambda: {exc}.") from None
    if python_version is not None and python_version not in VERSIONS:
        raise LoadError(f"{where}: python_version={python_version!r} is not one of "
                        f"{', '.join(VERSIONS)}.")
    candidates = (python_version,) if python_version else VERSIONS
    results: dict[str, tuple[str, tuple[str, ...]]] = {}
    errors: dict[str, VersionError] = {}
    for version in candidates:
        try:
            results[version] = translate_version(data, version, defaults, closure, where)
        except VersionError as exc:
            errors[version] = exc
    if not results:
        best = max(reversed(candidates), key=lambda v: errors[v].stage)
        tried = python_version or "3.6-3.13"
        decoded = [v for v in candidates if errors[v].stage == 2]
        also = f"; its instructions decode as Python {', '.join(decoded)}" if decoded else ""
        raise LoadError(f"{errors[best]} (tried Python {tried}{also})") from None
    sources = {source for source, _ in results.values()}
    if len(sources) > 1:
        listing = "; ".join(f"{v}: {s}" for v, (s, _) in results.items())
        raise LoadError(f"{where}: the lambda's bytecode reads differently as different "
                        f"Python versions ({listing}); pass python_version= to say which "
                        "Python saved the model.")
    source = sources.pop()
    versions = tuple(results)
    return TranslatedLambda(source=source, versions=versions,
                            global_names=results[versions[0]][1])

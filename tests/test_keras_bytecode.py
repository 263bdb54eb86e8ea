"""Keras Lambda bytecode (CPython 3.6-3.13) read as data and translated into source.

The blobs in ``tests/data/keras/lambda_bytecode.json`` were written by each interpreter
(``make_lambda_bytecode.py``). Every case must translate to its expected source whichever
Python wrote it; the 3.11 blobs are also read by this (3.11) process's ``marshal`` to
cross-check the reader; hostile data must fail with ``LoadError`` and nothing else, while
``marshal.loads``, ``exec``, ``eval`` and ``pickle.loads`` raise if anything calls them.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import marshal
import sys
from pathlib import Path

import pytest

from lamina.functions import opcodes
from lamina.functions.bytecode_translate import TranslatedLambda, translate_lambda
from lamina.functions.marshal_reader import CodeInfo, read_code

DATA = Path(__file__).parent / "data" / "keras"
VERSIONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
BLOBS = json.loads((DATA / "lambda_bytecode.json").read_text())


def _load_cases():
    spec = importlib.util.spec_from_file_location("keras_lambda_cases", DATA / "lambda_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES_MODULE = _load_cases()
CASES, HOSTILE = CASES_MODULE.CASES, CASES_MODULE.HOSTILE
PARAMS = [(v, i) for v in VERSIONS for i in range(len(CASES))]


def _raw(version: str, index: int) -> bytes:
    return base64.b64decode(BLOBS[version]["cases"][str(index)]["code"])


def test_every_interpreter_wrote_every_case():
    assert sorted(BLOBS) == sorted(VERSIONS)
    for version in VERSIONS:
        assert len(BLOBS[version]["cases"]) == len(CASES) >= 25
        for index in range(len(CASES)):
            assert b"<keras-lambda>" in _raw(version, index)
            assert b"/root" not in _raw(version, index) and b"/work" not in _raw(version, index)


@pytest.mark.parametrize(("version", "index"), PARAMS)
def test_case_translates_to_expected_source(version, index):
    case, entry = CASES[index], BLOBS[version]["cases"][str(index)]
    result = translate_lambda(entry["code"], entry["defaults"], entry["closure"])
    assert isinstance(result, TranslatedLambda)
    assert result.source == case["expected"]
    assert version in result.versions
    assert set(result.versions) <= set(VERSIONS)
    assert ast.unparse(ast.parse(result.source, mode="eval")) == result.source
    pinned = translate_lambda(entry["code"], entry["defaults"], entry["closure"],
                              python_version=version)
    assert (pinned.source, pinned.versions) == (case["expected"], (version,))


@pytest.mark.parametrize("version", VERSIONS)
def test_global_names_are_the_ones_read(version):
    expected = {2: ("K",), 9: ("tf",), 21: ("np",), 0: (), 35: ("K", "len")}
    for index, names in expected.items():
        entry = BLOBS[version]["cases"][str(index)]
        assert translate_lambda(entry["code"], entry["defaults"],
                                entry["closure"]).global_names == names


def test_version_detection_reports_every_agreeing_version():
    # 3.6 and 3.7 share marshal layout and these opcodes; 3.13 renumbered its opcodes.
    assert translate_lambda(BLOBS["3.6"]["cases"]["0"]["code"]).versions == ("3.6", "3.7")
    assert translate_lambda(BLOBS["3.13"]["cases"]["0"]["code"]).versions == ("3.13",)


def _same_code(info: CodeInfo, code) -> None:
    fields = ("argcount", "posonlyargcount", "kwonlyargcount", "nlocals", "stacksize",
              "flags", "names", "varnames", "freevars", "cellvars", "filename", "name",
              "qualname", "firstlineno", "linetable", "exceptiontable")
    for field in fields:
        assert getattr(info, field) == getattr(code, "co_" + field), field
    assert info.code == code.co_code
    assert len(info.consts) == len(code.co_consts)
    for mine, real in zip(info.consts, code.co_consts):
        if hasattr(real, "co_code"):
            _same_code(mine, real)
        else:
            assert (type(mine), mine) == (type(real), real)


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="cross-checks with 3.11 marshal")
@pytest.mark.parametrize("index", range(len(CASES)))
def test_reader_matches_cpython_marshal_on_311_blobs(index):
    raw = _raw("3.11", index)
    _same_code(read_code(raw, "3.11"), marshal.loads(raw))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="cross-checks with 3.11 marshal")
def test_reader_matches_cpython_marshal_on_rich_constants():
    def outer(a, b=2, /, *c, d, **e):
        inner = lambda y: y + a  # noqa: E731
        return (1, 2.5, -3j, "é", b"b", None, True, ..., 10 ** 40, -(10 ** 40),
                frozenset({1, "x"}), inner, (), ((1,),))

    for code in (outer.__code__, _same_code.__code__, translate_lambda.__code__):
        raw = marshal.dumps(code)
        _same_code(read_code(raw, "3.11"), marshal.loads(raw))


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="cross-checks with 3.11 opcode")
def test_opcode_tables_match_this_interpreters_opcode_module():
    import opcode

    version = "3.11"
    for number, name in enumerate(opcode.opname):
        assert opcodes.opname(version, number) == ("-" if name.startswith("<") else name)
    for number, count in enumerate(opcode._inline_cache_entries):
        assert opcodes.inline_caches(version, opcode.opname[number]) == count
    assert opcodes.HAVE_ARGUMENT[version] == opcode.HAVE_ARGUMENT
    assert opcodes.EXTENDED_ARG[version] == opcode.EXTENDED_ARG
    assert opcodes.JUMP_RELATIVE[version] == {opcode.opname[n] for n in opcode.hasjrel}
    assert opcodes.BINARY_OP_ARGS == tuple(symbol for _, symbol in opcode._nb_ops)


def test_every_version_has_a_distinct_opcode_table():
    tables = {v: opcodes.opnames(v) for v in VERSIONS}
    assert len({t for t in tables.values()}) == len(VERSIONS)
    assert opcodes.opname("3.6", 83) == "RETURN_VALUE" == opcodes.opname("3.13", 36)
    assert opcodes.opname("3.12", 1) == "POP_TOP" and opcodes.opname("3.6", 0) == "-"

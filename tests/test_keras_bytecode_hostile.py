"""Hostile Keras Lambda bytecode: every malformed, oversized or unsafe input is a LoadError.

While these tests run, ``marshal.loads``, ``exec``, ``eval`` and ``pickle.loads`` raise,
and a canary file that the hostile functions would create must never appear. Code
objects are written here by a small marshal writer (3.8-3.10 and 3.11+ layouts), so any
byte can be placed without building a live code object.
"""

from __future__ import annotations

import ast
import base64
import builtins
import importlib.util
import json
import marshal
import pickle
import random
import struct
import time
from pathlib import Path

import pytest

from lamina.errors import LoadError
from lamina.functions.bytecode_translate import TranslatedLambda, translate_lambda
from lamina.functions.marshal_reader import read_code

DATA = Path(__file__).parent / "data" / "keras"
VERSIONS = ("3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13")
BLOBS = json.loads((DATA / "lambda_bytecode.json").read_text())
_spec = importlib.util.spec_from_file_location("keras_lambda_cases", DATA / "lambda_cases.py")
CASES_MODULE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(CASES_MODULE)
HOSTILE = CASES_MODULE.HOSTILE


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch, tmp_path):
    """Make every way to run or unpickle code raise, and watch a canary file."""
    def refuse(*args, **kwargs):
        raise AssertionError("code from a file was about to be run or unmarshalled")

    for owner, name in ((marshal, "loads"), (builtins, "exec"), (builtins, "eval"),
                        (pickle, "loads")):
        monkeypatch.setattr(owner, name, refuse)
    monkeypatch.chdir(tmp_path)
    yield
    assert not (tmp_path / "CANARY").exists()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def i32(n: int) -> bytes:
    return struct.pack("<i", n)


def w(obj) -> bytes:
    """Marshal ``obj`` (None, bool, int, str, bytes, tuple) as CPython writes it."""
    if obj is None:
        return b"N"
    if isinstance(obj, bool):
        return b"T" if obj else b"F"
    if isinstance(obj, int):
        return b"i" + i32(obj)
    if isinstance(obj, str):
        return b"u" + i32(len(obj.encode())) + obj.encode()
    if isinstance(obj, bytes):
        return b"s" + i32(len(obj)) + obj
    return b"(" + i32(len(obj)) + b"".join(w(o) for o in obj)


def code311(ops: list[int], consts=(None,), names=(), args=("x",), flags=3) -> bytes:
    """A 3.11+-layout code object around the instruction bytes ``ops``."""
    return (b"c" + i32(len(args)) + i32(0) + i32(0) + i32(8) + i32(flags) + w(bytes(ops))
            + w(tuple(consts)) + w(tuple(names)) + w(tuple(args))
            + w(bytes([0x26] * len(args))) + w("<keras-lambda>") + w("<lambda>")
            + w("<lambda>") + i32(1) + w(b"") + w(b""))


def code38(ops: list[int], consts=(None,), names=(), args=("x",)) -> bytes:
    """A 3.8-3.10-layout code object around the instruction bytes ``ops``."""
    return (b"c" + i32(len(args)) + i32(0) + i32(0) + i32(len(args)) + i32(8) + i32(3)
            + w(bytes(ops)) + w(tuple(consts)) + w(tuple(names)) + w(tuple(args)) + w(())
            + w(()) + w("<keras-lambda>") + w("<lambda>") + i32(1) + w(b""))


def refused(raw_or_text, match: str = "", **kwargs) -> str:
    text = b64(raw_or_text) if isinstance(raw_or_text, bytes) else raw_or_text
    with pytest.raises(LoadError) as info:
        translate_lambda(text, **kwargs)
    assert match in str(info.value)
    return str(info.value)


HOSTILE_PARAMS = [(v, i) for v in VERSIONS for i in range(len(HOSTILE))
                  if str(i) in BLOBS[v]["hostile"]]


@pytest.mark.parametrize(("version", "index"), HOSTILE_PARAMS)
def test_unsafe_function_is_refused_naming_the_construct(version, index):
    source, phrase = HOSTILE[index]
    message = refused(BLOBS[version]["hostile"][str(index)], phrase)
    assert "Python" in message and "Lambda" in message
    pinned = refused(BLOBS[version]["hostile"][str(index)], phrase, python_version=version)
    assert f"Python {version}" in pinned


def test_every_hostile_source_was_compiled_by_every_interpreter():
    for version in VERSIONS:
        expected = len(HOSTILE) - (1 if version in ("3.6", "3.7") else 0)  # walrus: 3.8+
        assert len(BLOBS[version]["hostile"]) == expected


@pytest.mark.parametrize("version", ["3.6", "3.10", "3.11", "3.13"])
def test_every_truncation_of_a_real_blob_is_refused(version):
    raw = base64.b64decode(BLOBS[version]["cases"]["3"]["code"])
    assert translate_lambda(b64(raw)).source == "lambda x: K.sum(x, axis=-1, keepdims=True)"
    for cut in range(len(raw)):
        refused(raw[:cut])


def test_random_byte_flips_give_a_load_error_or_a_parsable_lambda():
    rng = random.Random(1234)
    outcomes = {"refused": 0, "translated": 0}
    for trial in range(600):
        version = VERSIONS[trial % len(VERSIONS)]
        raw = bytearray(base64.b64decode(BLOBS[version]["cases"][str(trial % 36)]["code"]))
        for _ in range(rng.randint(1, 3)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        try:
            result = translate_lambda(b64(bytes(raw)))
        except LoadError:
            outcomes["refused"] += 1
            continue
        assert isinstance(result, TranslatedLambda)
        assert isinstance(ast.parse(result.source, mode="eval").body, ast.Lambda)
        assert not any(n.startswith("_") for n in result.global_names)
        outcomes["translated"] += 1
    assert outcomes["refused"] > 100 and outcomes["translated"] > 10


@pytest.mark.parametrize("raw", [
    b"s" + i32(2 ** 31 - 1) + b"abc",  # bytes
    b"(" + i32(2 ** 31 - 1) + b"NN",  # tuple
    b")" + bytes([255]) + b"NN",  # small tuple
    b"u" + i32(10 ** 9) + b"x",  # string
    b"z" + bytes([200]) + b"x",  # short ascii
    b"s" + i32(-1),  # negative length
    b">" + i32(2 ** 30) + b"N",  # frozenset
    b"l" + i32(10 ** 6) + b"\x01\x00" * 4,  # long digits
    b"l" + i32(-(2 ** 31)),  # long, most negative count
], ids=["bytes", "tuple", "small-tuple", "str", "short-ascii", "negative", "frozenset",
        "long", "long-min"])
def test_huge_declared_lengths_are_refused_before_allocating(raw):
    start = time.perf_counter()
    with pytest.raises(LoadError, match="remain|digits|truncated"):
        read_code(raw, "3.11")
    refused(raw)
    assert time.perf_counter() - start < 0.5


def test_deep_nesting_is_refused_fast():
    raw = b")\x01" * 100_000 + b"N"
    start = time.perf_counter()
    with pytest.raises(LoadError, match="nested more than 32"):
        read_code(raw, "3.12")
    refused(raw, "nested more than 32")
    assert time.perf_counter() - start < 0.5


def test_shared_references_that_expand_exponentially_are_refused():
    items = [b"\xa9\x02NN"]  # ref 1 (the outer tuple is ref 0)
    items += [b"\xa9\x02r" + i32(k) + b"r" + i32(k) for k in range(1, 30)]
    raw = b"\xa8" + i32(len(items)) + b"".join(items)
    with pytest.raises(LoadError, match="expands to more than"):
        read_code(raw, "3.11")


@pytest.mark.parametrize(("raw", "match"), [
    (b"r" + i32(5), "reference 5"),
    (b"r" + i32(-1), "reference -1"),
    (b"\xa9\x01r" + i32(0), "still being read"),
    (b"(" + i32(2) + b"\xe9" + i32(7) + b"r" + i32(3), "reference 3"),
])
def test_bad_reference_indices_are_refused(raw, match):
    with pytest.raises(LoadError, match=match):
        read_code(raw, "3.11")


@pytest.mark.parametrize("code", [b"[", b"{", b"<", b"?", b"S", b"0", b"f", b"x", b"\x00",
                                  b"\x7f", b"I", b":"])
def test_unknown_or_unexpected_type_codes_are_refused(code):
    with pytest.raises(LoadError, match="type code"):
        read_code(code + b"\x00" * 16, "3.11")


def test_data_must_be_exactly_one_code_object():
    real = base64.b64decode(BLOBS["3.11"]["cases"]["0"]["code"])
    with pytest.raises(LoadError, match="not a code object"):
        read_code(b"N", "3.11")
    with pytest.raises(LoadError, match="bytes follow"):
        read_code(real + b"N", "3.11")
    with pytest.raises(LoadError, match="not valid utf-8"):
        read_code(b"u" + i32(2) + b"\xff\xfe", "3.11")


@pytest.mark.parametrize(("value", "match"), [
    (12345, "not base64 text"),
    ("!!!!", "not valid base64"),
    ("A" * (1024 * 1024 + 4), "more than"),
    ("", "truncated"),
])
def test_bad_base64_text_is_refused(value, match):
    refused(value, match)


def test_python_version_must_be_known_and_right():
    blob = BLOBS["3.6"]["cases"]["0"]["code"]
    refused(blob, "python_version='2.7'", python_version="2.7")
    message = refused(blob, "Python 3.13", python_version="3.13")
    assert "tried Python 3.13" in message


@pytest.mark.parametrize(("closure", "match"), [
    ([{"a": 1}], "not a JSON literal"),
    ([], "closure variables but the config gives 0"),
    ([0.5, 1.0], "the config gives 2"),
    ([float("nan")], "not a JSON literal"),
    ("0.5", "the closure is a str"),
])
def test_closure_values_must_be_json_literals_one_per_free_variable(closure, match):
    entry = BLOBS["3.11"]["cases"]["34"]
    assert translate_lambda(entry["code"], closure=[0.5]).source == "lambda x: x * 0.5"
    refused(entry["code"], match, closure=closure)


@pytest.mark.parametrize(("defaults", "match"), [
    ([1, 2, 3], "3 defaults for 2 arguments"),
    ([{"class_name": "x"}], "not a JSON literal"),
    ("2.0", "not a list"),
])
def test_defaults_must_be_literals_that_fit(defaults, match):
    entry = BLOBS["3.10"]["cases"]["13"]
    refused(entry["code"], match, defaults=defaults)


RESUME, LOAD_FAST, LOAD_CONST, RETURN = 151, 124, 100, 83  # 3.11 numbers


@pytest.mark.parametrize(("ops", "match"), [
    ([RESUME, 0, 140, 1, LOAD_FAST, 0, RETURN, 0], "backward jump"),  # JUMP_BACKWARD
    ([RESUME, 0, 122, 0, 0, 0, RETURN, 0], "stack underflow at BINARY_OP"),
    ([RESUME, 0, LOAD_FAST, 0, LOAD_FAST, 0, RETURN, 0], "1 values left on the stack"),
    ([RESUME, 0, 200, 0, RETURN, 0], "opcode 200"),
    ([RESUME, 0, 116, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, RETURN, 0], "not empty"),
    ([RESUME, 0, LOAD_FAST, 0, RETURN], "odd length"),
    ([144, 1, 144, 1, 144, 1, 144, 1, LOAD_FAST, 0, RETURN, 0], "EXTENDED_ARG"),
    ([RESUME, 0, 125, 1, LOAD_FAST, 1, RETURN, 0], "STORE_FAST"),
    ([RESUME, 0, LOAD_FAST, 3, RETURN, 0], "local variable 3 of 1"),
    ([RESUME, 0, LOAD_CONST, 9, RETURN, 0], "constant 9 of 1"),
    ([RESUME, 0, LOAD_FAST, 0, 0, 0, RETURN, 0], "CACHE unit"),
    ([RESUME, 0, LOAD_FAST, 0], "runs past its end"),
    ([RESUME, 0, LOAD_FAST, 0] + [11, 0] * 150 + [RETURN, 0], "nested more than 100"),
    ([RESUME, 0, LOAD_FAST, 0] + [9, 0] * 10_001 + [RETURN, 0],
     "10004 instructions, more than the 10000"),
])
def test_crafted_311_bytecode_is_refused(ops, match):
    refused(code311(ops), match, python_version="3.11")
    refused(code311(ops))


@pytest.mark.parametrize(("names", "match"), [
    (("K", "a b"), "not a Python identifier"),
    (("K", "import"), "not a Python identifier"),
    (("K", "_mean"), "starts with '_'"),
    (("exec", "mean"), "the builtin 'exec'"),
])
def test_names_read_from_the_file_must_be_plain_identifiers(names, match):
    # LOAD_GLOBAL K; LOAD_ATTR <name 1>; LOAD_FAST x; PRECALL; CALL 1 (3.11 caches zeroed)
    ops = [RESUME, 0, 116, 1] + [0, 0] * 5 + [106, 1] + [0, 0] * 4 + [LOAD_FAST, 0]
    ops += [166, 1, 0, 0, 171, 1] + [0, 0] * 4 + [RETURN, 0]
    assert translate_lambda(b64(code311(ops, names=("K", "mean")))).source == (
        "lambda x: K.mean(x)")
    refused(code311(ops, names=names), match)


def test_argument_names_are_checked_too():
    ops = [RESUME, 0, LOAD_FAST, 0, RETURN, 0]
    assert translate_lambda(b64(code311(ops))).source == "lambda x: x"
    refused(code311(ops, args=("_x",)), "the argument '_x' starts with '_'")
    refused(code311(ops, args=("lambda",)), "not a Python identifier")


def test_versions_that_read_the_bytes_differently_are_ambiguous():
    # POP_JUMP_IF_FALSE 8 jumps to byte 8 in 3.8/3.9 (-x) and to byte 16 in 3.10 (~x).
    ops = [LOAD_FAST, 0, LOAD_FAST, 0, 114, 8, RETURN, 0, 11, 0, RETURN, 0, 9, 0, 9, 0,
           15, 0, RETURN, 0]
    raw = code38(ops)
    message = refused(raw, "pass python_version=")
    assert "3.8: lambda x: x if x else -x" in message
    assert "3.10: lambda x: x if x else ~x" in message
    assert translate_lambda(b64(raw), python_version="3.10").source == "lambda x: x if x else ~x"
    assert translate_lambda(b64(raw), python_version="3.9").versions == ("3.9",)


def test_the_reason_given_comes_from_the_version_that_decoded_the_instructions():
    message = refused(BLOBS["3.10"]["hostile"]["25"])  # [*x, 1]: 3.8 reads a stray jump
    assert "Python 3.10 bytecode" in message and "BUILD_LIST_UNPACK" not in message


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"marshal", "pickle", "dis", "opcode", "types", "subprocess", "os"}
OWN_MODULES = ("marshal_reader", "opcodes", "bytecode_decode", "bytecode_ast",
               "bytecode_steps", "bytecode_interpret", "bytecode_translate")


@pytest.mark.parametrize("module", OWN_MODULES)
def test_translator_modules_never_unmarshal_or_run_code(module):
    path = Path(__file__).parent.parent / "lamina" / "functions" / f"{module}.py"
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, (module, node.func.id)
        if isinstance(node, ast.Import):
            assert not {a.name.split(".")[0] for a in node.names} & FORBIDDEN_MODULES
        if isinstance(node, ast.ImportFrom) and node.module:
            assert node.module.split(".")[0] not in FORBIDDEN_MODULES, (module, node.module)
        if isinstance(node, ast.Attribute):
            assert node.attr not in ("loads", "CodeType", "FunctionType"), (module, node.attr)

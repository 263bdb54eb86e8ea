"""Red-team Keras files for ``lamina.from_keras``: each builds one hostile file.

Shared by ``tests/test_from_keras_redteam.py`` (what each conversion raises) and by a
measuring script (time and peak memory of each in a subprocess). Every file derives from
the real fixture ``tests/data/keras/models/mlp.keras`` (or ``mlp.h5``) with one thing
changed. Bytecode is written by the running Python (3.11 here) with ``code.replace``, so
the marshal data is exactly what ``marshal.dumps`` writes; it is never loaded.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import marshal
import os
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

MODELS = os.path.join(os.path.dirname(__file__), "data", "keras", "models")
CANARY = "lamina_redteam_canary"


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Path], str]  # directory -> the hostile file's path
    match: str | None  # the LoadError's message must contain this; None: the file loads
    compiles: bool = False  # a valid lambda is compiled (lamina's compiler calls exec)


def members(name: str = "mlp") -> dict[str, bytes]:
    with zipfile.ZipFile(os.path.join(MODELS, f"{name}.keras")) as archive:
        return {member: archive.read(member) for member in archive.namelist()}


def write_zip(path: Path, files: dict[str, bytes], deflate: tuple[str, ...] = ()) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            method = zipfile.ZIP_DEFLATED if member in deflate else zipfile.ZIP_STORED
            archive.writestr(member, data, compress_type=method)
    return str(path)


def archive(path: Path, change: Callable[[dict], None] | None = None,
            weights: Callable[[h5py.File], None] | None = None) -> str:
    """mlp.keras with its config changed by ``change`` and its weights by ``weights``."""
    files = members()
    config = json.loads(files["config.json"])
    if change is not None:
        change(config)
    files["config.json"] = json.dumps(config).encode()
    if weights is not None:
        buffer = io.BytesIO(files["model.weights.h5"])
        with h5py.File(buffer, "r+") as store:
            weights(store)
        files["model.weights.h5"] = buffer.getvalue()
    return write_zip(path / "m.keras", files)


def lambda_entry(config: dict) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda")


def without_lambda(config: dict) -> None:
    """The model without its Lambda: compiling a (safe) function calls exec, which the
    hostile tests patch to raise."""
    config["config"]["layers"] = [layer for layer in config["config"]["layers"]
                                  if layer["class_name"] != "Lambda"]


def encode(code: Any) -> str:
    return base64.encodebytes(marshal.dumps(code)).decode("ascii")


def with_lambda(code: Any, defaults: Any = None, closure: Any = None) -> Callable[[dict], None]:
    """Set the Lambda's function to ``code`` (a code object or base64 text)."""
    text = code if isinstance(code, str) else encode(code)

    def change(config: dict) -> None:
        lambda_entry(config)["config"]["function"] = {
            "class_name": "__lambda__",
            "config": {"code": text, "defaults": defaults, "closure": closure}}
    return change


def bytecode(path: Path, code: Any, defaults: Any = None, closure: Any = None) -> str:
    return archive(path, with_lambda(code, defaults, closure))


def source_code(source: str) -> Any:
    """The code object of the lambda or def in ``source`` (compiled, never run)."""
    module = compile(source, "<redteam>", "exec" if source.startswith("def") else "eval")
    return next(c for c in module.co_consts if hasattr(c, "co_code"))


TIMES_TWO = source_code("lambda x: x * 2")
CALL_GLOBAL = source_code("lambda x: g(x)")
ATTRIBUTE = source_code("lambda x: x.mean()")
CONSTANT = source_code("lambda x: x * 1234567")
CLOSURE = source_code("def outer(c):\n    return lambda x: x * c").co_consts[1]
BIG = 1 << 4000


def canary_source(name: str) -> Any:
    return source_code(f"lambda x: {name}('os').system('touch {CANARY}')")


# Keras config JSON of ``items`` empty objects: 3 bytes each, about 70 bytes each parsed.
def json_bomb(items: int) -> bytes:
    return (b'{"class_name": "Sequential", "config": {"name": "s", "layers": [], "pad": ['
            + b"{}," * items + b"{}]}}")


def h5_copy(path: Path, change: Callable[[h5py.File], None]) -> str:
    """mlp.h5 (without its Lambda) changed by ``change``."""
    target = str(path / "m.h5")
    with h5py.File(os.path.join(MODELS, "mlp.h5"), "r") as old, h5py.File(target, "w") as new:
        for key in old:
            old.copy(key, new)
        for key, value in old.attrs.items():
            new.attrs[key] = value
        config = json.loads(new.attrs["model_config"])
        without_lambda(config)
        new.attrs["model_config"] = json.dumps(config)
        change(new)
    return target


def _swap(store: h5py.File, path: str, make: Callable[[h5py.File, str], Any]) -> None:
    del store[path]
    make(store, path)


def _self_links(store: h5py.File) -> None:
    group = store["layers/dense"]
    group["loop"] = group
    group["loop2"] = group


def _fan_out(store: h5py.File) -> None:
    dataset = store["layers/dense/vars/0"]
    group = store.create_group("layers/fan")
    for index in range(12_000):
        group[str(index)] = dataset


def _many_name_chunks(store: h5py.File) -> None:
    weights = store["model_weights"]
    weights.attrs["layer_names"] = np.array([], dtype="S1")
    del weights.attrs["layer_names"]
    for index in range(30_000):
        weights.attrs[f"layer_names{index}"] = np.array([b"x"])


def _vlen_config(store: h5py.File) -> None:
    text = json_bomb(8_000_000).decode()
    store.attrs.create("model_config", text, dtype=h5py.string_dtype())


def _dataset(make: Callable[[h5py.File, str], Any]) -> Callable[[h5py.File], None]:
    return lambda store: _swap(store, "layers/dense/vars/1", make)


def _const_power() -> Any:
    """``x * (BIG ** BIG)``: two constants the compiler would never leave unfolded."""
    code = source_code("lambda x: x * (x ** x)")
    load_fast, load_const = b"\x7c\x00", b"\x64\x01"
    body = code.co_code
    first = body.index(load_fast)
    body = body[:first + 2] + body[first + 2:].replace(load_fast, load_const, 2)
    return code.replace(co_code=body, co_consts=(None, BIG))


def _deep_conditional(depth: int) -> Any:
    text = "x"
    for _ in range(depth):
        text = f"(x if x else {text})"
    return source_code(f"lambda x: {text}")


def _nops(count: int) -> Any:
    body = TIMES_TWO.co_code
    return TIMES_TWO.replace(co_code=body[:2] + b"\x09\x00" * count + body[2:],
                             co_linetable=b"")


def _many_arguments(count: int) -> Any:
    names = tuple(f"a{i}" for i in range(count))
    return TIMES_TWO.replace(co_argcount=count, co_varnames=names, co_nlocals=count)


def _ref_bomb() -> Any:
    inner = (0,) * 1000
    middle = (inner,) * 1000
    return CONSTANT.replace(co_consts=(None, (middle,) * 1000))


def _arguments(value: Any) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        lambda_entry(config)["config"]["function"] = {
            "class_name": "__lambda__", "config": {
                "code": encode(source_code("lambda x, a: x")), "defaults": None,
                "closure": None}}
        lambda_entry(config)["config"]["arguments"] = {"a": value}
    return change


def _layer(config: dict, index: int) -> dict:
    return config["config"]["layers"][index]["config"]


def _set(index: int, **values: Any) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        without_lambda(config)
        _layer(config, index).update(values)
    return change


def _raw_config(text: bytes, stored: bool = False) -> Callable[[Path], str]:
    def build(path: Path) -> str:
        files = members()
        files["config.json"] = text
        return write_zip(path / "m.keras", files, deflate=() if stored else ("config.json",))
    return build


def _cycle(config: dict) -> None:
    def node(source: str) -> list[dict]:
        return [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [None, 2], "dtype": "float32", "keras_history": [source, 0, 0]}}],
            "kwargs": {}}]
    dense = {"units": 2, "name": ""}
    config.update(class_name="Functional", config={
        "name": "f", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {
                "batch_shape": [None, 2], "name": "in"}, "inbound_nodes": []},
            {"class_name": "Dense", "name": "a", "config": {**dense, "name": "a"},
             "inbound_nodes": node("b")},
            {"class_name": "Dense", "name": "b", "config": {**dense, "name": "b"},
             "inbound_nodes": node("a")}],
        "input_layers": [["in", 0, 0]], "output_layers": [["b", 0, 0]]})


def _tf_op(function: str, kwargs: dict) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        without_lambda(config)
        config["class_name"] = "Functional"
        config["config"] = {"name": "f", "layers": [
            {"class_name": "InputLayer", "name": "in", "config": {
                "batch_input_shape": [None, 5], "name": "in"}, "inbound_nodes": []},
            {"class_name": "TFOpLambda", "name": f"tf.{function}", "config": {
                "name": f"tf.{function}", "function": function},
             "inbound_nodes": [["in", 0, 0, kwargs]]}],
            "input_layers": [["in", 0, 0]], "output_layers": [[f"tf.{function}", 0, 0]]}
    return change


CASES: list[Case] = [
    # Bytecode that translates to source the validator sees.
    Case("unicode_dunder_import", lambda p: bytecode(p, canary_source("g").replace(
        co_names=("＿＿import＿＿", "system"))), "not a Python identifier"),
    Case("unicode_eval", lambda p: bytecode(p, CALL_GLOBAL.replace(co_names=("ｅｖａｌ",))),
         "eval"),
    Case("unicode_dunder_attribute", lambda p: bytecode(p, ATTRIBUTE.replace(
        co_names=("＿＿class＿＿",))), "_"),
    Case("keyword_name", lambda p: bytecode(p, CALL_GLOBAL.replace(co_names=("import",))),
         "identifier"),
    Case("unicode_argument", lambda p: bytecode(p, TIMES_TWO.replace(co_varnames=("ｘ",))),
         None, compiles=True),
    Case("duplicate_unicode_arguments", lambda p: bytecode(p, TIMES_TWO.replace(
        co_argcount=2, co_nlocals=2, co_varnames=("x", "ｘ"))), "used twice"),
    Case("big_int_constant", lambda p: bytecode(p, CONSTANT.replace(co_consts=(None, BIG))),
         "integer literal"),
    Case("big_int_to_big_power", lambda p: bytecode(p, _const_power()), "power"),
    Case("huge_const_power", lambda p: bytecode(p, source_code("lambda x: x * 9 ** 9999")),
         "power"),
    Case("string_times_big_const", lambda p: bytecode(p, source_code(
        "lambda x: x * len('a' * 99999999)")), "constant expression"),
    Case("ref_bomb_constant", lambda p: bytecode(p, _ref_bomb()), "expands"),
    Case("deep_conditional", lambda p: bytecode(p, _deep_conditional(120)), "nested"),
    Case("nop_flood", lambda p: bytecode(p, _nops(300_000)), "instructions"),
    Case("many_arguments", lambda p: bytecode(p, _many_arguments(60_000)), "parameters"),
    Case("huge_default_list", lambda p: bytecode(p, source_code("lambda x, a=1: x"),
                                                 defaults=[[0] * 2_000_000]), "JSON items"),
    Case("large_default_list", lambda p: bytecode(p, source_code("lambda x, a=1: x"),
                                                  defaults=[[0] * 200_000]), "5000 items"),
    Case("huge_default_string", lambda p: bytecode(p, source_code("lambda x, a=1: x"),
                                                   defaults=["a" * 30_000_000]), "characters"),
    Case("huge_closure_list", lambda p: bytecode(p, CLOSURE, closure=[[0] * 200_000]),
         "5000 items"),
    Case("extra_closure_values", lambda p: bytecode(p, CLOSURE, closure=[0] * 200_000),
         "the closure"),
    Case("huge_string_constant", lambda p: bytecode(p, CONSTANT.replace(
        co_consts=(None, "a" * 700_000))), "characters"),
    Case("huge_lambda_arguments", lambda p: archive(p, _arguments([0] * 3_000_000)), "JSON items"),
    Case("large_lambda_arguments", lambda p: archive(p, _arguments([0] * 200_000)), None,
         compiles=True),
    Case("lamina_source_beside_bytecode", lambda p: archive(p, lambda c: lambda_entry(c)[
        "config"]["function"]["config"].update(
            lamina_source=f"lambda x: __import__('os').system('touch {CANARY}')")), "_"),
    # Configs.
    Case("json_object_bomb", _raw_config(json_bomb(20_000_000)), "more than the"),
    Case("json_object_bomb_stored", _raw_config(json_bomb(1_300_000), stored=True),
         "JSON items"),
    Case("json_whitespace_deflated", _raw_config(json_bomb(0).replace(b"{}]", b" " * 3_900_000
                                                                      + b"]")), "does not have"),
    Case("json_array_bomb", _raw_config(json_bomb(0).replace(b"{}]", b"[" + b"0," * 30_000_000
                                                             + b"0]]")), "more than the"),
    Case("units_infinity", lambda p: archive(p, _set(1, units=float("inf"))), "units"),
    Case("units_nan", lambda p: archive(p, _set(1, units=float("nan"))), "units"),
    Case("units_1e5000_digits", _raw_config(json.dumps(json.loads(members()["config.json"]))
                                            .replace('"units": 8', '"units": 1' + "0" * 5000, 1)
                                            .encode()), "JSON"),
    Case("units_10_4000", lambda p: archive(p, _set(1, units=10 ** 4000)), "shape"),
    Case("huge_batch_shape", lambda p: archive(p, lambda c: (without_lambda(c), _layer(
        c, 0).update(batch_shape=[None, 10 ** 12]))), "build config"),
    Case("duplicate_keys", _raw_config(members()["config.json"].replace(
        b'"class_name": "Dense"', b'"class_name": "Lambda", "class_name": "Dense"', 1)),
        None, compiles=True),
    Case("graph_cycle", lambda p: archive(p, _cycle), "f"),
    Case("registered_name_eval", lambda p: archive(p, lambda c: (without_lambda(c), c[
        "config"]["layers"][1].update(registered_name="builtins>eval", module="builtins"))),
        "Unknown layer class"),
    Case("tf_op_unknown", lambda p: archive(p, _tf_op("io.write_file", {})), "table"),
    Case("tf_op_hostile_kwarg", lambda p: archive(p, _tf_op("math.reduce_sum", {
        "axis": {"class_name": "__lambda__", "config": {"code": "x"}}})), "class"),
    Case("tf_op_huge_kwarg", lambda p: archive(p, _tf_op("math.reduce_sum", {
        "axis": list(range(2_000_000))})), "JSON items"),
    # Zip and HDF5.
    Case("duplicate_member_names", lambda p: _duplicate_members(p), None, compiles=True),
    Case("weights_self_links", lambda p: archive(p, without_lambda, _self_links), "more than"),
    Case("weights_fan_out", lambda p: archive(p, without_lambda, _fan_out), "more than"),
    Case("object_reference_weight", lambda p: archive(p, without_lambda, _dataset(
        lambda f, k: f.create_dataset(k, shape=(8,), dtype=h5py.ref_dtype))), "not numbers"),
    Case("region_reference_weight", lambda p: archive(p, without_lambda, _dataset(
        lambda f, k: f.create_dataset(k, shape=(8,), dtype=h5py.regionref_dtype))),
        "not numbers"),
    Case("array_dtype_weight", lambda p: archive(p, without_lambda, _dataset(
        lambda f, k: f.create_dataset(k, shape=(8,), dtype=np.dtype(("f4", (100_000,)))))),
        "not numbers"),
    Case("gzip_bomb_weight", lambda p: archive(p, without_lambda, _dataset(
        lambda f, k: f.create_dataset(k, shape=(10 ** 8,), dtype="f8", compression="gzip",
                                      chunks=(2 ** 20,)))), "shape"),
    Case("many_layer_name_chunks", lambda p: h5_copy(p, _many_name_chunks), "names"),
    Case("config_not_utf8_bytes", lambda p: h5_copy(p, lambda f: f.attrs.__setitem__(
        "model_config", np.bytes_(b'{"a": "\xff"}'))), "UTF-8"),
    Case("config_not_utf8_vlen", lambda p: h5_copy(p, lambda f: f.attrs.create(
        "model_config", b'{"a": "\xff"}', dtype=h5py.string_dtype())), "UTF-8"),
    Case("vlen_config_bomb", lambda p: h5_copy(p, _vlen_config), "JSON items"),
]


def _duplicate_members(path: Path) -> str:
    """Two ``config.json`` entries: zipfile reads the last; both readers use zipfile."""
    files = members()
    target = path / "m.keras"
    with zipfile.ZipFile(target, "w") as out, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: "Duplicate name"
        out.writestr("config.json", b"{}")
        for member, data in files.items():
            out.writestr(member, data)
    return str(target)

"""``lamina inspect`` / ``check`` on edited, malformed and foreign files.

Three requirements (issue 13, items 5, 6 and 10):

* ``inspect`` prints every function loading will compile or call, at any depth, as the
  loader decides it from config.json (never from metadata.json's labels or from fields the
  loader ignores); the loader refuses an entry carrying a field its kind does not use.
* ``inspect`` and ``check`` never raise on a malformed file: one line on stderr,
  ``lamina: FILE: reason``, exit code 2 (inspect) or 1 (check).
* A Keras 3 ``.keras`` archive or a legacy HDF5 ``.h5`` file is named as such.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from archive_tools import config_entry, members, rezip

import lamina
from lamina import layers, ops
from lamina.errors import CorruptArchiveError, LoadError
from lamina.functions.graph import graph_to_source
from lamina.saving import archive
from lamina.saving.inspection import check_file, describe_file


def centre(x):
    return x - ops.mean(x, axis=-1, keepdims=True)


def build_model() -> lamina.Model:
    """Lambdas at every depth: top level, in a TimeDistributed, in a nested Sequential,
    captured by another Lambda, with ``arguments``, ``output_shape`` and ``mask``
    functions, a captured function, a registered op and an op-tier node."""
    inner = lamina.Sequential([
        layers.Lambda(lambda x, k=1.0: x * k, arguments={"k": -1000.0}, name="scaled",
                      input_shape=(3, 4)),
    ], name="inner")
    tripled = layers.Lambda(lambda x: x * 3.0, name="tripled")
    offset = 0.25

    def shift(x):
        return x + offset

    inputs = lamina.Input(shape=(3, 4), name="x")
    h = layers.TimeDistributed(layers.Lambda(lambda x: x + 1.0, name="wrapped"), name="td")(
        inputs)
    h = inner(h)
    h = layers.Lambda(ops.negative, name="negated")(h)
    h = layers.Lambda(lambda x: tripled(x) - 1.0, name="captures_layer")(h)
    h = layers.Lambda(lambda x: shift(x), output_shape=lambda s: s, mask=lambda i, m: m,
                      name="with_roles")(h)
    h = layers.Lambda(centre, name="centre")(h)
    return lamina.Model(inputs, h * 2.0)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    path = tmp_path_factory.mktemp("inspect") / "model.lamina"
    build_model().save(path)
    return members(path)


def variant(tmp_path: Path, saved: dict[str, bytes],
            edit: Callable[[dict[str, Any], dict[str, bytes]], None],
            name: str = "edited.lamina") -> Path:
    """A copy of the saved file with its config (parsed) and members edited."""
    files = dict(saved)
    config = json.loads(files[archive.CONFIG])
    edit(config, files)
    if archive.CONFIG in files and files[archive.CONFIG] == saved[archive.CONFIG]:
        files[archive.CONFIG] = json.dumps(config).encode()
    path = tmp_path / name
    rezip(path, files)
    return path


def function_of(config: dict[str, Any], layer: str) -> dict[str, Any]:
    return config_entry(config, layer)["config"]["function"]


def run(command: str, path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from lamina.cli import main

    code = main([command, str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------- item 5
def test_every_function_at_any_depth_is_shown_with_arguments_and_captures(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    path = tmp_path / "model.lamina"
    rezip(path, saved)
    text = describe_file(path)
    assert "td/wrapped (Lambda)\n    function: [source] lambda x: x + 1.0" in text
    assert "inner/scaled (Lambda)\n    function: [source] lambda x, k=1.0: x * k" in text
    assert "        k = -1000.0" in text
    assert "captures_layer/tripled (Lambda)\n    function: [source] lambda x: x * 3.0" in text
    assert "tripled = layer Lambda 'tripled'" in text
    assert "    output_shape: [source] lambda s: s" in text
    assert "    mask: [source] lambda i, m: m" in text
    assert "shift = function [source] def shift(x):" in text
    assert "offset = 0.25" in text
    assert "negated (Lambda)\n    function: [registered] ops>negative" in text
    assert "[op] ops.multiply(x, 2.0)" in text
    assert "    function: [source] def centre(x):\n" \
           "            return x - ops.mean(x, axis=-1, keepdims=True)" in text


def test_the_tier_comes_from_the_config_not_from_metadata(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    def relabel(config: dict[str, Any], files: dict[str, bytes]) -> None:
        metadata = json.loads(files[archive.METADATA])
        metadata["function_tiers"] = {name: "registered" for name in metadata["function_tiers"]}
        files[archive.METADATA] = json.dumps(metadata).encode()

    text = describe_file(variant(tmp_path, saved, relabel))
    assert "wrapped (Lambda)\n    function: [source] lambda x: x + 1.0" in text
    assert "[registered] lambda" not in text
    assert "function_tiers do not match config.json" in text


def test_a_decoy_source_beside_a_registered_name_is_refused_not_shown(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    def decoy(config: dict[str, Any], files: dict[str, bytes]) -> None:
        function_of(config, "negated")["source"] = "lambda x: x * 2.0"
        metadata = json.loads(files[archive.METADATA])
        metadata["function_tiers"]["negated"] = "source"
        files[archive.METADATA] = json.dumps(metadata).encode()

    path = variant(tmp_path, saved, decoy)
    text = describe_file(path)
    assert "x * 2.0" not in text
    line = next(line for line in text.splitlines() if line.startswith("    function:")
                and "'source'" in line)
    assert "refused at load" in line and "Lambda 'negated'" in line
    with pytest.raises(CorruptArchiveError, match=r"Lambda 'negated'.*\['source'\]"):
        lamina.load_model(path)
    ok, message = check_file(path)
    assert not ok and "'source'" in message


#: Stands for the op-tier node of ``h * 2.0``, whose name depends on how many ``multiply``
#: layers the process has made before (``multiply_3`` in a full run).
OP_NODE = "<the op node>"


def op_node_name(config: dict[str, Any]) -> str:
    stack: list[Any] = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            function = item.get("config", {}).get("function") if isinstance(
                item.get("config"), dict) else None
            if isinstance(function, dict) and function.get("kind") == "op":
                return item["name"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    raise AssertionError("no op-tier node in the config")


# Fields lamina never writes, one per kind of entry, each refused at load.
EXTRA_FIELDS = [
    pytest.param("negated", "function", {"source": "lambda x: x"}, id="registered+source"),
    pytest.param("wrapped", "function", {"name": "ops>negative"}, id="source+name"),
    pytest.param(OP_NODE, "function", {"source": "lambda x: x"}, id="op+source"),
    pytest.param("with_roles", "mask", {"op": "negative"}, id="mask-source+op"),
    pytest.param("with_roles", "output_shape", {"nodes": []}, id="output_shape-source+nodes"),
]


@pytest.mark.parametrize(("layer", "role", "extra"), EXTRA_FIELDS)
def test_an_entry_with_a_field_its_kind_does_not_use_is_refused(
        tmp_path: Path, saved: dict[str, bytes], layer: str, role: str, extra: dict[str, Any],
        capsys: pytest.CaptureFixture[str]) -> None:
    if layer == OP_NODE:
        layer = op_node_name(json.loads(saved[archive.CONFIG]))

    def add(config: dict[str, Any], files: dict[str, bytes]) -> None:
        config_entry(config, layer)["config"][role].update(extra)

    path = variant(tmp_path, saved, add)
    field = next(iter(extra))
    with pytest.raises(CorruptArchiveError, match=rf"Lambda '{layer}'.*\['{field}'\]"):
        lamina.load_model(path)
    code, out, _ = run("inspect", path, capsys)
    assert code == 0
    assert any(line.strip().startswith(f"{role}: refused at load") and f"'{field}'" in line
               for line in out.splitlines())
    assert "make loading fail" in out


def test_a_captured_value_with_an_unused_field_is_refused(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    def add(config: dict[str, Any], files: dict[str, bytes]) -> None:
        shift = function_of(config, "with_roles")["captured"]["shift"]["function"]
        shift["captured"]["offset"]["source"] = "lambda: 1"

    path = variant(tmp_path, saved, add)
    with pytest.raises(CorruptArchiveError, match=r"with_roles.*offset.*\['source'\]"):
        lamina.load_model(path)
    assert "offset: refused at load" in describe_file(path)


def test_a_graph_entry_is_shown_as_the_def_the_loader_compiles(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    graph = {"kind": "graph", "captured": {}, "nodes": [
        {"op": "placeholder", "name": "x", "target": "x", "args": [], "kwargs": {}},
        {"op": "call_function", "name": "r", "target": "lamina.ops.relu",
         "args": [{"__node__": "x"}], "kwargs": {}},
        {"op": "call_method", "name": "m", "target": "mean",
         "args": [{"__node__": "r"}, 1], "kwargs": {"__dict__": {"keepdim": True}}},
        {"op": "output", "name": "output", "target": "output", "args": [{"__node__": "m"}],
         "kwargs": {}}]}

    def use_graph(config: dict[str, Any], files: dict[str, bytes]) -> None:
        config_entry(config, "centre")["config"]["function"] = copy.deepcopy(graph)

    text = describe_file(variant(tmp_path, saved, use_graph))
    source, _ = graph_to_source(graph, "test")
    first, *rest = source.rstrip("\n").split("\n")
    assert f"    function: [graph] {first}" in text
    for line in rest:
        assert f"        {line}\n" in text + "\n"


def test_arguments_the_function_is_called_with_are_shown(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    def sneak(config: dict[str, Any], files: dict[str, bytes]) -> None:
        config_entry(config, "wrapped")["config"]["arguments"] = {
            "__dict__": {"k": -1000.0, "axis": {"__tuple__": [1, 2]}}}

    text = describe_file(variant(tmp_path, saved, sneak))
    assert "wrapped (Lambda)\n    function: [source] lambda x: x + 1.0\n" \
           "    arguments (passed to the function on every call):\n" \
           "        k = -1000.0\n        axis = (1, 2)" in text


def test_control_characters_in_the_file_are_shown_escaped(
        tmp_path: Path, saved: dict[str, bytes]) -> None:
    def hide(config: dict[str, Any], files: dict[str, bytes]) -> None:
        function_of(config, "wrapped")["source"] = "lambda x: x + 1.0\r# \x1b[2K\u202eharmless"
        config_entry(config, "negated")["name"] = "neg\x1b[31m"

    text = describe_file(variant(tmp_path, saved, hide))
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert r"lambda x: x + 1.0\r# \x1b[2K\u202eharmless" in text
    assert r"neg\x1b[31m (Lambda)" in text


# ---------------------------------------------------------------------- item 6
def _metadata_edit(key: str, value: Any) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(config: dict[str, Any], files: dict[str, bytes]) -> None:
        metadata = json.loads(files[archive.METADATA])
        metadata[key] = value
        files[archive.METADATA] = json.dumps(metadata).encode()

    return edit


def _transposed(listed: str) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(config: dict[str, Any], files: dict[str, bytes]) -> None:
        data = files[archive.WEIGHTS]
        length = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + length])
        header["__metadata__"] = {archive.TRANSPOSED: listed}
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        files[archive.WEIGHTS] = len(text).to_bytes(8, "little") + text + data[8 + length:]

    return edit


def _member(name: str, data: bytes | None) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(config: dict[str, Any], files: dict[str, bytes]) -> None:
        if data is None:
            del files[name]
        else:
            files[name] = data

    return edit


def _set(layer: str | None, key: str, value: Any
         ) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(config: dict[str, Any], files: dict[str, bytes]) -> None:
        target = config["model"] if layer is None else config_entry(config, layer)["config"]
        target[key] = value

    return edit


def _rename(layer: str, name: Any) -> Callable[[dict[str, Any], dict[str, bytes]], None]:
    def edit(config: dict[str, Any], files: dict[str, bytes]) -> None:
        config_entry(config, layer)["name"] = name

    return edit


def _nested(depth: int) -> bytes:
    return b'{"format_version": 1, "model": ' + b"[" * depth + b"]" * depth + b"}"


# (id, edit, inspect's exit code, check's exit code). Exit code 0 for inspect means it
# described the file (a refused entry shown as such); check's verdict is the loader's.
MALFORMED = [
    pytest.param(_metadata_edit("function_tiers", ["source"]), 0, 0, id="function_tiers-list"),
    pytest.param(_metadata_edit("function_tiers", "source"), 0, 0, id="function_tiers-string"),
    pytest.param(_member(archive.METADATA, b"[1, 2]"), 0, 0, id="metadata-not-an-object"),
    pytest.param(_member(archive.METADATA, b"\xff\xfe{"), 0, 0, id="metadata-not-utf8"),
    pytest.param(_member(archive.METADATA, None), 0, 0, id="metadata-missing"),
    pytest.param(_metadata_edit("lamina_version", {"a": [1]}), 0, 0, id="version-not-a-string"),
    pytest.param(_transposed("abc"), 2, 1, id="lamina_transposed-not-json"),
    pytest.param(_transposed('[["a"]]'), 2, 1, id="lamina_transposed-unhashable"),
    pytest.param(_transposed('"abc"'), 2, 1, id="lamina_transposed-string"),
    pytest.param(_transposed('{"a": 1}'), 2, 1, id="lamina_transposed-object"),
    pytest.param(_rename("centre", 7), 0, 1, id="integer-layer-name"),
    pytest.param(_rename("inner", None), 0, 1, id="null-model-name"),
    pytest.param(_member(archive.CONFIG, b"[1, 2]"), 2, 1, id="config-not-an-object"),
    pytest.param(_member(archive.CONFIG, b'{"format_version": 1, "model": 5}'), 2, 1,
                 id="model-not-an-object"),
    pytest.param(_member(archive.CONFIG, b'{"format_version": 1, "model": {"config": 5}}'), 0,
                 1, id="model-config-not-an-object"),
    pytest.param(_set(None, "config", {"layers": 5}), 0, 1, id="layers-not-a-list"),
    pytest.param(_set(None, "config", {"layers": [5, "x", None]}), 0, 1,
                 id="layers-not-objects"),
    pytest.param(_member(archive.CONFIG, b"\xff\xfe{}"), 2, 1, id="config-not-utf8"),
    pytest.param(_member(archive.CONFIG, b'{"model": NaN}'), 2, 1, id="config-nan"),
    pytest.param(_member(archive.CONFIG, _nested(100_000)), 2, 1, id="config-nested-100000"),
    pytest.param(_member(archive.CONFIG, _nested(900)), 2, 1, id="config-nested-900"),
    pytest.param(_set("wrapped", "arguments", json.loads("[" * 50 + "]" * 50)), 0, 1,
                 id="arguments-nested-50"),
    pytest.param(_member(archive.CONFIG, None), 2, 1, id="config-missing"),
    pytest.param(_member(archive.WEIGHTS, None), 2, 1, id="weights-missing"),
    pytest.param(_member(archive.WEIGHTS, b"\x05"), 2, 1, id="weights-truncated"),
    pytest.param(_member("extra.bin", b"x"), 2, 1, id="unexpected-member"),
    pytest.param(_set("wrapped", "function", "lambda x: x"), 0, 1,
                 id="function-not-an-object"),
    pytest.param(_set("wrapped", "function", {"kind": ["source"]}), 0, 1,
                 id="function-kind-a-list"),
    pytest.param(_set("wrapped", "function", {"kind": "source", "source": 5}), 0, 1,
                 id="source-not-a-string"),
    pytest.param(_set("wrapped", "function", {"kind": "source", "source": "lambda x: x",
                                              "captured": [1]}), 0, 1, id="captured-a-list"),
    pytest.param(_set("wrapped", "function", {"kind": "op", "op": "negative", "count": "1",
                                              "template": 5}), 0, 1, id="op-count-a-string"),
    pytest.param(_set("wrapped", "function", {"kind": "op", "op": "negative", "count": 1,
                                              "template": {"__reduce__": 1}}), 0, 1,
                 id="op-template-unknown-tag"),
    pytest.param(_set("wrapped", "function", {"kind": "graph", "nodes": 5}), 0, 1,
                 id="graph-nodes-not-a-list"),
    pytest.param(_set("wrapped", "arguments", {"__dtype__": "load"}), 0, 1,
                 id="arguments-unknown-dtype"),
    pytest.param(_set("wrapped", "tensor_arguments", [1]), 0, 1, id="tensor_arguments-list"),
    pytest.param(_set("wrapped", "mask", {"kind": "tensor_value"}), 0, 1,
                 id="mask-tensor-without-value"),
    pytest.param(_set("wrapped", "output_shape", {"kind": 5}), 0, 1,
                 id="output_shape-kind-an-int"),
    pytest.param(_set("wrapped", "name", {"a": 1}), 0, 1, id="lambda-name-an-object"),
]


@pytest.mark.parametrize(("edit", "inspect_code", "check_code"), MALFORMED)
def test_malformed_files_give_one_line_and_an_exit_code(
        tmp_path: Path, saved: dict[str, bytes], capsys: pytest.CaptureFixture[str],
        edit: Callable[[dict[str, Any], dict[str, bytes]], None], inspect_code: int,
        check_code: int) -> None:
    path = variant(tmp_path, saved, edit)
    for command, expected in (("inspect", inspect_code), ("check", check_code)):
        code, out, err = run(command, path, capsys)
        assert code == expected, (command, out, err)
        if expected:
            assert err.startswith(f"lamina: {path}: ") and err.count("\n") == 1, err
        else:
            assert err == ""


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 40],
                         ids=["empty", "text", "broken-zip"])
def test_files_that_are_not_zips_give_one_line(tmp_path: Path, data: bytes,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "junk.lamina"
    path.write_bytes(data)
    for command, expected in (("inspect", 2), ("check", 1)):
        code, _, err = run(command, path, capsys)
        assert code == expected and err.startswith(f"lamina: {path}: ")
        assert err.count("\n") == 1


def test_missing_paths_and_directories_give_one_line(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    for path in (tmp_path / "absent.lamina", tmp_path):
        for command, expected in (("inspect", 2), ("check", 1)):
            code, _, err = run(command, path, capsys)
            assert code == expected and err.startswith(f"lamina: {path}: ")
            assert err.count("\n") == 1


def test_describe_file_raises_only_load_errors_whatever_it_meets(
        tmp_path: Path, saved: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure nobody foresaw still reaches the user as a LoadError, not a traceback."""
    from lamina.saving import inspection

    def explode(*args: Any) -> Any:
        raise KeyError("unforeseen")

    monkeypatch.setattr(inspection, "_layer_table", explode)
    path = tmp_path / "model.lamina"
    rezip(path, saved)
    with pytest.raises(CorruptArchiveError, match="cannot be described: KeyError"):
        describe_file(path)


# ---------------------------------------------------------------------- item 10
def keras_archive(path: Path) -> None:
    """A minimal Keras 3 ``.keras`` file: config.json, metadata.json, model.weights.h5."""
    config = {"module": "keras", "class_name": "Sequential", "config": {
        "name": "sequential", "layers": [{"module": "keras.layers", "class_name": "Dense",
                                          "config": {"name": "dense", "units": 2}}]},
        "registered_name": None}
    metadata = {"keras_version": "3.3.3", "date_saved": "2024-05-01@12:00:00"}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as stored:
        stored.writestr("metadata.json", json.dumps(metadata))
        stored.writestr("config.json", json.dumps(config))
        stored.writestr("model.weights.h5", archive.HDF5_SIGNATURE + b"\0" * 504)


def test_a_keras_archive_is_named_as_one(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.keras"
    keras_archive(path)
    # load_model converts Keras files (this one's weights member is not HDF5).
    with pytest.raises(LoadError, match="not a readable HDF5 file"):
        lamina.load_model(path)
    with pytest.raises(LoadError) as raised:
        archive.Archive(io.BytesIO(path.read_bytes()))
    assert not isinstance(raised.value, CorruptArchiveError)
    assert "is a Keras 3 archive (.keras), not a lamina file; convert a Keras model file " \
        "with lamina.from_keras(path)" in str(raised.value)
    assert "unexpected members" not in str(raised.value)
    # inspect and check read Keras files as what converting them would do.
    code, out, _ = run("inspect", path, capsys)
    assert code == 0 and "Keras 3 archive, written by Keras 3.3.3" in out
    assert "dense (Dense)" in out
    code, _, err = run("check", path, capsys)
    assert code == 1 and "not a readable HDF5 file" in err and err.count("\n") == 1


def test_a_legacy_h5_file_is_named_as_one(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "m.h5"
    path.write_bytes(archive.HDF5_SIGNATURE + b"\0\0\0\0" + b"\xff" * 500)
    with pytest.raises(LoadError, match="not a readable HDF5 file"):
        lamina.load_model(path)
    with pytest.raises(LoadError) as raised:
        archive.Archive(io.BytesIO(path.read_bytes()))
    assert not isinstance(raised.value, CorruptArchiveError)
    assert "is an HDF5 file (a legacy Keras .h5 model or weights file), not a lamina" in str(
        raised.value)
    with pytest.raises(LoadError, match="is an HDF5 file"):
        archive.Archive(io.BytesIO(path.read_bytes()))
    # inspect and check read an HDF5 file as a Keras model file, and refuse this one.
    code, _, err = run("inspect", path, capsys)
    assert code == 2 and "is not a readable HDF5 file" in err and err.count("\n") == 1
    code, _, err = run("check", path, capsys)
    assert code == 1 and "is not a readable HDF5 file" in err and err.count("\n") == 1


def test_a_zip_with_other_members_is_still_not_a_lamina_file(tmp_path: Path) -> None:
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as stored:
        stored.writestr("config.json", "{}")
        stored.writestr("model.weights.h5", b"x")
    with pytest.raises(CorruptArchiveError, match="unexpected members"):
        lamina.load_model(path)

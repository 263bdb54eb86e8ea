"""The fast saving paths: the stored-zip writer, copy-on-write mapped weights, the
background CRC-32 check and the Lambda output specs recorded at save."""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
import torch
from archive_tools import config_entry as _entry
from archive_tools import members as _members
from archive_tools import rezip as _rezip
from archive_tools import save_trained
from safetensors.torch import load as load_safetensors

import lamina
from lamina import layers
from lamina.errors import CorruptArchiveError, ShapeError
from lamina.layers import inference
from lamina.saving import zip_writer


class _Payload:
    """A payload as the writer sees one: a declared size and the bytes in pieces."""

    def __init__(self, pieces: list[bytes], nbytes: int | None = None) -> None:
        self.pieces = pieces
        self.nbytes = sum(len(p) for p in pieces) if nbytes is None else nbytes

    def chunks(self) -> list[memoryview | bytes]:
        return [memoryview(p) if i % 2 else p for i, p in enumerate(self.pieces)]


def _data_offset(raw: bytes, info: zipfile.ZipInfo) -> int:
    """Where a member's data starts, read from its local header."""
    start = info.header_offset
    assert raw[start:start + 4] == b"PK\x03\x04"
    name_length, extra_length = struct.unpack("<HH", raw[start + 26:start + 30])
    return start + 30 + name_length + extra_length


def _small_model() -> lamina.Sequential:
    torch.manual_seed(0)
    return lamina.Sequential([layers.Dense(4, input_shape=(3,), name="dense"),
                              layers.Lambda(lambda x: x ** 2, name="square"),
                              layers.Dense(2, name="head")])


@pytest.mark.parametrize("zip64_at", [None, 0])
def test_stored_zip_is_readable_aligned_and_zip64_on_request(tmp_path: Path,
                                                             zip64_at: int | None) -> None:
    pieces = [b"header!", bytes(range(256)) * 3, b"", b"tail" * 7]
    expected = {"first.bin": b"some bytes", "empty.bin": b"", "payload.bin": b"".join(pieces),
                "last.json": b'{"a": 1}'}
    members: dict[str, Any] = {**expected, "payload.bin": _Payload(pieces)}
    path = tmp_path / "members.zip"
    with open(path, "wb") as out:
        if zip64_at is None:
            zip_writer.write_stored_zip(out, members)
        else:
            zip_writer.write_stored_zip(out, members, zip64_at=zip64_at)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as stored:
        assert stored.testzip() is None
        infos = stored.infolist()
        assert [info.filename for info in infos] == list(expected)
        ends = []
        for info in infos:
            data = expected[info.filename]
            assert stored.read(info) == data
            assert (info.file_size, info.CRC) == (len(data), zlib.crc32(data))
            assert info.compress_type == zipfile.ZIP_STORED
            offset = _data_offset(raw, info)
            assert offset % zip_writer.ALIGNMENT == 0, info.filename
            assert raw[offset:offset + len(data)] == data
            local_sizes = raw[info.header_offset + 18:info.header_offset + 26]
            assert (local_sizes == b"\xff" * 8) == (zip64_at == 0)
            ends.append(offset + len(data))
    directory = raw[max(ends):]
    assert directory.startswith(b"PK\x01\x02")
    assert (b"PK\x06\x06" in directory) == (zip64_at == 0)
    assert (b"PK\x06\x07" in directory) == (zip64_at == 0)


def test_payload_that_writes_other_than_its_declared_size_is_refused(tmp_path: Path) -> None:
    with open(tmp_path / "bad.zip", "wb") as out, pytest.raises(ValueError, match="declared"):
        zip_writer.write_stored_zip(out, {"p.bin": _Payload([b"abcd", b"ef"], nbytes=7)})


def test_saved_file_is_a_zip_whose_weights_are_standard_safetensors(tmp_path: Path) -> None:
    model = _small_model()
    path = tmp_path / "model.lamina"
    model.save(path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as stored:
        assert stored.testzip() is None
        for info in stored.infolist():
            assert _data_offset(raw, info) % zip_writer.ALIGNMENT == 0, info.filename
        data = stored.read("model.safetensors")
    weights = load_safetensors(data)
    header = json.loads(data[8:8 + int.from_bytes(data[:8], "little")])
    transposed = json.loads(header["__metadata__"]["lamina_transposed"])
    assert sorted(transposed) == ["dense.kernel", "head.kernel"]
    state = model.state_dict()
    assert sorted(weights) == sorted(state)
    for key, value in state.items():
        stored_value = weights[key].t() if key in transposed else weights[key]
        torch.testing.assert_close(stored_value, value, rtol=0, atol=0)
    x = torch.randn(5, 3)
    torch.testing.assert_close(lamina.load_model(path)(x), model(x), rtol=0, atol=0)


def test_training_a_loaded_model_never_writes_to_its_file(tmp_path: Path) -> None:
    model = _small_model()
    model.compile("sgd", "mse")
    x, y = torch.randn(8, 3), torch.randn(8, 2)
    model.train_on_batch(x, y)
    path = tmp_path / "model.lamina"
    model.save(path)
    original = path.read_bytes()
    loaded, witness = lamina.load_model(path), lamina.load_model(path)
    kernel = loaded.get_layer("dense").kernel
    # The weight views the mapped file (no copy was made), so the test below means something.
    # (The map covers the file up to the end of the weights member.)
    storage = kernel.untyped_storage()
    mapped = bytes(torch.empty(0, dtype=torch.uint8).set_(storage).numpy())
    assert kernel.numel() * 4 < len(mapped) <= len(original)
    assert mapped == original[:len(mapped)]
    before = {k: v.detach().clone() for k, v in loaded.state_dict().items()}
    loaded.train_on_batch(x, y)
    with torch.no_grad():
        loaded.get_layer("head").bias.add_(1.0)
    assert path.read_bytes() == original
    for key, value in loaded.state_dict().items():
        assert not torch.equal(value, before[key]), key
    for other in (witness, lamina.load_model(path)):
        for key, value in other.state_dict().items():
            torch.testing.assert_close(value, before[key], rtol=0, atol=0)
        torch.testing.assert_close(other(x), model(x), rtol=0, atol=0)


def test_saving_over_the_file_a_model_was_loaded_from(tmp_path: Path) -> None:
    model = _small_model()
    x = torch.randn(6, 3)
    expected = model(x).detach()
    path = tmp_path / "model.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
    torch.manual_seed(1)
    other = lamina.Sequential([layers.Dense(5, input_shape=(3,)), layers.Dense(2)])
    other.save(path)  # replaces the file the loaded weights map
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(lamina.load_model(path)(x), other(x), rtol=0, atol=0)
    loaded.save(path)  # its weights map the replaced (unlinked) file
    torch.testing.assert_close(lamina.load_model(path)(x), expected, rtol=0, atol=0)
    again = lamina.load_model(path)
    again.save(path)  # streams its own mapping into the file that replaces it
    torch.testing.assert_close(again(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)
    torch.testing.assert_close(lamina.load_model(path)(x), expected, rtol=0, atol=0)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")
def test_loading_keeps_no_file_descriptor_open(tmp_path: Path) -> None:
    model = _small_model()
    path = tmp_path / "model.lamina"
    model.save(path)
    lamina.load_model(path)  # warm up: lazy imports may open files once
    before = len(os.listdir("/proc/self/fd"))
    kept = [lamina.load_model(path) for _ in range(30)]
    assert len(os.listdir("/proc/self/fd")) - before <= 3
    x = torch.randn(2, 3)
    torch.testing.assert_close(kept[-1](x), model(x), rtol=0, atol=0)


@pytest.mark.parametrize("member", ["model.safetensors", "optimizer.safetensors"])
def test_a_flipped_weight_byte_fails_the_crc_check(tmp_path: Path, member: str) -> None:
    model, path = _small_model(), tmp_path / "model.lamina"
    save_trained(model, path, 3, 2)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as stored:
        info = stored.getinfo(member)
    last = _data_offset(bytes(raw), info) + info.file_size - 1  # in the tensor data
    raw[last] ^= 0x5A
    damaged = tmp_path / "damaged.lamina"
    damaged.write_bytes(bytes(raw))
    with zipfile.ZipFile(damaged) as stored:
        assert stored.testzip() == member  # damaged, yet still a well-formed zip
    with pytest.raises(CorruptArchiveError, match=f"{member} fails its CRC"):
        lamina.load_model(damaged)
    lamina.load_model(path)  # the undamaged file loads


@pytest.fixture
def infer_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the layers whose output spec is inferred on fake tensors."""
    calls: list[str] = []
    original = inference.infer_spec

    def spy(layer: Any, *args: Any) -> Any:
        calls.append(layer.name)
        return original(layer, *args)

    monkeypatch.setattr(inference, "infer_spec", spy)
    return calls


def test_loading_uses_the_recorded_lambda_output_spec(tmp_path: Path,
                                                      infer_calls: list[str]) -> None:
    model = _small_model()
    path = tmp_path / "model.lamina"
    model.save(path)
    members = _members(path)
    config = json.loads(members["config.json"])
    spec = {"shape": [None, 4], "dtype": "float32"}
    assert _entry(config, "square")["build_config"]["inferred"] == {"input": spec, "output": spec}
    infer_calls.clear()
    loaded = lamina.load_model(path)
    assert "square" not in infer_calls
    x = torch.randn(7, 3)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    # The record's dtype is not a promise: a loaded model may be converted.
    doubled = lamina.load_model(path).double()(x.double())
    assert doubled.dtype == torch.float64
    torch.testing.assert_close(doubled.float(), model(x))
    # Without the record the same file infers (the spy does see the Lambda).
    del _entry(config, "square")["build_config"]["inferred"]
    unrecorded = tmp_path / "unrecorded.lamina"
    _rezip(unrecorded, {**members, "config.json": json.dumps(config).encode()})
    lamina.load_model(unrecorded)
    assert "square" in infer_calls


def _tampered(tmp_path: Path, edit: dict[str, Any]) -> Path:
    """A saved Dense -> ``x * 2`` model whose Lambda's recorded output is edited."""
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,), name="dense"),
                               layers.Lambda(lambda x: x * 2, name="twice")])
    path = tmp_path / "model.lamina"
    model.save(path)
    members = _members(path)
    config = json.loads(members["config.json"])
    _entry(config, "twice")["build_config"]["inferred"]["output"].update(edit)
    _rezip(path, {**members, "config.json": json.dumps(config).encode()})
    return path


@pytest.mark.parametrize("shape", [[None, 5], [None, 4, 1]], ids=["width", "rank"])
def test_a_false_recorded_shape_fails_the_first_real_call(tmp_path: Path,
                                                          shape: list[int | None]) -> None:
    loaded = lamina.load_model(_tampered(tmp_path, {"shape": shape}))
    # The record is believed until the function runs: the graph carries the false shape.
    assert tuple(loaded.outputs[0].shape) == tuple(shape)
    x = torch.randn(3, 3)
    for _ in range(2):  # a failed check is not forgotten: no wrong result on a retry
        with pytest.raises(ShapeError, match="Lambda 'twice'.*records output"):
            loaded(x)


@pytest.mark.parametrize("inferred", [
    {"input": {"shape": [None, 4], "dtype": "float32"}, "output": {"shape": "abc",
                                                                   "dtype": "float32"}},
    {"input": {"shape": [None, 4], "dtype": "float32"}, "output": {"shape": [None, -4],
                                                                   "dtype": "float32"}},
    {"input": {"shape": [None, 4], "dtype": "float32"}, "output": {"shape": [None, 4],
                                                                   "dtype": "no_such_type"}},
    {"input": {"shape": [None, 4], "dtype": "float32"}, "output": {"shape": [None, 4],
                                                                   "dtype": "complex64"}},
    {"input": {"shape": [None, 4], "dtype": "float32"}},
    "abc",
], ids=["shape-string", "negative-dim", "unknown-dtype", "unlisted-dtype", "no-output",
        "not-a-dict"])
def test_a_malformed_recorded_spec_is_a_corrupt_archive(tmp_path: Path, inferred: Any) -> None:
    path = _tampered(tmp_path, {})
    members = _members(path)
    config = json.loads(members["config.json"])
    _entry(config, "twice")["build_config"]["inferred"] = inferred
    _rezip(path, {**members, "config.json": json.dumps(config).encode()})
    with pytest.raises(CorruptArchiveError, match="'twice'.*recorded"):
        lamina.load_model(path)


def test_a_lambda_capturing_a_layer_records_nothing_and_round_trips(
        tmp_path: Path, infer_calls: list[str]) -> None:
    torch.manual_seed(0)
    proj = layers.Dense(3, name="proj")
    model = lamina.Sequential([layers.Dense(4, input_shape=(3,), name="dense"),
                               layers.Lambda(lambda x: proj(x) * 2, name="mix")])
    x = torch.randn(5, 3)
    expected = model(x).detach()
    path = tmp_path / "model.lamina"
    model.save(path)
    entry = _entry(json.loads(_members(path)["config.json"]), "mix")
    assert "inferred" not in entry.get("build_config", {})
    infer_calls.clear()
    loaded = lamina.load_model(path)
    assert "mix" in infer_calls  # built by running the function, as it must be
    torch.testing.assert_close(loaded(x), expected, rtol=0, atol=0)


def test_a_lambda_with_several_inputs_records_nothing(tmp_path: Path) -> None:
    a, b = lamina.Input(shape=(3,), name="a"), lamina.Input(shape=(3,), name="b")
    out = layers.Lambda(lambda xs: xs[0] * xs[1], name="product")([a, b])
    model = lamina.Model([a, b], out)
    path = tmp_path / "model.lamina"
    model.save(path)
    entry = _entry(json.loads(_members(path)["config.json"]), "product")
    assert "inferred" not in entry.get("build_config", {})
    xs = [torch.randn(4, 3), torch.randn(4, 3)]
    torch.testing.assert_close(lamina.load_model(path)(xs), xs[0] * xs[1], rtol=0, atol=0)


@pytest.mark.parametrize("build", ["sequence", "fixed-batch"])
def test_a_loaded_model_accepts_the_sizes_the_original_accepts(tmp_path: Path,
                                                               build: str) -> None:
    """The recorded spec describes one input shape; calls on other sizes of fixed axes (or
    another batch size) run as they do on the original model, from a file or a config."""
    if build == "sequence":
        inputs = lamina.Input(shape=(10, 3))
        model = lamina.Model(inputs, layers.Lambda(lambda x: x * 2, name="twice")(inputs))
        x = torch.randn(2, 12, 3)
    else:
        inputs = lamina.Input(batch_shape=(8, 3))
        hidden = layers.Dense(4)(inputs)
        model = lamina.Model(inputs, layers.Lambda(lambda x: x * 2, name="twice")(hidden))
        x = torch.randn(5, 3)
    path = tmp_path / "model.lamina"
    model.save(path)
    clone = lamina.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    for loaded in (lamina.load_model(path), clone):
        torch.testing.assert_close(loaded(x), model(x))


def test_saved_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = tmp_path / "model.lamina"
        _small_model().save(path)
        weights = tmp_path / "weights.safetensors"
        _small_model().save_weights(weights)
    finally:
        os.umask(previous)
    assert path.stat().st_mode & 0o777 == 0o644
    assert weights.stat().st_mode & 0o777 == 0o644

"""``save_weights`` / ``load_weights``: one safetensors reader and writer with
``save_model`` / ``load_model``, standard files both ways, copy-on-write mapping, and
``.lamina`` files as weights sources."""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

import lamina
from lamina import layers
from lamina.errors import CorruptArchiveError, LoadError
from lamina.saving import api, archive


def _model(prefix: str = "", seed: int = 0) -> lamina.Sequential:
    """Column-major Dense kernels, a permuted Conv1D kernel, a layer whose weights appear
    under two names (used directly and captured by a Lambda) and bool, bf16, f16 and int
    buffers (the Lambda's captured tensors)."""
    torch.manual_seed(seed)
    shared = layers.Dense(3, name=f"{prefix}shared")
    mask = torch.rand(3) > 0.5
    brain = torch.randn(3).to(torch.bfloat16)
    small = torch.randn(3).to(torch.float16)
    counts = torch.randint(-100, 100, (3,))
    return lamina.Sequential([
        layers.Dense(3, input_shape=(4,), name=f"{prefix}first"),
        shared,
        layers.Lambda(lambda x: shared(x) * mask * brain.float() * small.float() + counts,
                      name=f"{prefix}mix"),
        layers.Reshape((3, 1), name=f"{prefix}column"),
        layers.Conv1D(2, 2, name=f"{prefix}conv"),
    ])


def _state(model: lamina.Model) -> dict[str, torch.Tensor]:
    return dict(model.state_dict(keep_vars=True))


def _assert_same_values(model: lamina.Model, expected: dict[str, torch.Tensor]) -> None:
    values = list(model.state_dict().values())
    assert len(values) == len(expected)
    for value, (key, wanted) in zip(values, expected.items()):
        assert value.dtype == wanted.dtype, key
        assert torch.equal(value, wanted), key


def _snapshot(model: lamina.Model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _storage_bytes(tensor: torch.Tensor) -> bytes:
    storage = tensor.untyped_storage()
    return bytes(torch.empty(0, dtype=torch.uint8).set_(storage).numpy())


def test_round_trip_keeps_values_dtypes_layouts_and_shared_weights(tmp_path: Path) -> None:
    source = _model()
    path = tmp_path / "weights.safetensors"
    source.save_weights(path)
    target = _model(seed=1)
    layouts = {k: v.stride() for k, v in _state(target).items()}
    assert layouts["first.kernel"] == (1, 4)  # column-major: the case worth testing
    assert not _state(target)["conv.kernel"].is_contiguous()
    target.load_weights(path)
    _assert_same_values(target, _snapshot(source))
    state = _state(target)
    assert {k: v.stride() for k, v in state.items()} == layouts  # each layer keeps its own
    assert state["shared.kernel"] is state["mix.shared.kernel"]  # still one weight
    assert {state[k].dtype for k in ("mix.mask", "mix.brain", "mix.small", "mix.counts")} == {
        torch.bool, torch.bfloat16, torch.float16, torch.int64}
    x = torch.randn(2, 4)
    torch.testing.assert_close(target(x), source(x), rtol=0, atol=0)


def test_dtypes_the_safetensors_library_stores_round_trip(tmp_path: Path) -> None:
    wide = torch.tensor([1, 60000, 7], dtype=torch.uint16)
    complex_ = torch.tensor([1 + 2j, -3j, 0.5], dtype=torch.complex64)
    tiny = torch.tensor([0.5, -2.0, 8.0]).to(torch.float8_e4m3fn)

    def build() -> lamina.Sequential:
        return lamina.Sequential([layers.Lambda(
            lambda x: x * wide.float() + complex_.real * tiny.float(), input_shape=(3,),
            name="odd")])

    path = tmp_path / "odd.safetensors"
    api.save_weights(build(), path)
    assert {k: v.dtype for k, v in load_file(path).items()} == {
        "odd.wide": torch.uint16, "odd.complex_": torch.complex64, "odd.tiny": torch.float8_e4m3fn}
    expected = _snapshot(build())
    target = build()
    for value in _state(target).values():
        value.zero_()
    api.load_weights(target, path)
    for key, value in target.state_dict().items():
        assert torch.equal(value.view(torch.uint8), expected[key].view(torch.uint8)), key


def test_the_safetensors_library_reads_what_lamina_writes(tmp_path: Path) -> None:
    model = _model()
    path = tmp_path / "weights.safetensors"
    model.save_weights(path)
    loaded = load_file(path)
    state = model.state_dict()
    assert sorted(loaded) == sorted(state)  # a shared weight under each of its names
    for key, value in state.items():
        assert loaded[key].dtype == value.dtype, key
        assert torch.equal(loaded[key], value), key
    with safe_open(path, "pt") as opened:
        assert json.loads(opened.metadata()["lamina_order"]) == list(state)


def test_lamina_reads_what_the_safetensors_library_writes(tmp_path: Path) -> None:
    source = _model()
    path = tmp_path / "weights.safetensors"
    # The library refuses two names for one memory: the shared weight is stored twice.
    save_file({k: v.detach().clone().contiguous() for k, v in source.state_dict().items()},
              path)
    target = _model(seed=1)
    target.load_weights(path)
    _assert_same_values(target, _snapshot(source))


def test_a_lamina_file_is_a_weights_source(tmp_path: Path) -> None:
    source = _model()
    path = tmp_path / "model.lamina"
    source.save(path)
    target = _model(seed=1)
    target.load_weights(path)  # was "header too large": the zip read as safetensors
    _assert_same_values(target, _snapshot(source))
    state = _state(target)
    assert state["shared.kernel"] is state["mix.shared.kernel"]
    # The archive's column-major kernels are stored as their memory holds them: mapped.
    assert state["first.kernel"].stride() == (1, 4)
    assert _storage_bytes(state["first.kernel"]) == path.read_bytes()[
        :len(_storage_bytes(state["first.kernel"]))]
    api.load_weights(target, path)  # the function as well as the method


@pytest.mark.parametrize("saved_as", ["weights.safetensors", "model.lamina"])
def test_other_layer_names_match_by_position(tmp_path: Path, saved_as: str) -> None:
    source = _model()
    path = tmp_path / saved_as
    if saved_as.endswith(".lamina"):
        source.save(path)
    else:
        source.save_weights(path)
    target = _model(prefix="other_", seed=1)
    assert not set(_state(target)) & set(_state(source))
    target.load_weights(path)
    _assert_same_values(target, _snapshot(source))


@pytest.mark.skipif(os.name != "posix", reason="weights are mapped on POSIX only")
def test_loaded_weights_map_the_file_copy_on_write(tmp_path: Path) -> None:
    source = _model()
    path = tmp_path / "weights.safetensors"
    source.save_weights(path)
    original = path.read_bytes()
    target, witness = _model(seed=1), _model(seed=2)
    target.load_weights(path)
    witness.load_weights(path)
    state = _state(target)
    # Weights laid out as the file stores them view a private map of the whole file...
    for key in ("first.bias", "shared.bias", "mix.brain", "mix.counts", "conv.bias"):
        assert _storage_bytes(state[key]) == original, key
    # ...the others (column-major and permuted kernels) were copied into their layout.
    assert _storage_bytes(state["first.kernel"]) != original
    expected = _snapshot(source)
    with torch.no_grad():
        for value in state.values():
            value.add_(1) if value.dtype != torch.bool else value.logical_not_()
    assert path.read_bytes() == original
    _assert_same_values(witness, expected)
    fresh = _model(seed=3)
    fresh.load_weights(path)
    _assert_same_values(fresh, expected)
    for key, value in target.state_dict().items():
        assert not torch.equal(value, expected[key]), key


def test_a_damaged_lamina_file_changes_no_weight(tmp_path: Path) -> None:
    path = tmp_path / "model.lamina"
    _model().save(path)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as stored:
        info = stored.getinfo(archive.WEIGHTS)
    start = info.header_offset
    name_length, extra_length = struct.unpack("<HH", raw[start + 26:start + 30])
    raw[start + 30 + name_length + extra_length + info.file_size - 1] ^= 0x5A  # tensor data
    path.write_bytes(bytes(raw))
    target = _model(seed=1)
    before = _snapshot(target)
    with pytest.raises(CorruptArchiveError, match="model.safetensors fails its CRC check"):
        target.load_weights(path)
    _assert_same_values(target, before)


def test_a_weights_file_of_another_model_changes_no_weight(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    state = {k: v.detach().clone().contiguous() for k, v in _model().state_dict().items()}
    state["conv.bias"] = torch.zeros(5)  # every other weight fits
    save_file(state, path)
    target = _model(seed=1)
    before = _snapshot(target)
    with pytest.raises(CorruptArchiveError, match=r"weight 'conv.bias' is \(5,\)"):
        target.load_weights(path)
    _assert_same_values(target, before)


def test_a_non_utf8_path_is_read_instead_of_mapped(tmp_path: Path) -> None:
    path = os.path.join(os.fsdecode(tmp_path), "weights\udcff.safetensors")
    source = _model()
    try:
        source.save_weights(path)
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system refuses non-UTF-8 names")
    target = _model(seed=1)
    target.load_weights(path)
    _assert_same_values(target, _snapshot(source))


def test_a_file_replaced_while_loading_is_a_load_error(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "weights.safetensors"
    _model().save_weights(path)
    real_stat = os.stat
    calls = []

    def stat_then_another_save(target: object, *args: object, **kwargs: object) -> object:
        if os.fspath(target) == os.fspath(path):
            calls.append(target)
            if len(calls) == 2:  # after the file was opened, before it is mapped
                monkeypatch.setattr(os, "stat", real_stat)
                _model(seed=1).save_weights(path)
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_then_another_save)
    target = _model(seed=2)
    before = _snapshot(target)
    with pytest.raises(LoadError, match="changed while it was being loaded"):
        target.load_weights(path)
    _assert_same_values(target, before)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "weights.safetensors"
    os.mkfifo(path)
    with pytest.raises(LoadError, match="is not a regular file"):
        _model().load_weights(path)


def test_load_model_keeps_a_permuted_kernels_layout(tmp_path: Path) -> None:
    """A loaded weight adopts the file's memory only when laid out as its layer lays it
    out; a Conv kernel stored contiguous is copied into its permuted layout."""
    model = _model()
    path = tmp_path / "model.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    assert (loaded.get_layer("conv").kernel.stride()
            == model.get_layer("conv").kernel.stride())
    x = torch.randn(2, 4)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)

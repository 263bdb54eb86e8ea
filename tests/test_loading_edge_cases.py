"""Loading edge cases found in review of the mapped-weights loader: odd paths, files that
change while loading, aliased weights, alignment, permissions, hostile shapes and
optimizer states."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import torch
from archive_tools import members, rezip, save_trained
from safetensors.torch import load as load_safetensors

import lamina
from lamina import layers
from lamina.errors import ArgumentError, CorruptArchiveError, LoadError
from lamina.saving import archive
from lamina.utils.shapes import standardize_dtype


def _model(seed: int = 0) -> lamina.Sequential:
    torch.manual_seed(seed)
    return lamina.Sequential([layers.Dense(3, input_shape=(3,), name="d1"),
                              layers.Lambda(lambda x: x * 2, name="twice"),
                              layers.Dense(3, name="d2")])


def test_a_path_that_is_not_utf8_loads(tmp_path: Path) -> None:
    path = os.path.join(os.fsdecode(tmp_path), "model\udcff.lamina")  # byte 0xff on disk
    model = _model()
    try:
        model.save(path)
    except (UnicodeEncodeError, OSError):
        pytest.skip("this file system refuses non-UTF-8 names")
    x = torch.randn(2, 3)
    torch.testing.assert_close(lamina.load_model(path)(x), model(x))


def test_a_file_replaced_while_loading_is_a_load_error(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "model.lamina"
    _model().save(path)
    real_stat = os.stat

    def stat_after_another_save(target: object, *args: object, **kwargs: object) -> object:
        if os.fspath(target) == os.fspath(path):  # another process saves in between
            monkeypatch.setattr(archive.os, "stat", real_stat)
            _model(seed=1).save(path)
        return real_stat(target, *args, **kwargs)

    monkeypatch.setattr(archive.os, "stat", stat_after_another_save)
    with pytest.raises(LoadError, match="changed while it was being loaded"):
        lamina.load_model(path)


def test_weights_the_file_aliases_get_memory_of_their_own(tmp_path: Path) -> None:
    """Two distinct weights pointing at one tensor of the file must not share memory."""
    path = tmp_path / "model.lamina"
    _model().save(path)
    stored = members(path)
    config = json.loads(stored["config.json"])
    keys = list(_model().state_dict())
    first, second = next(k for k in keys if "d1" in k and "kernel" in k), next(
        k for k in keys if "d2" in k and "kernel" in k)
    config["weight_aliases"] = {second: first}
    rezip(path, {**stored, "config.json": json.dumps(config).encode()})
    loaded = lamina.load_model(path)
    a, b = loaded.get_layer("d1").kernel, loaded.get_layer("d2").kernel
    torch.testing.assert_close(b, a)
    assert a.data_ptr() != b.data_ptr()
    with torch.no_grad():
        a.add_(1.0)
    assert not torch.allclose(a, b)


def test_small_tensors_do_not_unalign_the_others(tmp_path: Path) -> None:
    """A captured bool mask (1-byte elements) is stored after the float32 weights, so the
    float weights still view the mapped file instead of being copied."""
    keep = torch.tensor([True, False, True])
    torch.manual_seed(0)
    model = lamina.Sequential([layers.Lambda(lambda x: x * keep, input_shape=(3,)),
                               layers.Dense(5, name="dense"), layers.Dense(2, name="head")])
    path = tmp_path / "model.lamina"
    model.save(path)
    loaded = lamina.load_model(path)
    storages = {p.untyped_storage().data_ptr() for p in loaded.parameters()}
    assert len(storages) == 1  # every float weight is a view of the one mapping
    x = torch.randn(4, 3)
    torch.testing.assert_close(loaded(x), model(x))


def test_a_resave_keeps_the_files_permissions(tmp_path: Path) -> None:
    path = tmp_path / "model.lamina"
    _model().save(path)
    os.chmod(path, 0o600)
    _model(seed=1).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("shape", [[0, 2 ** 63], [0, 2 ** 62, 2 ** 62], [1] * 65],
                         ids=["huge-dim", "overflowing-product", "too-many-axes"])
def test_hostile_shapes_of_empty_tensors_are_corrupt_archives(tmp_path: Path,
                                                              shape: list[int]) -> None:
    path = tmp_path / "model.lamina"
    _model().save(path)
    stored = members(path)
    data = stored["model.safetensors"]
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    end = max(entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__")
    header["extra"] = {"dtype": "F32", "shape": shape, "data_offsets": [end, end]}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    rezip(path, {**stored, "model.safetensors":
                 len(text).to_bytes(8, "little") + text + data[8 + length:]})
    with pytest.raises(CorruptArchiveError, match="malformed shape"):
        lamina.load_model(path)


@pytest.mark.parametrize("edit", ["aliases-list", "scalars-list", "groups-number"])
def test_a_damaged_optimizer_state_is_a_corrupt_archive(tmp_path: Path, edit: str) -> None:
    model, path = _model(), tmp_path / "model.lamina"
    save_trained(model, path, 3, 3)
    stored = members(path)
    config = json.loads(stored["config.json"])
    if edit == "aliases-list":
        config["optimizer_aliases"] = []
    scalars = load_safetensors(stored["optimizer.safetensors"])
    assert scalars  # the optimizer state is really in the file
    text = json.dumps(config)
    if edit == "scalars-list":
        text = text.replace('"state_scalars": {', '"state_scalars": [1], "unused": {', 1)
    elif edit == "groups-number":
        text = text.replace('"param_groups": [', '"param_groups": 5, "unused": [', 1)
    assert text != json.dumps(config) or edit == "aliases-list"
    rezip(path, {**stored, "config.json": text.encode()})
    with pytest.raises(CorruptArchiveError, match="optimizer state cannot be restored"):
        lamina.load_model(path)
    x = torch.randn(2, 3)  # without its optimizer state, the model itself still loads
    torch.testing.assert_close(lamina.load_model(path, compile=False)(x), model(x))


def test_dtype_names_from_files_never_import_torch_modules() -> None:
    for name in ("_dynamo", "__class__", "nn", "load"):
        with pytest.raises(ArgumentError, match="Unknown dtype"):
            standardize_dtype(name)
    assert standardize_dtype("bfloat16") is torch.bfloat16


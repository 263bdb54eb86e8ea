"""The ``.lamina`` file: one zip of JSON and safetensors, written atomically, read warily.

Writing goes through :func:`~lamina.saving.atomic.atomic_write` (``atomic.py``).

Members: ``config.json`` (architecture, format version), ``model.safetensors`` (every
weight), ``metadata.json`` (versions, date, each Lambda's function tier) and, for a
compiled model saved with its optimizer, ``optimizer.safetensors``. Nothing in the file is
pickled or marshalled unless the user opted in to bytecode at save *and* at load.

Reading trusts nothing: member names must be exactly the known ones, sizes are capped and
checked against what is read, JSON is parsed with limits, and safetensors headers are
checked strictly against the data they describe (``safetensors_io.py``).
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

import torch

from lamina.errors import CorruptArchiveError, LoadError
from lamina.functions import load_budget
from lamina.saving.atomic import atomic_write
from lamina.saving.safetensors_io import TensorPayload, decode, unique_tensors
from lamina.saving.zip_writer import BackgroundCRC, write_stored_zip

FORMAT_VERSION = 1
CONFIG, WEIGHTS, METADATA, OPTIMIZER = (
    "config.json", "model.safetensors", "metadata.json", "optimizer.safetensors")
KNOWN_MEMBERS = frozenset({CONFIG, WEIGHTS, METADATA, OPTIMIZER})
#: The members of a Keras 3 ``.keras`` archive, and the first bytes of an HDF5 file (a
#: legacy Keras ``.h5`` model or weights file).
KERAS_MEMBERS = frozenset({"config.json", "metadata.json", "model.weights.h5"})
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_NOT_KERAS = ("convert a Keras model file with lamina.from_keras(path) or `lamina convert "
              "FILE OUT.lamina`; for Keras weights alone, build the model with lamina layers "
              "and copy the weights in with set_weights().")
#: safetensors metadata key listing 2-D tensors stored transposed (as ``tensor.t()``).
TRANSPOSED = "lamina_transposed"
#: safetensors metadata key listing every weight's name (aliases too) in the model's
#: order, so ``load_weights`` can match by position a model whose layers have other names.
ORDER = "lamina_order"
#: Largest JSON member accepted, and largest weights member (declared and read).
MAX_JSON_BYTES = 64 * 2 ** 20
MAX_WEIGHTS_BYTES = 64 * 2 ** 30


def tensors_payload(tensors: dict[str, torch.Tensor]) -> tuple[TensorPayload, dict[str, str]]:
    """The safetensors payload of ``tensors`` (each shared tensor once) and the aliases.

    A column-major weight (Dense's kernel) is stored as its memory holds it, its name
    listed in the metadata: no transposing copy at save or at load.
    """
    unique, aliases, transposed = unique_tensors(tensors)
    metadata = {ORDER: json.dumps(list(tensors))}
    if transposed:
        metadata[TRANSPOSED] = json.dumps(transposed)
    return TensorPayload(unique, metadata), aliases


def write_archive(path: str | os.PathLike, members: dict[str, bytes | TensorPayload]) -> None:
    """Write ``members`` as a zip at ``path``, atomically; tensors stream in, uncopied,
    their CRC-32 computed in parallel with the write."""
    atomic_write(path, lambda raw: write_stored_zip(raw, members))


class Archive:
    """A lamina file opened for reading: checked members, parsed JSON, loaded tensors."""

    def __init__(self, path: str | os.PathLike | BinaryIO) -> None:
        self._stream = not isinstance(path, (str, os.PathLike))
        self._checks: list[tuple[str, int, BackgroundCRC]] = []
        self.path = "<stream>" if self._stream else os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(path, "r")
        except FileNotFoundError:
            raise LoadError(f"No such file: '{self.path}'.") from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            if _starts_with(path, HDF5_SIGNATURE):
                raise LoadError(f"'{self.path}' is an HDF5 file (a legacy Keras .h5 model or "
                                f"weights file), not a lamina file; {_NOT_KERAS}") from None
            raise CorruptArchiveError(
                f"'{self.path}' is not a lamina file (not a readable zip: {error})."
            ) from error
        names = [info.filename for info in self._zip.infolist()]
        if KERAS_MEMBERS <= set(names):
            self._zip.close()
            raise LoadError(f"'{self.path}' is a Keras 3 archive (.keras), not a lamina file; "
                            f"{_NOT_KERAS}")
        unknown = [n for n in names if n not in KNOWN_MEMBERS]
        if unknown:
            self._zip.close()
            raise CorruptArchiveError(
                f"'{self.path}' holds unexpected members {unknown[:5]}; a lamina file holds "
                f"only {sorted(KNOWN_MEMBERS)}."
            )
        if len(set(names)) != len(names):
            self._zip.close()
            raise CorruptArchiveError(f"'{self.path}' holds a member name twice.")
        compressed = [i.filename for i in self._zip.infolist()
                      if i.compress_type != zipfile.ZIP_STORED]
        if compressed:
            self._zip.close()
            raise CorruptArchiveError(
                f"'{self.path}' holds compressed members {compressed[:5]}; lamina writes "
                "members stored, and refuses compressed ones (no zip bombs)."
            )
        for required in (CONFIG, WEIGHTS):
            if required not in names:
                self._zip.close()
                raise CorruptArchiveError(f"'{self.path}' has no {required}.")

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        for _, _, crc in self._checks:
            crc.result()
        self._zip.close()

    def has(self, name: str) -> bool:
        return name in self._zip.namelist()

    def size(self, name: str) -> int:
        """A member's declared size in bytes."""
        return self._zip.getinfo(name).file_size

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of a member, refusing one that declares or holds more than ``limit``."""
        info = self._zip.getinfo(name)
        if info.file_size > limit:
            raise CorruptArchiveError(
                f"'{self.path}': {name} declares {info.file_size} bytes, over the "
                f"{limit}-byte limit."
            )
        try:
            with self._zip.open(info) as member:
                # Read one byte past the declared size (never the limit: reads preallocate).
                data = member.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                RuntimeError) as error:
            raise CorruptArchiveError(f"'{self.path}': {name} cannot be read: {error}") from error
        if len(data) > limit or len(data) != info.file_size:
            raise CorruptArchiveError(
                f"'{self.path}': {name} holds {len(data)} bytes but declares {info.file_size}."
            )
        return data

    def json(self, name: str) -> dict[str, Any]:
        """A JSON member as a dict (constants such as NaN refused)."""
        data = self.read(name, MAX_JSON_BYTES)
        load_budget.check_json_depth(data, f"'{self.path}': {name}")
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant,
                               parse_float=_finite_float)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as error:
            raise CorruptArchiveError(f"'{self.path}': {name} is not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise CorruptArchiveError(f"'{self.path}': {name} must hold a JSON object.")
        return value

    def _mapped(self, name: str) -> torch.Tensor | None:
        """A member's bytes as a uint8 tensor over a private (copy-on-write) memory map of
        the file up to the member's end (:func:`map_file`); its CRC-32 is checked in a
        background thread (see :meth:`verify`). None when the path cannot be mapped."""
        info = self._zip.getinfo(name)
        if info.file_size > MAX_WEIGHTS_BYTES:
            raise CorruptArchiveError(f"'{self.path}': {name} declares {info.file_size} "
                                      "bytes, over the weights limit.")
        handle = self._zip.fp
        opened = os.fstat(handle.fileno())
        local = b""
        if 0 <= info.header_offset <= opened.st_size - 30:
            handle.seek(info.header_offset)
            local = handle.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise CorruptArchiveError(f"'{self.path}': {name}'s local header is damaged.")
        start = (info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                 + int.from_bytes(local[28:30], "little"))
        end = start + info.file_size
        if end > opened.st_size or info.compress_size != info.file_size:
            raise CorruptArchiveError(f"'{self.path}': {name} runs past the end of the file "
                                      "or is not stored as declared.")
        mapped = map_file(self.path, opened, end)
        if mapped is None:
            return None
        data = mapped[start:end]
        self._checks.append((name, info.CRC, BackgroundCRC([memoryview(data.numpy())])))
        return data

    def verify(self) -> None:
        """Wait for the background CRC-32 checks; a mismatch is a CorruptArchiveError."""
        checks, self._checks = self._checks, []
        results = [(name, expected, crc.result()) for name, expected, crc in checks]
        for name, expected, found in results:
            if found != expected:
                raise CorruptArchiveError(f"'{self.path}': {name} fails its CRC check (the "
                                          "file is damaged).")

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        """A safetensors member, every header entry checked against the data.

        The tensors view a private memory map of the file (copy-on-write: changing them
        never changes the file), so nothing is copied or read until used. Call
        :meth:`verify` before trusting their values.
        """
        return self.tensors_and_metadata(name)[0]

    def tensors_and_metadata(self, name: str
                             ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        """:meth:`tensors`, and the member's safetensors metadata."""
        data = None if self._stream else self._mapped(name)
        if data is None:
            data = uint8_tensor(bytearray(self.read(name, MAX_WEIGHTS_BYTES)))
        return decode_tensors(data, f"'{self.path}': {name}")


def decode_tensors(data: torch.Tensor, where: str
                   ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors of safetensors bytes (a uint8 tensor, viewed without copies) in their
    logical layout, and the metadata: a ``.lamina`` weights member and a weights file
    are read by this one function."""
    tensors, metadata = decode(data, where)
    listed = metadata.get(TRANSPOSED)
    if listed is not None:
        try:
            keys = json.loads(listed)
        except (TypeError, ValueError, RecursionError):
            keys = None
        if not isinstance(keys, list) or not all(
            isinstance(k, str) and k in tensors and tensors[k].dim() == 2 for k in keys
        ):
            raise CorruptArchiveError(
                f"{where} lists transposed weights that are not 2-D tensors of the file."
            )
        for key in keys:
            tensors[key] = tensors[key].t()
    return tensors, metadata


def map_file(path: str, opened: os.stat_result, end: int) -> torch.Tensor | None:
    """The first ``end`` bytes of the file at ``path`` as a uint8 tensor over a private
    (copy-on-write) memory map: nothing is read until used, and changing the tensor never
    changes the file. ``opened`` is the ``fstat`` of the handle the caller checked the file
    through; a file replaced since then is refused. None when torch cannot map the path
    by name (it is not UTF-8): read the file instead."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if end == 0:
        return torch.empty(0, dtype=torch.uint8)  # nothing to map (mmap refuses 0 bytes)
    try:
        storage = torch.UntypedStorage.from_file(path, False, end)
        mapped = os.stat(path)
    except (RuntimeError, OSError, ValueError) as error:
        raise CorruptArchiveError(f"'{path}' cannot be mapped: {error}") from None
    if _identity(mapped) != _identity(opened):
        raise LoadError(f"'{path}' changed while it was being loaded (another process "
                        "saved over it?). Load it again.")
    return torch.empty(0, dtype=torch.uint8).set_(storage)


def uint8_tensor(raw: bytearray) -> torch.Tensor:
    """``raw`` as a uint8 tensor sharing its memory."""
    return torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(
        0, dtype=torch.uint8)


def _starts_with(path: str | os.PathLike | BinaryIO, signature: bytes) -> bool:
    """Whether the file or stream begins with ``signature`` (False when it cannot be read)."""
    try:
        if isinstance(path, (str, os.PathLike)):
            with open(path, "rb") as handle:
                return handle.read(len(signature)) == signature
        path.seek(0)
        return path.read(len(signature)) == signature
    except (OSError, ValueError, AttributeError, TypeError):
        return False


def _identity(status: os.stat_result) -> tuple[int, ...]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text} is not finite")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"the constant {name} is not allowed")


def assign_tensors(targets: dict[str, torch.Tensor], loaded: dict[str, torch.Tensor],
                   aliases: dict[str, str], where: str, adopt: bool = False
                   ) -> list[Callable[[], None]]:
    """Check every loaded tensor against its target; return the assignments to make.

    Nothing is changed here, so a mismatch anywhere leaves every target as it was. With
    ``adopt``, a target takes the loaded tensor's memory itself instead of a copy of it
    where that memory is on its device and laid out as its own (same strides: adopting
    another layout would change the layer's, e.g. a column-major Dense kernel's).
    """
    if not isinstance(aliases, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        raise CorruptArchiveError(f"{where}: weight aliases must map names to names.")
    expected = set(targets)
    provided = set(loaded) | set(aliases)
    if expected != provided:
        missing, extra = sorted(expected - provided), sorted(provided - expected)
        raise CorruptArchiveError(
            f"{where}: the weights do not match the architecture; missing {missing[:5]}, "
            f"unexpected {extra[:5]}."
        )
    copies = []
    adopted: set[int] = set()
    for key, target in targets.items():
        source = loaded.get(aliases.get(key, key))
        if source is None:
            raise CorruptArchiveError(f"{where}: weight '{key}' points to a missing tensor.")
        if tuple(source.shape) != tuple(target.shape) or source.dtype != target.dtype:
            raise CorruptArchiveError(
                f"{where}: weight '{key}' is {tuple(source.shape)} {source.dtype} in the file, "
                f"but the model expects {tuple(target.shape)} {target.dtype}."
            )
        # A tensor of the file is adopted by one target only: two distinct weights the
        # file aliases must not end up sharing memory (each gets its own copy, as before).
        take = (adopt and target.device == source.device and id(source) not in adopted
                and source.stride() == target.stride())
        if take:
            adopted.add(id(source))
        copies.append(_copier(target, source, take))
    return copies


def _copier(target: torch.Tensor, source: torch.Tensor, adopt: bool) -> Callable[[], None]:
    def copy() -> None:
        if adopt:
            target.data = source
            return
        with torch.no_grad():
            target.copy_(source)

    return copy

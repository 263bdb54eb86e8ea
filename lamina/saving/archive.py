"""The ``.lamina`` file: one zip of JSON and safetensors, written atomically, read warily.

Members: ``config.json`` (architecture, format version), ``model.safetensors`` (every
weight), ``metadata.json`` (versions, date, each Lambda's function tier) and, for a
compiled model saved with its optimizer, ``optimizer.safetensors``. Nothing in the file is
pickled or marshalled unless the user opted in to bytecode at save *and* at load.

Reading trusts nothing: member names must be exactly the known ones, sizes are capped and
checked against what is read, JSON is parsed with limits, and safetensors headers are
checked by the safetensors library against the data they describe.
"""

from __future__ import annotations

import json
import mmap
import os
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO

import torch

from lamina.errors import CorruptArchiveError, LoadError
from lamina.saving.safetensors_io import TensorPayload, decode, unique_tensors

FORMAT_VERSION = 1
CONFIG, WEIGHTS, METADATA, OPTIMIZER = (
    "config.json", "model.safetensors", "metadata.json", "optimizer.safetensors")
KNOWN_MEMBERS = frozenset({CONFIG, WEIGHTS, METADATA, OPTIMIZER})
#: safetensors metadata key listing 2-D tensors stored transposed (as ``tensor.t()``).
TRANSPOSED = "lamina_transposed"
#: Largest JSON member accepted, and largest weights member (declared and read).
MAX_JSON_BYTES = 64 * 2 ** 20
MAX_WEIGHTS_BYTES = 64 * 2 ** 30


def tensors_payload(tensors: dict[str, torch.Tensor]) -> tuple[TensorPayload, dict[str, str]]:
    """The safetensors payload of ``tensors`` (each shared tensor once) and the aliases.

    A column-major weight (Dense's kernel) is stored as its memory holds it, its name
    listed in the metadata: no transposing copy at save or at load.
    """
    unique, aliases, transposed = unique_tensors(tensors)
    metadata = {TRANSPOSED: json.dumps(transposed)} if transposed else None
    return TensorPayload(unique, metadata), aliases


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``.

    A process killed at any point leaves either the old file or the complete new one. The
    data is not fsync'ed (that alone doubles the time of a large save); on ext4's default
    mount (auto_da_alloc) a rename over an existing file flushes the new data first, so
    the old file also survives a system crash there.
    """
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(prefix=".lamina-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as raw:
            write(raw)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_archive(path: str | os.PathLike, members: dict[str, bytes | TensorPayload]) -> None:
    """Write ``members`` as a zip at ``path``, atomically; tensors stream in, uncopied."""
    def write(raw: BinaryIO) -> None:
        with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_STORED) as stored:
            for name, data in members.items():
                if isinstance(data, TensorPayload):
                    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                    with stored.open(info, "w", force_zip64=data.nbytes >= 2 ** 31) as out:
                        data.write_to(out)
                else:
                    stored.writestr(name, data)

    atomic_write(path, write)


class Archive:
    """A lamina file opened for reading: checked members, parsed JSON, loaded tensors."""

    def __init__(self, path: str | os.PathLike | BinaryIO) -> None:
        self._stream = not isinstance(path, (str, os.PathLike))
        self.path = "<stream>" if self._stream else os.fspath(path)
        try:
            self._zip = zipfile.ZipFile(path, "r")
        except FileNotFoundError:
            raise LoadError(f"No such file: '{self.path}'.") from None
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
            raise CorruptArchiveError(
                f"'{self.path}' is not a lamina file (not a readable zip: {error})."
            ) from error
        names = [info.filename for info in self._zip.infolist()]
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
        try:
            value = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant,
                               parse_float=_finite_float)
        except (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError) as error:
            raise CorruptArchiveError(f"'{self.path}': {name} is not valid JSON: {error}") from None
        if not isinstance(value, dict):
            raise CorruptArchiveError(f"'{self.path}': {name} must hold a JSON object.")
        return value

    def _mapped(self, name: str) -> Any:
        """A member's bytes as a private memory map of the file (no copy), CRC-checked."""
        info = self._zip.getinfo(name)
        if info.file_size > MAX_WEIGHTS_BYTES:
            raise CorruptArchiveError(f"'{self.path}': {name} declares {info.file_size} "
                                      "bytes, over the weights limit.")
        with open(self.path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size == 0:
                return bytearray()
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_COPY)
        local = mapped[info.header_offset:info.header_offset + 30]
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise CorruptArchiveError(f"'{self.path}': {name}'s local header is damaged.")
        start = (info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                 + int.from_bytes(local[28:30], "little"))
        end = start + info.file_size
        if end > size or info.compress_size != info.file_size:
            raise CorruptArchiveError(f"'{self.path}': {name} runs past the end of the file "
                                      "or is not stored as declared.")
        view = memoryview(mapped)[start:end]
        if zlib.crc32(view) != info.CRC:
            raise CorruptArchiveError(f"'{self.path}': {name} fails its CRC check.")
        return view

    def tensors(self, name: str) -> dict[str, torch.Tensor]:
        """A safetensors member, every header entry checked against the data.

        The tensors view a private memory map of the file: nothing is copied until the
        caller copies them into its weights.
        """
        if self._stream:
            data: Any = bytearray(self.read(name, MAX_WEIGHTS_BYTES))
        else:
            data = self._mapped(name)
        tensors, metadata = decode(data, f"'{self.path}': {name}")
        listed = metadata.get(TRANSPOSED)
        if listed is not None:
            try:
                keys = json.loads(listed)
            except (TypeError, ValueError):
                keys = None
            if not isinstance(keys, list) or not all(
                isinstance(k, str) and k in tensors and tensors[k].dim() == 2 for k in keys
            ):
                raise CorruptArchiveError(
                    f"'{self.path}': {name} lists transposed weights that are not 2-D "
                    "tensors of the file."
                )
            for key in keys:
                tensors[key] = tensors[key].t()
        return tensors


def safetensors_metadata(data: bytes) -> dict[str, Any]:
    """The ``__metadata__`` of safetensors bytes (empty when absent or unreadable)."""
    if len(data) < 8:
        return {}
    length = int.from_bytes(data[:8], "little")
    if length > min(len(data) - 8, MAX_JSON_BYTES):
        return {}
    try:
        header = json.loads(data[8:8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}
    metadata = header.get("__metadata__") if isinstance(header, dict) else None
    return metadata if isinstance(metadata, dict) else {}


def _finite_float(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text} is not finite")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"the constant {name} is not allowed")


def assign_tensors(targets: dict[str, torch.Tensor], loaded: dict[str, torch.Tensor],
                   aliases: dict[str, str], where: str) -> list[Callable[[], None]]:
    """Check every loaded tensor against its target; return the copies to make.

    Nothing is changed here, so a mismatch anywhere leaves every target as it was.
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
    for key, target in targets.items():
        source = loaded.get(aliases.get(key, key))
        if source is None:
            raise CorruptArchiveError(f"{where}: weight '{key}' points to a missing tensor.")
        if tuple(source.shape) != tuple(target.shape) or source.dtype != target.dtype:
            raise CorruptArchiveError(
                f"{where}: weight '{key}' is {tuple(source.shape)} {source.dtype} in the file, "
                f"but the model expects {tuple(target.shape)} {target.dtype}."
            )
        copies.append(_copier(target, source))
    return copies


def _copier(target: torch.Tensor, source: torch.Tensor) -> Callable[[], None]:
    def copy() -> None:
        with torch.no_grad():
            target.copy_(source)

    return copy

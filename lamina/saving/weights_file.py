"""Weights files: what ``save_weights`` writes and ``load_weights`` reads.

A weights file is a plain safetensors file (the ``safetensors`` library reads it, and
lamina reads the library's), written and read by the same code as a ``.lamina`` file's
weights member: :class:`~lamina.saving.safetensors_io.TensorPayload` streams it out,
:func:`~lamina.saving.archive.decode_tensors` checks and views it, and
:func:`~lamina.saving.archive.map_file` maps it copy-on-write (a bare file is a member
that spans the whole file). ``load_weights`` also takes a ``.lamina`` file and loads its
weights member.

Unlike the archive's member, a weights file stores each weight in its logical layout
(a column-major Dense kernel as its row-major copy) and a shared weight once per name, so
any reader sees the ``state_dict`` as it is. The metadata lists the weights' order
(:data:`~lamina.saving.archive.ORDER`), so a model whose layers have other names can be
filled by position.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from collections.abc import Callable
from typing import Any, BinaryIO

import torch

from lamina.errors import CorruptArchiveError, LoadError
from lamina.saving import archive
from lamina.saving.atomic import atomic_write
from lamina.saving.safetensors_io import TensorPayload

_ZIP_SIGNATURE = b"PK\x03\x04"


def write_weights(path: str | os.PathLike, state: dict[str, torch.Tensor]) -> None:
    """Write ``state`` (name -> tensor) to a safetensors file at ``path``, atomically."""
    payload = TensorPayload(state, {archive.ORDER: json.dumps(list(state))})
    atomic_write(path, payload.write)


def weight_assignments(targets: dict[str, torch.Tensor], path: str | os.PathLike,
                       adopt: bool) -> list[Callable[[], None]]:
    """Check the weights in the file at ``path`` against ``targets`` (names or positions,
    shapes, dtypes) and return the assignments to make; nothing is changed here.

    With ``adopt``, a target takes the file's mapped memory where it can
    (:func:`~lamina.saving.archive.assign_tensors`).
    """
    name = os.fspath(path)
    where = f"'{name}'"
    with _open_regular_file(name, where) as handle:
        if not _is_zip(handle):
            tensors, metadata = archive.decode_tensors(_mapped(name, handle, where), where)
            return _assignments(targets, tensors, {}, metadata, where, adopt)
    with archive.Archive(name) as stored:
        config = stored.json(archive.CONFIG)
        version = config.get("format_version")
        if type(version) is not int or version != archive.FORMAT_VERSION:
            raise LoadError(
                f"{where} has format version {version!r}; this lamina reads version "
                f"{archive.FORMAT_VERSION}. Load it with the lamina that wrote it."
            )
        tensors, metadata = stored.tensors_and_metadata(archive.WEIGHTS)
        copies = _assignments(targets, tensors, config.get("weight_aliases", {}), metadata,
                              where, adopt)
        stored.verify()
    return copies


def _open_regular_file(name: str, where: str) -> BinaryIO:
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):  # never open a FIFO or a device
            raise LoadError(f"{where} is not a regular file.")
        return open(name, "rb")  # noqa: SIM115 - the caller closes it
    except FileNotFoundError:
        raise LoadError(f"No such file: {where}.") from None
    except OSError as error:
        raise LoadError(f"{where} cannot be read: {error}.") from None


def _is_zip(handle: BinaryIO) -> bool:
    """Whether the file is a zip (a ``.lamina`` file) rather than safetensors bytes.

    Both signs are needed: a safetensors file cannot start with a zip's local header
    signature unless its header is over 64 MB, and a zip's end record may by chance
    appear at the end of a safetensors file's data."""
    if handle.read(len(_ZIP_SIGNATURE)) != _ZIP_SIGNATURE:
        return False
    return zipfile.is_zipfile(handle)


def _mapped(name: str, handle: BinaryIO, where: str) -> torch.Tensor:
    """The whole file as a uint8 tensor: a copy-on-write map where the path can be
    mapped, else the bytes read."""
    opened = os.fstat(handle.fileno())
    if opened.st_size > archive.MAX_WEIGHTS_BYTES:
        raise CorruptArchiveError(f"{where} holds {opened.st_size} bytes, over the weights "
                                  "limit.")
    data = archive.map_file(name, opened, opened.st_size)
    if data is not None:
        return data
    raw = bytearray(opened.st_size)
    try:
        handle.seek(0)
        read = handle.readinto(raw)
    except OSError as error:
        raise LoadError(f"{where} cannot be read: {error}.") from None
    if read != len(raw):
        raise LoadError(f"{where} changed while it was being loaded. Load it again.")
    return archive.uint8_tensor(raw)


def _assignments(targets: dict[str, torch.Tensor], tensors: dict[str, torch.Tensor],
                 aliases: Any, metadata: dict[str, str], where: str, adopt: bool
                 ) -> list[Callable[[], None]]:
    """Match by name, else by the stored order when the names differ; then check all."""
    if isinstance(aliases, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()
    ):
        provided = set(tensors) | set(aliases)
        keys = _order(metadata)
        if (provided != set(targets) and keys is not None and len(keys) == len(targets)
                and sorted(keys) == sorted(provided)
                and all(aliases.get(k, k) in tensors for k in keys)):
            tensors = {target: tensors[aliases.get(key, key)]
                       for target, key in zip(targets, keys)}
            aliases = {}
    return archive.assign_tensors(targets, tensors, aliases, where, adopt=adopt)


def _order(metadata: dict[str, str]) -> list[str] | None:
    """The weights' names in the order they were saved, if the metadata lists them."""
    try:
        keys = json.loads(metadata.get(archive.ORDER, "null"))
    except (ValueError, RecursionError):
        return None
    if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
        return keys
    return None

"""A zip writer for stored (uncompressed) members, made for large tensor payloads.

Python's ``zipfile`` computes each member's CRC-32 in the thread that writes it, so a
40 MB weights member costs the write *plus* the checksum. Here a payload's CRC-32 runs in
a second thread over the same memory while the main thread writes it (the checksum, from
zlib-ng's SIMD implementation, and file writes both release the GIL), and the local
header's CRC field is filled in afterwards. Each member's data starts on a 64-byte
boundary of the file (the local header's extra field is padded, as ``zipalign`` does), so
the reader can view tensors in place. Members over 4 GiB, or a directory past 4 GiB, get
zip64 records. The output is an ordinary zip: ``zipfile`` and ``unzip`` read it.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable
from typing import BinaryIO, Protocol

try:  # the same CRC-32, with SIMD: about 3.5x faster than the standard library's
    from zlib_ng.zlib_ng import crc32
except ImportError:  # zlib-ng is a dependency; this covers a platform without its wheel
    from zlib import crc32

#: Member data starts at a multiple of this many bytes from the start of the file.
ALIGNMENT = 64
_LIMIT = 0xFFFFFFFF
_DOS_DATE, _DOS_TIME = 0x21, 0  # 1980-01-01 00:00:00: reproducible files
_PADDING_ID = 0xA11A  # a private extra-field id: "padding, ignore"
_UNIX_FILE = 0o100644 << 16


class Payload(Protocol):
    """Data written in chunks (a safetensors payload, say) whose length is known."""

    nbytes: int

    def chunks(self) -> Iterable[memoryview | bytes]: ...


class _Entry:
    __slots__ = ("name", "offset", "size", "crc")

    def __init__(self, name: bytes, offset: int, size: int) -> None:
        self.name, self.offset, self.size, self.crc = name, offset, size, 0


def checksum(chunks: Iterable[memoryview | bytes]) -> int:
    """The CRC-32 of the chunks, one after another."""
    crc = 0
    for chunk in chunks:
        crc = crc32(chunk, crc)
    return crc


class BackgroundCRC:
    """The CRC-32 of some memory, computed in a thread while the caller goes on (the
    checksum releases the GIL); :meth:`result` waits for it."""

    def __init__(self, chunks: list[memoryview | bytes]) -> None:
        self._value = 0
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="lamina-crc32")
        self._thread.start()

    def _run(self, chunks: list[memoryview | bytes]) -> None:
        self._value = checksum(chunks)

    def result(self) -> int:
        self._thread.join()
        return self._value


def _local_header(entry: _Entry, zip64: bool, position: int) -> bytes:
    extra = struct.pack("<HHQQ", 1, 16, entry.size, entry.size) if zip64 else b""
    end = position + 30 + len(entry.name) + len(extra)
    padding = -(end + 4) % ALIGNMENT  # a padding field needs 4 bytes of its own
    extra += struct.pack("<HH", _PADDING_ID, padding) + bytes(padding)
    size = _LIMIT if zip64 else entry.size
    return struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, 0, _DOS_TIME,
                       _DOS_DATE, entry.crc, size, size, len(entry.name),
                       len(extra)) + entry.name + extra


def _central_header(entry: _Entry, zip64_at: int) -> bytes:
    fields = [v for v in (entry.size, entry.size) if v >= zip64_at]
    if entry.offset >= zip64_at:
        fields.append(entry.offset)
    extra = struct.pack(f"<HH{len(fields)}Q", 1, 8 * len(fields), *fields) if fields else b""
    size = _LIMIT if entry.size >= zip64_at else entry.size
    offset = _LIMIT if entry.offset >= zip64_at else entry.offset
    version = 45 if fields else 20
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, (3 << 8) | version, version, 0, 0,
                       _DOS_TIME, _DOS_DATE, entry.crc, size, size, len(entry.name),
                       len(extra), 0, 0, 0, _UNIX_FILE, offset) + entry.name + extra


def _end_records(count: int, start: int, size: int, zip64_at: int) -> bytes:
    records = b""
    zip64 = count >= min(0xFFFF, zip64_at) or start >= zip64_at or size >= zip64_at
    if zip64:
        records += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, (3 << 8) | 45, 45, 0, 0,
                               count, count, size, start)
        records += struct.pack("<IIQI", 0x07064B50, 0, start + size, 1)
        count, size, start = 0xFFFF, _LIMIT, _LIMIT
    return records + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, size, start, 0)


def write_stored_zip(out: BinaryIO, members: dict[str, bytes | Payload],
                     zip64_at: int = _LIMIT) -> None:
    """Write ``members`` (name -> bytes or payload) to the seekable ``out`` as a zip.

    Sizes and offsets from ``zip64_at`` bytes on get zip64 records (tests lower it).
    """
    entries = []
    for name, data in members.items():
        payload = not isinstance(data, (bytes, bytearray))
        entry = _Entry(name.encode("ascii"), out.tell(), data.nbytes if payload else len(data))
        zip64 = entry.size >= zip64_at
        if not payload:
            entry.crc = crc32(data)
            out.write(_local_header(entry, zip64, entry.offset))
            out.write(data)
            entries.append(entry)
            continue
        header = _local_header(entry, zip64, entry.offset)  # its CRC is filled in below
        out.write(header)
        chunks = list(data.chunks())
        crc = BackgroundCRC(chunks)
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            entry.crc = crc.result()
        end = out.tell()
        if end - entry.offset - len(header) != entry.size:
            raise ValueError(f"zip member '{name}' wrote {end - entry.offset - len(header)} "
                             f"bytes, not the {entry.size} it declared")
        out.seek(entry.offset + 14)
        out.write(struct.pack("<I", entry.crc))
        out.seek(end)
        entries.append(entry)
    start = out.tell()
    directory = b"".join(_central_header(entry, zip64_at) for entry in entries)
    out.write(directory)
    out.write(_end_records(len(entries), start, len(directory), zip64_at))

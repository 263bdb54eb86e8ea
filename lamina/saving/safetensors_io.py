"""The safetensors format, streamed out and read back without copies.

Writing sends the header and then each tensor's own memory to the output stream, so a
model's weights are never gathered into one ``bytes`` first. Reading checks the header
strictly (known dtypes, shapes, offsets that tile the data exactly, sizes that match) and
then makes tensors that view the buffer (a memory map of the file) without copying.
The files are ordinary safetensors files: the ``safetensors`` library reads them.
"""

from __future__ import annotations

import json
import math
from typing import Any, BinaryIO

import torch

from lamina.errors import CorruptArchiveError

_CODES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL", torch.complex64: "C64",
}
# The other dtypes the safetensors library stores, where this torch has them.
_CODES.update({getattr(torch, name): code for name, code in [
    ("uint64", "U64"), ("uint32", "U32"), ("uint16", "U16"),
    ("float8_e4m3fn", "F8_E4M3"), ("float8_e4m3fnuz", "F8_E4M3FNUZ"),
    ("float8_e5m2", "F8_E5M2"), ("float8_e5m2fnuz", "F8_E5M2FNUZ"),
] if hasattr(torch, name)})
_DTYPES = {code: dtype for dtype, code in _CODES.items()}
MAX_HEADER_BYTES = 100 * 2 ** 20


class TensorPayload:
    """A safetensors file ready to stream: its header, then the tensors' memory in order."""

    def __init__(self, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None
                 ) -> None:
        entries: dict[str, Any] = {"__metadata__": dict(metadata)} if metadata else {}
        self.tensors = []
        offset = 0
        # Widest elements first (as the safetensors library orders them): every tensor's
        # data stays aligned for its dtype, so the reader can view it in place.
        ordered = sorted(tensors.items(), key=lambda item: -item[1].element_size())
        for key, tensor in ordered:
            if tensor.dtype not in _CODES:
                raise CorruptArchiveError(f"weight '{key}' has dtype {tensor.dtype}, which "
                                          "safetensors cannot store")
            value = tensor.detach().to("cpu").contiguous()
            size = value.numel() * value.element_size()
            entries[key] = {"dtype": _CODES[value.dtype], "shape": list(value.shape),
                            "data_offsets": [offset, offset + size]}
            offset += size
            self.tensors.append(value)
        header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
        header += b" " * (-len(header) % 8)  # keep the data 8-byte aligned
        self.header = len(header).to_bytes(8, "little") + header
        self.nbytes = len(self.header) + offset

    def chunks(self) -> list[memoryview | bytes]:
        """The file's bytes as pieces: the header, then each tensor's own memory."""
        return [self.header, *(memoryview(t.reshape(-1).view(torch.uint8).numpy())
                               for t in self.tensors if t.numel())]

    def write(self, out: BinaryIO) -> None:
        """Write the file's bytes to ``out`` (a weights file is exactly this)."""
        for chunk in self.chunks():
            out.write(chunk)


def read_header(data: torch.Tensor, where: str) -> tuple[dict[str, Any], int]:
    """The parsed, checked header of safetensors bytes (a uint8 tensor) and where its
    data starts."""
    if len(data) < 8:
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: too short")
    length = int.from_bytes(data[:8].numpy().tobytes(), "little")
    if length > min(len(data) - 8, MAX_HEADER_BYTES):
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: its header "
                                  f"declares {length} bytes, more than the file holds")
    try:
        header = json.loads(data[8:8 + length].numpy().tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: its header is not "
                                  f"JSON ({error})") from None
    if not isinstance(header, dict):
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: bad header")
    return header, 8 + length


def decode(data: torch.Tensor, where: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors viewing ``data`` (a 1-D uint8 tensor; no copy where the data is aligned for
    its dtype) and the metadata, after checking every entry."""
    header, start = read_header(data, where)
    data_length = len(data) - start
    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: bad metadata")
    spans = []
    for key, entry in header.items():
        spans.append((_checked_span(key, entry, where), key))
    spans.sort()
    position = 0
    for (begin, end, _, _), key in spans:
        if begin != position:
            raise CorruptArchiveError(f"{where} is not a valid safetensors file: the data of "
                                      f"'{key}' does not follow the previous tensor's")
        position = end
    if position != data_length:
        raise CorruptArchiveError(f"{where} is not a valid safetensors file: the tensors cover "
                                  f"{position} bytes of data, the file holds {data_length}")
    tensors = {}
    for (begin, end, dtype, shape), key in spans:
        raw = data[start + begin:start + end]
        if raw.storage_offset() % dtype.itemsize:
            raw = raw.clone()  # data not aligned for its dtype (not written by lamina)
        tensors[key] = raw.view(dtype).reshape(shape)
    return tensors, metadata


def _checked_span(key: str, entry: Any, where: str) -> tuple[int, int, torch.dtype, list[int]]:
    bad = f"{where} is not a valid safetensors file: entry '{key}'"
    if not isinstance(entry, dict) or entry.get("dtype") not in _DTYPES:
        raise CorruptArchiveError(f"{bad} has no known dtype")
    shape, offsets = entry.get("shape"), entry.get("data_offsets")
    if (not isinstance(shape, list) or len(shape) > 64
            or not all(type(d) is int and 0 <= d < 2 ** 62 for d in shape)
            or math.prod(max(d, 1) for d in shape) >= 2 ** 62):
        raise CorruptArchiveError(f"{bad} has a malformed shape {shape!r}")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(type(o) is int and o >= 0 for o in offsets) or offsets[0] > offsets[1]):
        raise CorruptArchiveError(f"{bad} has malformed data offsets {offsets!r}")
    dtype = _DTYPES[entry["dtype"]]
    size = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    if offsets[1] - offsets[0] != size:
        raise CorruptArchiveError(f"{bad} declares {offsets[1] - offsets[0]} bytes for shape "
                                  f"{shape} of {entry['dtype']} ({size} bytes)")
    return offsets[0], offsets[1], dtype, shape


def unique_tensors(tensors: dict[str, torch.Tensor]
                   ) -> tuple[dict[str, torch.Tensor], dict[str, str], list[str]]:
    """Each shared tensor once (``aliases`` maps the other names to it); 2-D column-major
    tensors as their transpose (names listed), so their memory streams without a copy."""
    unique: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    first_key: dict[int, str] = {}
    transposed: list[str] = []
    for key, tensor in tensors.items():
        if id(tensor) in first_key:
            aliases[key] = first_key[id(tensor)]
            continue
        first_key[id(tensor)] = key
        value = tensor.detach()
        if value.dim() == 2 and not value.is_contiguous() and value.t().is_contiguous():
            value = value.t()
            transposed.append(key)
        unique[key] = value
    return unique, aliases, transposed


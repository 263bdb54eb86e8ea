"""Strings as one flat buffer of their UTF-8 bytes, in numpy, for the hash functions of
``lamina.utils.farmhash`` and ``lamina.utils.siphash``.

Each ``str`` is encoded to UTF-8 by Python's codec (lone surrogates as 3 bytes, as
``surrogatepass``); ``bytes`` are taken as they are. The bytes of all strings are
concatenated into one ``uint8`` buffer with 8 zero bytes after the end, so an 8-byte word
can be read at any offset inside a string (:func:`fetch64`).

numpy's ``U`` and ``S`` arrays cannot hold trailing NUL characters (``"a\\0"`` is stored as
``"a"``); a string that must keep them has to come in an object array.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from lamina.errors import ArgumentTypeError

_PADDING = 8


class PackedBytes(NamedTuple):
    """The bytes of ``n`` strings: ``buffer[starts[i]:starts[i] + lengths[i]]`` is string
    ``i``; ``buffer`` has 8 zero bytes after the last string."""

    buffer: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray


def pack(values: Any) -> PackedBytes:
    """The UTF-8 bytes of ``values`` (a str, bytes, a (nested) list of them or a numpy
    array of kind ``U``, ``S`` or ``O``), flattened in C order.

    Example:
        >>> packed = pack(["ab", "é", ""])
        >>> packed.lengths.tolist(), packed.buffer[:5].tolist()
        ([2, 2, 0], [97, 98, 195, 169, 0])
    """
    # Lists become object arrays: a bytes array (S) would drop trailing NUL bytes.
    array = (values if isinstance(values, np.ndarray) else
             np.asarray(values, dtype=object)).reshape(-1)
    if array.dtype.kind not in "USO":
        raise ArgumentTypeError(f"expected strings (str or bytes), received values of dtype "
                                f"{array.dtype}.")
    items = array.tolist()
    try:
        # Python's codec, string by string (C speed; a numpy UTF-32 to UTF-8 conversion of
        # all code points at once measured ~40x slower).
        encoded = [item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
                   for item in items]
        flat = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    except (AttributeError, TypeError):
        kinds = sorted({type(item).__name__ for item in items} - {"str", "bytes"})
        raise ArgumentTypeError(f"expected strings (str or bytes), received {kinds}.") from None
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    return _packed(flat, lengths)


def _packed(flat: np.ndarray, lengths: np.ndarray) -> PackedBytes:
    buffer = np.concatenate([flat.astype(np.uint8, copy=False),
                             np.zeros(_PADDING, dtype=np.uint8)])
    starts = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    return PackedBytes(buffer, starts, lengths.astype(np.int64, copy=False))


def fetch64(buffer: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 64-bit words starting at byte offsets ``at`` of ``buffer``."""
    rows = buffer[at[:, None] + np.arange(8)]
    return rows.view("<u8").reshape(-1).astype(np.uint64, copy=False)


def fetch32(buffer: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The little-endian 32-bit words at byte offsets ``at``, as ``uint64``."""
    rows = buffer[at[:, None] + np.arange(4)]
    return rows.view("<u4").reshape(-1).astype(np.uint64)

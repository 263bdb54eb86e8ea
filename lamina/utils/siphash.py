"""SipHash-2-4 (Aumasson and Bernstein's keyed 64-bit hash), vectorised in numpy.

TensorFlow's ``tf.strings.to_hash_bucket_strong(input, num_buckets, key)`` (what Keras's
``Hashing`` and lookup layers use when given a ``salt``) is
``SipHash(key, bytes) % num_buckets``, with highwayhash's SipHash-2-4 keyed by the two
64-bit words ``key = [k0, k1]`` (the 16-byte key ``k0`` then ``k1``, little-endian).

All strings are hashed at once: one iteration per 8-byte message word for the strings that
still have one (strings sorted longest first), then the last word (the remaining bytes
with the length's low byte on top) and the finalisation, in whole-array ``uint64``
arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.utils.byte_strings import PackedBytes, fetch64, pack

U64 = np.uint64
_INIT = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)
_MASK = (1 << 64) - 1


def siphash24(values: Any, key: tuple[int, int] | list[int]) -> np.ndarray:
    """SipHash-2-4 of each string's UTF-8 bytes (bytes as they are) under ``key``.

    Args:
        values: A str, bytes, a (nested) list of them, or a numpy array of strings.
        key: Two integers, the key's 64-bit words ``k0`` and ``k1`` (taken modulo 2**64).

    Returns:
        A ``uint64`` array of ``values``'s shape.

    Example:
        >>> key = (0x0706050403020100, 0x0F0E0D0C0B0A0908)  # the paper's key 00 01 .. 0f
        >>> hex(int(siphash24(bytes(range(15)), key)))  # its test vector
        '0xa129ca6149be45e5'
    """
    shape = np.shape(values)
    return siphash_packed(pack(values), key).reshape(shape)


def _rotate(value: np.ndarray, shift: int) -> np.ndarray:
    return (value << U64(shift)) | (value >> U64(64 - shift))


def _rounds(v: list[np.ndarray], count: int) -> None:
    """``count`` SipRounds on the state ``v`` (four arrays), in place."""
    v0, v1, v2, v3 = v
    for _ in range(count):
        v0 = v0 + v1
        v1 = _rotate(v1, 13) ^ v0
        v0 = _rotate(v0, 32)
        v2 = v2 + v3
        v3 = _rotate(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotate(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotate(v1, 17) ^ v2
        v2 = _rotate(v2, 32)
    v[:] = [v0, v1, v2, v3]


def _compress(v: list[np.ndarray], word: np.ndarray) -> None:
    v[3] = v[3] ^ word
    _rounds(v, 2)
    v[0] = v[0] ^ word


def siphash_packed(packed: PackedBytes, key: tuple[int, int] | list[int]) -> np.ndarray:
    """SipHash-2-4 of each string of ``packed`` under ``key = (k0, k1)``."""
    buffer, starts, lengths = packed
    k0, k1 = (int(k) & _MASK for k in key)
    n = len(lengths)
    if n == 0:
        return np.zeros(0, dtype=U64)
    words = lengths // 8
    order = np.argsort(-words, kind="stable")  # the strings with most words first
    starts, lengths, words = starts[order], lengths[order], words[order]
    v = [np.full(n, init ^ k, dtype=U64) for init, k in zip(_INIT, (k0, k1, k0, k1))]
    for index in range(int(words[0])):
        m = int(np.searchsorted(-words, -index, side="left"))  # rows with > index words
        state = [part[:m] for part in v]
        _compress(state, fetch64(buffer, starts[:m] + 8 * index))
        for part, new in zip(v, state):
            part[:m] = new
    rest = lengths - 8 * words
    tail = fetch64(buffer, starts + 8 * words) & ((U64(1) << (8 * rest).astype(U64)) - U64(1))
    _compress(v, tail | ((lengths & 0xFF).astype(U64) << U64(56)))
    v[2] = v[2] ^ U64(0xFF)
    _rounds(v, 4)
    out = np.empty(n, dtype=U64)
    out[order] = v[0] ^ v[1] ^ v[2] ^ v[3]
    return out

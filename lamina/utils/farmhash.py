"""FarmHash ``Fingerprint64`` (``farmhashna::Hash64``), vectorised in numpy.

TensorFlow's ``tf.strings.to_hash_bucket_fast`` (what Keras's ``Hashing`` and the lookup
layers' OOV buckets use) is ``Fingerprint64(bytes) % num_buckets``, and TensorFlow's
``Fingerprint64`` is FarmHash's ``farmhash::Fingerprint64``, which is
``farmhashna::Hash64``: a fingerprint fixed forever, the same on every platform. This is
that function, transcribed from FarmHash's ``farmhash.cc``, on many strings at once:
strings are grouped by the branch their length takes (0, 1-3, 4-7, 8-16, 17-32, 33-64,
longer) and each group is hashed with whole-array ``uint64`` arithmetic (which wraps
modulo 2**64 as C's does); strings over 64 bytes loop over their 64-byte blocks, one
iteration for all strings that still have a block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lamina.utils.byte_strings import PackedBytes, fetch32, fetch64, pack

U64 = np.uint64
K0, K1, K2 = U64(0xC3A5C85C97CB3127), U64(0xB492B66FBE98F273), U64(0x9AE16A3B2F90404F)
_MASK = (1 << 64) - 1
_SEED = 81
# Hash64's starting state for long strings, computed in Python ints (no numpy overflow).
_Y0 = (_SEED * int(K1) + 113) & _MASK
_Z0 = ((((_Y0 * int(K2) + 113) & _MASK) ^ (((_Y0 * int(K2) + 113) & _MASK) >> 47))
       * int(K2)) & _MASK


def fingerprint64(values: Any) -> np.ndarray:
    """FarmHash ``Fingerprint64`` of each string's UTF-8 bytes (bytes as they are).

    Args:
        values: A str, bytes, a (nested) list of them, or a numpy array of strings.

    Returns:
        A ``uint64`` array of ``values``'s shape.

    Example:
        >>> fingerprint64(["A", "B", ""]).tolist()
        [16915294056622060564, 8703560047562643528, 11160318154034397263]
    """
    shape = np.shape(values)
    return hash_packed(pack(values)).reshape(shape)


def hash_packed(packed: PackedBytes) -> np.ndarray:
    """``Fingerprint64`` of each string of ``packed``."""
    buffer, starts, lengths = packed
    out = np.empty(len(lengths), dtype=U64)
    for low, high, branch in ((0, 0, None), (1, 3, _len1to3), (4, 7, _len4to7),
                              (8, 16, _len8to16), (17, 32, _len17to32),
                              (33, 64, _len33to64), (65, None, _long)):
        chosen = (lengths >= low) & (lengths <= high if high is not None else True)
        if not chosen.any():
            continue
        if branch is None:
            out[chosen] = K2
        else:
            out[chosen] = branch(buffer, starts[chosen], lengths[chosen])
    return out


def _rotate(value: np.ndarray, shift: int) -> np.ndarray:
    return (value >> U64(shift)) | (value << U64(64 - shift))


def _shift_mix(value: np.ndarray) -> np.ndarray:
    return value ^ (value >> U64(47))


def hash_len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
    """FarmHash's Murmur-inspired ``HashLen16(u, v, mul)``."""
    a = _shift_mix((u ^ v) * mul)
    b = _shift_mix((v ^ a) * mul)
    return b * mul


def _len1to3(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    length = lengths.astype(U64)
    a = buffer[starts].astype(U64)
    b = buffer[starts + (lengths >> 1)].astype(U64)
    c = buffer[starts + lengths - 1].astype(U64)
    y = a + (b << U64(8))
    z = length + (c << U64(2))
    return _shift_mix(y * K2 ^ z * K0) * K2


def _len4to7(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    length = lengths.astype(U64)
    mul = K2 + length * U64(2)
    a = fetch32(buffer, starts)
    return hash_len16(length + (a << U64(3)), fetch32(buffer, starts + lengths - 4), mul)


def _len8to16(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    mul = K2 + lengths.astype(U64) * U64(2)
    a = fetch64(buffer, starts) + K2
    b = fetch64(buffer, starts + lengths - 8)
    c = _rotate(b, 37) * mul + a
    d = (_rotate(a, 25) + b) * mul
    return hash_len16(c, d, mul)


def _len17to32(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    mul = K2 + lengths.astype(U64) * U64(2)
    a = fetch64(buffer, starts) * K1
    b = fetch64(buffer, starts + 8)
    c = fetch64(buffer, starts + lengths - 8) * mul
    d = fetch64(buffer, starts + lengths - 16) * K2
    return hash_len16(_rotate(a + b, 43) + _rotate(c, 30) + d,
                      a + _rotate(b + K2, 18) + c, mul)


def _len33to64(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    mul = K2 + lengths.astype(U64) * U64(2)
    a = fetch64(buffer, starts) * K2
    b = fetch64(buffer, starts + 8)
    c = fetch64(buffer, starts + lengths - 8) * mul
    d = fetch64(buffer, starts + lengths - 16) * K2
    y = _rotate(a + b, 43) + _rotate(c, 30) + d
    z = hash_len16(y, a + _rotate(b + K2, 18) + c, mul)
    e = fetch64(buffer, starts + 16) * mul
    f = fetch64(buffer, starts + 24)
    g = (y + fetch64(buffer, starts + lengths - 32)) * mul
    h = (z + fetch64(buffer, starts + lengths - 24)) * mul
    return hash_len16(_rotate(e + f, 43) + _rotate(g, 30) + h,
                      e + _rotate(f + a, 18) + g, mul)


def _weak32(buffer: np.ndarray, at: np.ndarray, a: np.ndarray,
            b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``WeakHashLen32WithSeeds(s, a, b)``: 16 bytes of hash of 32 bytes and two seeds."""
    w, x = fetch64(buffer, at), fetch64(buffer, at + 8)
    y, z = fetch64(buffer, at + 16), fetch64(buffer, at + 24)
    a = a + w
    b = _rotate(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rotate(a, 44)
    return a + z, b + c


def _long(buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Strings over 64 bytes: ``(len - 1) // 64`` blocks, then the last 64 bytes."""
    blocks = (lengths - 1) // 64
    order = np.argsort(-blocks, kind="stable")  # strings with most blocks first
    starts, lengths, blocks = starts[order], lengths[order], blocks[order]
    n = len(starts)
    x = np.full(n, _SEED, dtype=U64) * K2 + fetch64(buffer, starts)
    y, z = np.full(n, _Y0, dtype=U64), np.full(n, _Z0, dtype=U64)
    v0, v1, w0, w1 = (np.zeros(n, dtype=U64) for _ in range(4))
    for block in range(int(blocks[0])):
        m = int(np.searchsorted(-blocks, -block, side="left"))  # rows with > block blocks
        s = starts[:m] + 64 * block
        bx, by, bz = x[:m], y[:m], z[:m]
        bv0, bv1, bw0, bw1 = v0[:m], v1[:m], w0[:m], w1[:m]
        bx = _rotate(bx + by + bv0 + fetch64(buffer, s + 8), 37) * K1
        by = _rotate(by + bv1 + fetch64(buffer, s + 48), 42) * K1
        bx = bx ^ bw1
        by = by + bv0 + fetch64(buffer, s + 40)
        bz = _rotate(bz + bw0, 33) * K1
        nv0, nv1 = _weak32(buffer, s, bv1 * K1, bx + bw0)
        nw0, nw1 = _weak32(buffer, s + 32, bz + bw1, by + fetch64(buffer, s + 16))
        x[:m], y[:m], z[:m] = bz, by, bx  # std::swap(z, x)
        v0[:m], v1[:m], w0[:m], w1[:m] = nv0, nv1, nw0, nw1
    mul = K1 + ((z & U64(0xFF)) << U64(1))
    s = starts + lengths - 64
    w0 = w0 + ((lengths - 1) & 63).astype(U64)
    v0 = v0 + w0
    w0 = w0 + v0
    x = _rotate(x + y + v0 + fetch64(buffer, s + 8), 37) * mul
    y = _rotate(y + v1 + fetch64(buffer, s + 48), 42) * mul
    x = x ^ (w1 * U64(9))
    y = y + v0 * U64(9) + fetch64(buffer, s + 40)
    z = _rotate(z + w0, 33) * mul
    v0, v1 = _weak32(buffer, s, v1 * mul, x + w0)
    w0, w1 = _weak32(buffer, s + 32, z + w1, y + fetch64(buffer, s + 16))
    x, z = z, x
    result = hash_len16(hash_len16(v0, w0, mul) + _shift_mix(y) * K0 + z,
                        hash_len16(v1, w1, mul) + x, mul)
    out = np.empty(n, dtype=U64)
    out[order] = result
    return out

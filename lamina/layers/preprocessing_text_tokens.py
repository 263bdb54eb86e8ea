"""Splitting strings into tokens in numpy, for ``TextVectorization``: Python's
``str.split()``, one token per character, and n-grams, over many strings at once.

The strings are handled as code points (``uint32``), never as one Python list per string:
for 100,000 short sentences, per-string ``str.translate`` and ``str.split`` calls cost
about 2 us each, and the garbage collector, which runs while 100,000 lists are built,
costs more than the splitting. Tokens come out as a flat numpy unicode array, exactly as
``np.array(tokens, dtype=str)`` makes them (trailing NULs dropped, as numpy drops them),
with the number of tokens of each string.
"""

from __future__ import annotations

import string

import numpy as np

#: Where ``str.split()`` splits: the code points ``str.isspace`` holds for.
WHITESPACE = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 133, 160, 5760, *range(8192, 8203),
              8232, 8233, 8239, 8287, 12288)

# Indexed by min(code point, len - 1): the last entry stands for every code point above.
_IS_SPACE = np.zeros(WHITESPACE[-1] + 2, dtype=bool)
_IS_SPACE[list(WHITESPACE)] = True
_IS_PUNCTUATION = np.zeros(129, dtype=bool)
_IS_PUNCTUATION[[ord(c) for c in string.punctuation]] = True


def code_points(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of ``texts`` joined by single spaces, and where each text starts."""
    joined = " ".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(np.fromiter(map(len, texts[:-1]), np.int64, len(texts) - 1) + 1,
                  out=starts[1:])
    return codes, starts


def whitespace_split(documents: np.ndarray, lower: bool = False, strip: bool = False
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The tokens of ``text.split()`` for every string of ``documents``, as one flat array,
    and the number of tokens of each string; first ASCII-lowercased (``lower``) and
    stripped of ``string.punctuation`` (``strip``), as ``TextVectorization``'s
    ``standardize`` does with ``str.translate``.

    Example:
        >>> flat, lengths = whitespace_split(np.array(["a Bc", " ", "d\\u3000e\\tf! "]),
        ...                                  lower=True, strip=True)
        >>> flat.tolist(), lengths.tolist()
        (['a', 'bc', 'd', 'e', 'f'], [2, 0, 3])
    """
    texts = documents.reshape(-1).tolist()
    codes, text_starts = code_points(texts)
    positions = None  # where each code point was before punctuation was removed
    if strip:
        keep = ~_IS_PUNCTUATION[np.minimum(codes, len(_IS_PUNCTUATION) - 1)]
        positions = np.flatnonzero(keep)
        codes = codes[keep]
    if lower:
        codes = np.where((codes >= 65) & (codes <= 90), codes + 32, codes)
    space = _IS_SPACE[np.minimum(codes, len(_IS_SPACE) - 1)]
    word = ~space
    begins = word.copy()
    begins[1:] &= space[:-1]
    ends = word.copy()
    ends[:-1] &= space[1:]
    starts = np.flatnonzero(begins)
    sizes = np.flatnonzero(ends) - starts + 1
    original = starts if positions is None else positions[starts]
    lengths = np.bincount(np.searchsorted(text_starts, original, side="right") - 1,
                          minlength=len(texts)).astype(np.int64)
    if not len(starts):
        return np.zeros(0, dtype="<U1"), lengths
    width = int(sizes.max())
    matrix = np.zeros((len(starts), width), dtype=np.uint32)
    matrix[np.arange(width) < sizes[:, None]] = codes[word]
    return matrix.view(f"<U{width}").reshape(-1), lengths


def characters(documents: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every code point of every string (as 1-character strings) and the count per string,
    read from the array's UCS-4 buffer.

    Example:
        >>> flat, lengths = characters(np.array(["ab", "", "é"]))
        >>> flat.tolist(), lengths.tolist()
        (['a', 'b', 'é'], [2, 0, 1])
    """
    documents = np.ascontiguousarray(documents.astype(str))
    width = documents.dtype.itemsize // 4
    if width == 0 or documents.size == 0:
        return np.zeros(0, dtype="<U1"), np.zeros(len(documents), dtype=np.int64)
    codes = documents.view(np.uint32).reshape(len(documents), width)
    lengths = np.char.str_len(documents).astype(np.int64)
    inside = np.arange(width) < lengths[:, None]
    return np.ascontiguousarray(codes[inside]).view("<U1"), lengths


def ngrams(flat: np.ndarray, row_of: np.ndarray, lengths: np.ndarray,
           widths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's n-grams of every width in ``widths`` (joined with a space), width by
    width within a row, and the row of each.

    Example:
        >>> grams, rows = ngrams(np.array(["a", "b", "c"]), np.array([0, 0, 1]),
        ...                      np.array([2, 1]), (1, 2))
        >>> grams.tolist(), rows.tolist()
        (['a', 'b', 'a b', 'c'], [0, 0, 0, 1])
    """
    ends = np.cumsum(lengths)[row_of] if len(row_of) else row_of
    tokens, rows = [], []
    for width in widths:
        starts = np.nonzero(np.arange(len(flat)) + width <= ends)[0]
        joined = flat[starts]
        for offset in range(1, width):
            joined = np.char.add(np.char.add(joined, " "), flat[starts + offset])
        tokens.append(joined.astype(str))
        rows.append(row_of[starts])
    all_rows = np.concatenate(rows) if rows else row_of
    order = np.argsort(all_rows, kind="stable")
    return np.concatenate(tokens)[order], all_rows[order]

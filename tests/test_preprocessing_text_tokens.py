"""The numpy tokenizers behind ``TextVectorization`` give what Python's ``str.translate``
and ``str.split()`` give, string by string, on awkward text: every whitespace code point,
punctuation, NULs, surrogates, astral characters, empty strings."""

from __future__ import annotations

import itertools
import random
import string

import numpy as np
import pytest

from lamina.layers.preprocessing_text_tokens import WHITESPACE, characters, whitespace_split

LOWER = {ord(c): ord(c.lower()) for c in string.ascii_uppercase}
STRIP = dict.fromkeys(map(ord, string.punctuation))
ALPHABET = ["a", "B", "z", "Z", "é", "É", "\x00", "x\x00", "\ud800", "\U0001f600", "!", "'",
            "-", ".", "~", "{", *map(chr, WHITESPACE), "\u200b", "\x7f"]


def test_whitespace_is_what_str_isspace_says() -> None:
    assert set(WHITESPACE) == {c for c in range(0x110000) if chr(c).isspace()}


@pytest.mark.parametrize(("lower", "strip"), [(False, False), (True, False), (False, True),
                                              (True, True)])
def test_whitespace_split_is_translate_then_str_split(lower: bool, strip: bool) -> None:
    table = {**(LOWER if lower else {}), **(STRIP if strip else {})}
    rng = random.Random(0)
    for _ in range(300):
        texts = ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14)))
                 for _ in range(rng.randint(0, 6))]
        documents = np.array(texts, dtype=str)
        pieces = [text.translate(table).split() for text in documents.tolist()]
        expected = np.array(list(itertools.chain.from_iterable(pieces)), dtype=str)
        flat, lengths = whitespace_split(documents, lower=lower, strip=strip)
        assert flat.tolist() == expected.tolist(), texts
        assert lengths.tolist() == [len(p) for p in pieces]
        assert lengths.dtype == np.int64


def test_characters_are_the_code_points() -> None:
    flat, lengths = characters(np.array(["a\U0001f600", "", " é"]))
    assert flat.tolist() == ["a", "\U0001f600", " ", "é"]
    assert lengths.tolist() == [2, 0, 2]

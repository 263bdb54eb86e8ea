"""(t) ``TextVectorization.adapt`` + transform of 100,000 short sentences, against
scikit-learn's ``CountVectorizer`` ``fit`` + ``transform`` of the same sentences.

The sentences are generated with a fixed seed, no network: 5 to 15 words each, drawn with
Zipf-like frequencies from 4,000 made-up lowercase words of 2 to 9 letters, the first word
capitalized and a ``.``, ``!`` or ``?`` at the end. Both sides lowercase and drop the
punctuation, and every word has at least two letters (``CountVectorizer``'s default
``token_pattern`` keeps only those), so both learn the same vocabulary and count the same
tokens: checked before anything is timed (the vocabularies are the same set, and on a
slice of the sentences lamina's ``count`` output equals ``CountVectorizer``'s matrix, column
by column).

lamina's column: ``adapt`` then the layer's call on all sentences (``output_mode="int"``,
``output_sequence_length=16``: a dense ``(100000, 16)`` int64 tensor). The torch column is
the reference here, ``CountVectorizer().fit`` then ``.transform`` (a sparse count matrix).
A second row does the same with ``output_mode="count"`` on the first 10,000 sentences
(lamina's output is a dense float32 matrix, one column per token: 150 MB; scikit-learn's
is sparse).
There is no Keras column: Keras 3's ``TextVectorization`` needs TensorFlow, whatever the
backend. Target: lamina at most 2x ``CountVectorizer``. Without scikit-learn (the
``examples`` extra) the row says so and measures nothing.

Run alone with ``python bench/text.py``; ``bench/run.py`` includes this row.
"""

from __future__ import annotations

import os
import sys

import numpy as np

try:
    from sklearn.feature_extraction.text import CountVectorizer
except ImportError:  # the reference is optional: pip install -e ".[examples]"
    CountVectorizer = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import measure, ratio_target, row  # noqa: E402

from lamina import layers  # noqa: E402

SENTENCES, WORDS, SEQUENCE_LENGTH = 100_000, 4_000, 16
COUNT_SENTENCES = 10_000  # count mode is dense: (10,000, ~3,900) float32 is 150 MB
LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def words(count: int, rng: np.random.Generator) -> list[str]:
    """``count`` distinct made-up lowercase words of 2 to 9 letters."""
    found: dict[str, None] = {}
    while len(found) < count:
        size = int(rng.integers(2, 10))
        found["".join(rng.choice(LETTERS, size))] = None
    return list(found)


def sentences(count: int = SENTENCES, seed: int = 0) -> list[str]:
    """``count`` sentences of 5 to 15 words (Zipf-like word frequencies), capitalized and
    ending in ``.``, ``!`` or ``?``."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array(words(WORDS, rng))
    weights = 1.0 / np.arange(1, WORDS + 1)
    lengths = rng.integers(5, 16, size=count)
    drawn = vocabulary[rng.choice(WORDS, size=int(lengths.sum()), p=weights / weights.sum())]
    ends = np.cumsum(lengths).tolist()
    marks = rng.choice(np.array([".", "!", "?"]), size=count).tolist()
    flat = drawn.tolist()
    return [" ".join(flat[end - size:end]).capitalize() + mark
            for end, size, mark in zip(ends, lengths.tolist(), marks)]


def lamina_adapt_transform(texts: list[str]) -> object:
    layer = layers.TextVectorization(output_sequence_length=SEQUENCE_LENGTH)
    layer.adapt(texts)
    return layer(texts)


def lamina_adapt_count(texts: list[str]) -> object:
    layer = layers.TextVectorization(output_mode="count")
    layer.adapt(texts)
    return layer(texts)


def sklearn_fit_transform(texts: list[str]) -> object:
    vectorizer = CountVectorizer()
    vectorizer.fit(texts)
    return vectorizer.transform(texts)


def check_same_counts(texts: list[str], sample: int = 2_000) -> None:
    """Both learn the same vocabulary; lamina's ``count`` output of ``sample`` sentences
    equals ``CountVectorizer``'s (columns matched by token); the ``int`` output holds every
    sentence's first 16 tokens."""
    counting = layers.TextVectorization(output_mode="count")
    counting.adapt(texts)
    vectorizer = CountVectorizer().fit(texts)
    ours = counting.get_vocabulary(include_special_tokens=False)
    assert set(ours) == set(vectorizer.vocabulary_), "the vocabularies differ"
    expected = vectorizer.transform(texts[:sample]).toarray()
    columns = [vectorizer.vocabulary_[token] for token in ours]
    counts = counting(texts[:sample]).numpy()
    assert not counts[:, 0].any(), "out-of-vocabulary tokens counted"
    np.testing.assert_array_equal(counts[:, 1:], expected[:, columns])
    ids = lamina_adapt_transform(texts).numpy()
    lengths = np.minimum(np.asarray(vectorizer.transform(texts).sum(axis=1)).ravel(),
                         SEQUENCE_LENGTH)
    np.testing.assert_array_equal((ids > 1).sum(axis=1), lengths)


def text_rows(quick: bool) -> list[dict[str, object]]:
    """(t): adapt + transform of 100,000 sentences against CountVectorizer fit + transform."""
    name = (f"(t) TextVectorization adapt + int transform, {SENTENCES:,} sentences "
            "(torch: sklearn CountVectorizer fit + transform)")
    if CountVectorizer is None:
        return [row(name, {"kind": "needs scikit-learn"}, {}, "scikit-learn not installed")]
    texts = sentences()
    check_same_counts(texts)
    times = measure({"lamina": lambda: lamina_adapt_transform(texts),
                     "torch": lambda: sklearn_fit_transform(texts)},
                    inner=1, blocks=3 if quick else 7, warmup=1)
    few = texts[:COUNT_SENTENCES]
    count_times = measure({"lamina": lambda: lamina_adapt_count(few),
                           "torch": lambda: sklearn_fit_transform(few)},
                          inner=1, blocks=3 if quick else 7, warmup=1)
    return [row(name, ratio_target(2.0), times, "n/a: Keras's needs TensorFlow"),
            row(f"(t) TextVectorization adapt + count transform (dense), {COUNT_SENTENCES:,} "
                "sentences (torch: the same CountVectorizer, sparse)", ratio_target(2.0),
                count_times, "n/a: Keras's needs TensorFlow")]


def main(argv: list[str] | None = None) -> int:
    try:
        from run import run_alone
    except ImportError:
        from bench.run import run_alone
    return run_alone("t", __doc__.splitlines()[0], argv)
if __name__ == "__main__":
    sys.exit(main())

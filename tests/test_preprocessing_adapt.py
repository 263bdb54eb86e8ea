"""``adapt`` reads numpy arrays, tensors, lists, ``DataLoader``s and generators (of arrays,
tensors, lists or ``(x, y)`` pairs), whole or in ``batch_size`` pieces, up to ``steps``
batches: every form gives what adapting on the whole array at once gives. And the
progress bar: drawn with ``verbose=1``, never with 0, with ``"auto"`` only when long."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from lamina import layers
from lamina.errors import ArgumentError, DataError
from lamina.layers import preprocessing_adapt
from lamina.layers.preprocessing_adapt import batches

NUMBERS = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
LABELS = np.arange(64) % 2
TOKENS = np.random.default_rng(1).integers(0, 9, size=(64, 4))
WORDS = np.array(["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis"])
TEXTS = [" ".join(WORDS[row]) for row in TOKENS]


def pieces(array: Any, count: int = 4) -> list[Any]:
    return [array[start:start + len(array) // count]
            for start in range(0, len(array), len(array) // count)]


def numeric_forms(x: np.ndarray) -> dict[str, Callable[[], Any]]:
    """Each form of the same numeric data (built fresh: generators run once)."""
    y = LABELS[:len(x)]
    return {
        "array": lambda: x, "tensor": lambda: torch.from_numpy(x), "list": lambda: x.tolist(),
        "list of arrays": lambda: pieces(x),
        "generator of tensors": lambda: (torch.from_numpy(p) for p in pieces(x)),
        "generator of (x, y)": lambda: ((p, q) for p, q in zip(pieces(x), pieces(y))),
        "generator of (x, y, w)": lambda: ((p, q, q) for p, q in zip(pieces(x), pieces(y))),
        "DataLoader": lambda: DataLoader(torch.from_numpy(x), batch_size=16),
        "DataLoader of (x, y)": lambda: DataLoader(
            TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=16),
    }


def text_forms(texts: list[str]) -> dict[str, Callable[[], Any]]:
    """Each form of the same sentences."""
    labels = LABELS[:len(texts)].tolist()
    return {
        "list": lambda: texts, "array": lambda: np.array(texts),
        "object array": lambda: np.array(texts, dtype=object),
        "bytes array": lambda: np.array([t.encode() for t in texts]),
        "column array": lambda: np.array(texts).reshape(-1, 1),
        "list of arrays": lambda: [np.array(p) for p in pieces(texts)],
        "generator of lists": lambda: iter(pieces(texts)),
        "generator of (x, y)": lambda: ((p, np.array(q))
                                        for p, q in zip(pieces(texts), pieces(labels))),
        "generator of tuples (x, y)": lambda: zip(pieces(texts), pieces(labels)),
        "DataLoader": lambda: DataLoader(texts, batch_size=16),
        "DataLoader of (x, y)": lambda: DataLoader(list(zip(texts, labels)), batch_size=16),
    }


@pytest.mark.parametrize("form", list(numeric_forms(NUMBERS)))
def test_normalization_adapts_every_form_as_the_whole_array(form: str) -> None:
    whole = layers.Normalization()
    whole.adapt(NUMBERS)
    layer = layers.Normalization()
    layer.adapt(numeric_forms(NUMBERS)[form]())
    np.testing.assert_allclose(layer.mean.numpy(), whole.mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(layer.variance.numpy(), whole.variance.numpy(), rtol=1e-5)


@pytest.mark.parametrize("form", list(numeric_forms(NUMBERS[:, 0])))
def test_discretization_adapts_every_form(form: str) -> None:
    """Quantile summaries merged batch by batch are approximate (as Keras's): the batched
    forms agree with the list of arrays, the whole forms with the array."""
    column = NUMBERS[:, 0]
    batched = form not in ("array", "tensor", "list")
    reference = layers.Discretization(num_bins=4)
    reference.adapt(pieces(column) if batched else column)
    layer = layers.Discretization(num_bins=4)
    layer.adapt(numeric_forms(column)[form]())
    np.testing.assert_allclose(layer.bin_boundaries, reference.bin_boundaries, rtol=1e-6)


@pytest.mark.parametrize("form", list(numeric_forms(TOKENS)))
def test_integer_lookup_adapts_every_form_as_the_whole_array(form: str) -> None:
    whole = layers.IntegerLookup()
    whole.adapt(TOKENS)
    layer = layers.IntegerLookup()
    layer.adapt(numeric_forms(TOKENS)[form]())
    assert layer.get_vocabulary() == whole.get_vocabulary()


@pytest.mark.parametrize("form", ["array", "list", "list of arrays", "generator", "DataLoader"])
def test_string_lookup_adapts_every_form_as_the_whole_array(form: str) -> None:
    tokens = WORDS[TOKENS]
    data = {"array": tokens, "list": tokens.tolist(), "list of arrays": pieces(tokens),
            "generator": iter(pieces(tokens)),
            "DataLoader": DataLoader(tokens.reshape(-1).tolist(), batch_size=16)}[form]
    whole = layers.StringLookup()
    whole.adapt(tokens)
    layer = layers.StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == whole.get_vocabulary()


@pytest.mark.parametrize("mode", ["int", "tf_idf"])
@pytest.mark.parametrize("form", list(text_forms(TEXTS)))
def test_text_vectorization_adapts_every_form_as_the_whole_list(form: str, mode: str) -> None:
    whole = layers.TextVectorization(output_mode=mode)
    whole.adapt(TEXTS)
    layer = layers.TextVectorization(output_mode=mode)
    layer.adapt(text_forms(TEXTS)[form]())
    assert layer.get_vocabulary() == whole.get_vocabulary()
    if mode == "tf_idf":
        torch.testing.assert_close(layer.idf_weights, whole.idf_weights)
        torch.testing.assert_close(layer(TEXTS[:5]), whole(TEXTS[:5]))


@pytest.mark.parametrize("batch_size", [1, 7, 16, 64, 1000])
def test_text_vectorization_batch_size_reads_the_same(batch_size: int) -> None:
    whole = layers.TextVectorization(output_mode="tf_idf")
    whole.adapt(TEXTS)
    for data in (TEXTS, np.array(TEXTS)):
        layer = layers.TextVectorization(output_mode="tf_idf")
        layer.adapt(data, batch_size=batch_size)
        assert layer.get_vocabulary() == whole.get_vocabulary()
        torch.testing.assert_close(layer.idf_weights, whole.idf_weights)


def test_steps_reads_only_the_first_batches() -> None:
    first_half = layers.TextVectorization()
    first_half.adapt(TEXTS[:32])
    for data, kwargs in ((TEXTS, {"batch_size": 16}), (iter(pieces(TEXTS)), {}),
                         (DataLoader(TEXTS, batch_size=16), {})):
        layer = layers.TextVectorization()
        layer.adapt(data, steps=2, **kwargs)
        assert layer.get_vocabulary() == first_half.get_vocabulary()
    lookup = layers.IntegerLookup()
    lookup.adapt(iter(pieces(TOKENS)), steps=2)
    expected = layers.IntegerLookup()
    expected.adapt(TOKENS[:32])
    assert lookup.get_vocabulary() == expected.get_vocabulary()


def test_bad_data_is_refused_with_the_layer_named() -> None:
    with pytest.raises(DataError, match="no batches"):
        layers.Normalization().adapt(iter([]))
    with pytest.raises(DataError, match="ragged"):
        layers.Normalization().adapt([[1.0, 2.0], [3.0]])
    with pytest.raises(ArgumentError, match="batch_size"):
        layers.TextVectorization().adapt(TEXTS, batch_size=0)
    with pytest.raises(ArgumentError, match="verbose"):
        layers.TextVectorization().adapt(TEXTS, verbose="loud")


def test_progress_bar_drawn_with_verbose_1_only(capsys: pytest.CaptureFixture[str]) -> None:
    layers.TextVectorization().adapt(TEXTS, batch_size=16, verbose=1)
    out = capsys.readouterr().out
    assert "4/4" in out and "batch" in out
    layers.TextVectorization().adapt(iter(pieces(TEXTS)), verbose=1)
    assert "4/Unknown" in capsys.readouterr().out  # a generator's length is unknown
    layers.TextVectorization().adapt(TEXTS, batch_size=16, verbose=0)
    layers.TextVectorization().adapt(TEXTS, batch_size=16)  # "auto", and quick
    layers.Normalization().adapt(pieces(NUMBERS))
    assert capsys.readouterr().out == ""


def test_auto_progress_bar_appears_once_adapting_is_long(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preprocessing_adapt, "AUTO_AFTER_SECONDS", 0.0)
    layers.Normalization().adapt(pieces(NUMBERS))
    assert "4/4" in capsys.readouterr().out
    layers.TextVectorization().adapt(TEXTS, batch_size=8, steps=3)  # stopped: bar finished
    assert "3/3" in capsys.readouterr().out


def test_batches_stops_after_steps_and_finishes_the_bar(
        capsys: pytest.CaptureFixture[str]) -> None:
    read = [b.tolist() for b in batches(np.arange(10), "Normalization", batch_size=3,
                                        steps=2, verbose=1)]
    assert read == [[0, 1, 2], [3, 4, 5]]
    assert "2/2" in capsys.readouterr().out
    source = batches(iter([np.zeros(2)] * 5), "Normalization", verbose=1)
    next(source)
    source.close()  # a caller that stops early still finishes the bar
    assert "1/Unknown" in capsys.readouterr().out

"""StringLookup without TensorFlow (Keras 3 needs TensorFlow for its string layers, so the
expected vocabularies, indices and tf-idf values are worked out by hand): strings, lists,
numpy and bytes inputs, Keras's vocabulary order (count, then token, highest first), the
mask and OOV indices, invert, tf-idf, save/load in a model, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import ArgumentError, ArgumentTypeError, DataError

VOCAB = ["a", "b", "c", "d"]


@pytest.mark.parametrize(("kwargs", "x", "expected"), [
    ({}, [["a", "c", "d"], ["d", "z", "b"]], [[1, 3, 4], [4, 0, 2]]),
    ({"mask_token": ""}, [["a", "c", ""], ["d", "z", "b"]], [[2, 4, 0], [5, 1, 3]]),
    ({"output_mode": "multi_hot"}, [["a", "b", "a"], ["z", "c", "c"]],
     [[0, 1, 1, 0, 0], [1, 0, 0, 1, 0]]),
    ({"output_mode": "count"}, [["a", "b", "a"], ["z", "c", "c"]],
     [[0, 2, 1, 0, 0], [1, 0, 0, 2, 0]]),
    ({"output_mode": "one_hot"}, ["a", "q"], [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0]]),
    ({"output_mode": "tf_idf", "idf_weights": [0.25, 0.75, 0.6, 0.4]},
     [["a", "c", "d", "d"], ["d", "z", "b", "z"]],
     [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    ({"mask_token": "", "output_mode": "count"}, [["a", "", ""]], [[0, 1, 0, 0, 0]]),
])
def test_string_lookup_by_hand(kwargs: dict, x: list, expected: list) -> None:
    layer = layers.StringLookup(vocabulary=VOCAB, **kwargs)
    for given in (x, np.array(x), np.array(x).astype("S"), np.array(x, dtype=object)):
        out = layer(given)
        assert out.dtype == (torch.int64 if layer.output_mode == "int" else torch.float32)
        np.testing.assert_allclose(out.numpy(), np.array(expected), rtol=1e-6)
    config = layer.get_config()
    assert "vocabulary_dtype" not in config and config["encoding"] == "utf-8"
    rebuilt = layers.StringLookup.from_config(config)
    np.testing.assert_allclose(rebuilt(x).numpy(), np.array(expected), rtol=1e-6)


def test_string_lookup_scalar_invert_and_looked_up_indices() -> None:
    layer = layers.StringLookup(vocabulary=VOCAB)
    assert layer("c").tolist() == 3
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)
    assert inverse(torch.tensor([[1, 3, 4], [4, 0, 2]])).tolist() == [
        ["a", "c", "d"], ["d", "[UNK]", "b"]]
    counts = layers.StringLookup(vocabulary=VOCAB, output_mode="count")
    ids = layers.StringLookup(vocabulary=VOCAB, output_mode="int")([["a", "a", "q"]])
    np.testing.assert_array_equal(counts(ids).numpy(), counts([["a", "a", "q"]]).numpy())


def test_string_lookup_adapt_orders_like_keras() -> None:
    layer = layers.StringLookup(mask_token="")
    layer.adapt(np.array([["fox", "the", "dog"], ["the", "cat", "dog"], ["the", "ant", "b"]]))
    # "the" 3 times, "dog" twice; among the rest, highest string first.
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "dog", "fox", "cat", "b", "ant"]
    capped = layers.StringLookup(max_tokens=3)
    capped.adapt(iter([np.array(["x", "y", "y"]), np.array(["z", "z", "y", "é"])]))
    assert capped.get_vocabulary() == ["[UNK]", "y", "z"]
    tfidf = layers.StringLookup(output_mode="tf_idf")
    tfidf.adapt([["a", "b", "b"], ["b", "c", "c"], ["c", "c", "c"]])  # 3 documents
    assert tfidf.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    idf = np.log(1 + 3 / (1 + np.array([2, 2, 1])))
    expected = [idf.mean() * 1, idf[0] * 1, idf[1] * 2, 0.0]
    np.testing.assert_allclose(tfidf([["b", "b", "c", "zz"]]).numpy(), [expected], rtol=1e-6)


def test_an_adapted_string_lookup_saves_and_reloads_in_a_model(tmp_path) -> None:
    lookup = layers.StringLookup(output_mode="count")
    lookup.adapt(["red", "green", "green", "blue", "green", "red"])
    inputs = lamina.Input(shape=(3,), dtype="int64")  # indices looked up at the boundary
    model = lamina.Model(inputs, layers.Dense(2)(lookup(inputs)))
    strings = [["red", "blue", "pink"], ["green", "green", "red"]]
    ids = layers.StringLookup(vocabulary=lookup.get_vocabulary())(strings).numpy()
    lamina.save_model(model, tmp_path / "strings.lamina")
    loaded = lamina.load_model(tmp_path / "strings.lamina")
    reloaded = loaded.layers[1]
    assert reloaded.get_vocabulary() == ["[UNK]", "green", "red", "blue"]
    np.testing.assert_array_equal(reloaded(strings).numpy(), lookup(strings).numpy())
    np.testing.assert_allclose(loaded.predict(ids, verbose=0), model.predict(ids, verbose=0))


def test_string_lookup_errors() -> None:
    with pytest.raises(DataError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=0)(["a", "zz"])
    with pytest.raises(ArgumentTypeError, match="expects strings"):
        layers.StringLookup(vocabulary=VOCAB)(np.array([1.5, 2.0]))
    with pytest.raises(ArgumentError, match="mask token '' is inside"):
        layers.StringLookup(vocabulary=["a", ""], mask_token="")
    with pytest.raises(ArgumentError, match="has no vocabulary"):
        layers.StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ArgumentError, match="vocabulary file"):
        layers.StringLookup(vocabulary="vocab.txt")
    with pytest.raises(ArgumentError, match="salt must be"):
        layers.StringLookup(vocabulary=VOCAB, num_oov_indices=2, salt="key")

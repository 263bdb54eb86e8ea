"""TextVectorization without TensorFlow (Keras 3 needs TensorFlow for it, so vocabularies,
token ids and multi-hot, count and tf-idf values are worked out by hand on small corpora):
standardize/split/ngrams variants, output_sequence_length, configs, save/load; and models
that take strings: a string Input, fit/evaluate/predict on string arrays and loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError

CORPUS = ["The cat sat.", "The dog sat on the cat!"]
# counts: the 3, sat 2, cat 2, on 1, dog 1; ties: the higher string first.
VOCAB = ["", "[UNK]", "the", "sat", "cat", "on", "dog"]


def test_adapt_orders_by_count_then_token_and_maps_ids() -> None:
    layer = layers.TextVectorization()
    layer.adapt(CORPUS)
    assert layer.get_vocabulary() == VOCAB
    assert layer.get_vocabulary(include_special_tokens=False) == VOCAB[2:]
    assert layer.vocabulary_size() == 7
    out = layer(["the DOG ran, the end", "cat"])
    assert out.dtype == torch.int64
    assert out.tolist() == [[2, 6, 1, 2, 1], [4, 0, 0, 0, 0]]  # padded with 0
    assert layer("on the mat").tolist() == [5, 2, 1]  # a single string: one row, no batch


@pytest.mark.parametrize("data", [
    CORPUS, np.array(CORPUS), np.array(CORPUS, dtype=object),
    np.array([s.encode() for s in CORPUS]), np.array(CORPUS).reshape(2, 1),
    iter([np.array(CORPUS[:1]), np.array(CORPUS[1:])]),
    torch.utils.data.DataLoader(CORPUS, batch_size=1),
    torch.utils.data.DataLoader(list(zip(CORPUS, [0, 1])), batch_size=1),
])
def test_adapt_reads_lists_arrays_generators_and_loaders(data) -> None:
    layer = layers.TextVectorization()
    layer.adapt(data)
    assert layer.get_vocabulary() == VOCAB


@pytest.mark.parametrize(("kwargs", "text", "expected"), [
    ({"standardize": "lower"}, "Hi, hi THERE", ["hi,", "hi", "there"]),
    ({"standardize": "strip_punctuation"}, "Hi, hi!", ["Hi", "hi"]),
    ({"standardize": None}, "Hi, hi", ["Hi,", "hi"]),
    ({}, "Ünïcode Ab-c's", ["Ünïcode", "abcs"]),  # ASCII lowercase only, as tf.strings
    ({"standardize": lambda a: np.char.upper(a)}, "ab b", ["AB", "B"]),
    ({"split": "character"}, "Ab é", ["a", "b", " ", "é"]),
    ({"split": lambda a: [s.split("-") for s in a], "standardize": None}, "a-b-c",
     ["a", "b", "c"]),
    ({"split": None}, "The cat", ["the cat"]),
])
def test_standardize_and_split_variants(kwargs: dict, text: str, expected: list) -> None:
    layer = layers.TextVectorization(**kwargs)
    layer.adapt([text])
    assert sorted(layer.get_vocabulary()[2:]) == sorted(set(expected))
    ids = layer(text if kwargs.get("split", "whitespace") else [text]).reshape(-1).tolist()
    vocabulary = layer.get_vocabulary()
    assert [vocabulary[i] for i in ids] == expected


def test_ngrams_are_listed_width_by_width() -> None:
    layer = layers.TextVectorization(ngrams=2)
    layer.adapt(["a b c", "b c"])
    # b, c, "b c" twice ("c" > "b c" > "b"); then "a b", "a" once.
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b c", "b", "a b", "a"]
    assert layer(["a b c d"]).tolist() == [[6, 4, 2, 1, 5, 3, 1]]
    only_pairs = layers.TextVectorization(ngrams=(2,), vocabulary=["a b", "c d"])
    assert only_pairs(["a b c d", "a"]).tolist() == [[2, 1, 3], [0, 0, 0]]
    trigrams = layers.TextVectorization(ngrams=(1, 3), vocabulary=["x y z", "y"])
    assert trigrams(["x y z"]).tolist() == [[1, 3, 1, 2]]


def test_output_sequence_length_pads_and_cuts() -> None:
    layer = layers.TextVectorization(vocabulary=VOCAB[2:], output_sequence_length=3)
    assert layer(["the cat", "the dog sat on the cat", ""]).tolist() == [
        [2, 4, 0], [2, 6, 3], [0, 0, 0]]
    assert layer(np.array([["the"]])).tolist() == [[2, 0, 0]]
    assert layer.compute_output_shape((None, 1)) == (None, 3)
    assert layers.TextVectorization(vocabulary=["a"])([""]).shape == (1, 0)


@pytest.mark.parametrize(("mode", "expected"), [
    ("multi_hot", [[0, 1, 1, 1, 0], [1, 0, 1, 0, 1]]),
    ("count", [[0, 2, 1, 1, 0], [2, 0, 1, 0, 1]]),
])
def test_multi_hot_and_count(mode: str, expected: list) -> None:
    layer = layers.TextVectorization(vocabulary=["cat", "the", "sat", "dog"], output_mode=mode)
    assert layer.get_vocabulary() == ["[UNK]", "cat", "the", "sat", "dog"]  # no mask index
    out = layer(["The cat sat, cat", "a dog, the end"])
    assert out.dtype == torch.float32
    assert out.tolist() == expected
    padded = layers.TextVectorization(max_tokens=8, pad_to_max_tokens=True, output_mode=mode,
                                      vocabulary=["cat", "the", "sat", "dog"])
    assert padded(["dog"]).tolist() == [[0, 0, 0, 0, 1, 0, 0, 0]]
    assert layer.compute_output_shape((None,)) == (None, 5)


def test_tf_idf_adapted_and_given() -> None:
    layer = layers.TextVectorization(output_mode="tf_idf")
    layer.adapt(["a b b", "b c c", "c c c"])  # 3 documents; c in 2, b in 2, a in 1
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    idf = np.log(1 + 3 / (1 + np.array([2, 2, 1])))
    np.testing.assert_allclose(layer.idf_weights.numpy(), [idf.mean(), *idf], rtol=1e-6)
    expected = [idf.mean() * 1, idf[0] * 1, idf[1] * 2, 0.0]  # "zz" is [UNK]
    np.testing.assert_allclose(layer(["b b c zz"]).numpy(), [expected], rtol=1e-6)
    given = layers.TextVectorization(output_mode="tf_idf", vocabulary=["x", "y"],
                                     idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(given(["x y y q"]).numpy(), [[1.25, 0.5, 4.0]])


def test_max_tokens_keeps_the_most_frequent() -> None:
    layer = layers.TextVectorization(max_tokens=4)
    layer.adapt(CORPUS)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "sat"]
    assert layer(["cat the"]).tolist() == [[1, 2]]


def test_set_vocabulary_and_config_round_trip() -> None:
    layer = layers.TextVectorization(output_sequence_length=4, ngrams=(1, 2))
    layer.set_vocabulary(["", "[UNK]", "x", "y", "x y"])
    assert layer.get_vocabulary() == ["", "[UNK]", "x", "y", "x y"]
    config = layer.get_config()
    for key in ("max_tokens", "standardize", "split", "ngrams", "output_mode",
                "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged",
                "vocabulary", "idf_weights", "encoding", "vocabulary_size"):
        assert key in config
    assert config["vocabulary_size"] == 5 and config["ngrams"] == [1, 2]
    rebuilt = layers.TextVectorization.from_config(config)
    assert rebuilt.get_vocabulary() == layer.get_vocabulary()
    assert rebuilt(["x y y"]).tolist() == layer(["x y y"]).tolist() == [[2, 3, 3, 4]]
    adapted = layers.TextVectorization(output_mode="tf_idf")
    adapted.adapt(CORPUS)
    again = layers.TextVectorization.from_config(adapted.get_config())
    np.testing.assert_allclose(again(CORPUS).numpy(), adapted(CORPUS).numpy())
    again.adapt(["new words"])  # an adapted layer's config can be adapted again
    assert again.get_vocabulary() == ["[UNK]", "words", "new"]


def test_errors() -> None:
    with pytest.raises(ArgumentError, match="standardize must be"):
        layers.TextVectorization(standardize="upper")
    with pytest.raises(ArgumentError, match="split must be"):
        layers.TextVectorization(split="comma")
    with pytest.raises(ArgumentError, match="ngrams must be"):
        layers.TextVectorization(ngrams=0)
    with pytest.raises(ArgumentError, match="output_sequence_length is only used"):
        layers.TextVectorization(output_mode="count", output_sequence_length=3)
    with pytest.raises(ArgumentError, match="output_mode must be"):
        layers.TextVectorization(output_mode="bag")
    with pytest.raises(ArgumentError, match="ragged"):
        layers.TextVectorization(ragged=True)
    with pytest.raises(ArgumentError, match="cannot be adapted"):
        layers.TextVectorization(vocabulary=["a"]).adapt(["a"])
    with pytest.raises(ArgumentError, match="has no vocabulary"):
        layers.TextVectorization(output_mode="multi_hot")(["a"])
    with pytest.raises(ShapeError, match="expected shape"):
        layers.TextVectorization(vocabulary=["a"])([["a", "b"]])
    with pytest.raises(ArgumentTypeError, match="expects strings"):
        layers.TextVectorization(vocabulary=["a"])(np.array([1.5]))


# ---------------------------------------------------------------------- models of strings
def _sentences(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Generated sentences whose label is which of two word groups they use."""
    rng = np.random.default_rng(seed)
    filler = ["the", "a", "film", "was", "plot", "actor", "really", "quite", "it"]
    words = [["great", "superb", "lovely", "fun"], ["awful", "boring", "dull", "bad"]]
    labels = rng.integers(0, 2, count)
    texts = []
    for label in labels:
        chosen = list(rng.choice(filler, 5)) + list(rng.choice(words[label], 2))
        rng.shuffle(chosen)
        texts.append(" ".join(chosen).capitalize() + "!")
    return np.array(texts), labels.astype("float32")


def test_a_text_classifier_trains_from_strings_saves_and_reloads(tmp_path) -> None:
    torch.manual_seed(0)
    texts, labels = _sentences(400, seed=1)
    vectorize = layers.TextVectorization(max_tokens=40, output_sequence_length=8)
    vectorize.adapt(texts)
    inputs = lamina.Input(shape=(1,), dtype="string")
    assert repr(inputs.dtype) == "string"
    hidden = layers.GlobalAveragePooling1D()(layers.Embedding(40, 8)(vectorize(inputs)))
    model = lamina.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(texts.reshape(-1, 1), labels, epochs=8, batch_size=32, verbose=0,
              validation_split=0.2)
    test_texts, test_labels = _sentences(200, seed=2)
    _, accuracy = model.evaluate(list(test_texts), test_labels, verbose=0)
    assert accuracy > 0.8  # chance is 0.5
    predicted = model.predict(test_texts, verbose=0)
    np.testing.assert_allclose(model(test_texts[:5]).detach().numpy(), predicted[:5],
                               rtol=1e-5)
    lamina.save_model(model, tmp_path / "text.lamina")
    loaded = lamina.load_model(tmp_path / "text.lamina")
    assert loaded.layers[1].get_vocabulary() == vectorize.get_vocabulary()
    np.testing.assert_allclose(loaded.predict(test_texts, verbose=0), predicted, rtol=1e-6)
    ids = vectorize(test_texts[:3])  # a model with a string input also takes the ids
    np.testing.assert_allclose(loaded(ids).detach().numpy(), predicted[:3], rtol=1e-6)


def test_sequential_and_loaders_of_strings(tmp_path) -> None:
    torch.manual_seed(0)
    texts, labels = _sentences(64, seed=3)
    model = lamina.Sequential([
        layers.TextVectorization(output_mode="multi_hot", vocabulary=["great", "awful"]),
        layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    loader = torch.utils.data.DataLoader(list(zip(texts, labels)), batch_size=16)
    model.fit(loader, epochs=1, verbose=0)  # default collate: a list of strings, kept numpy
    assert model.input_shape == (None,)
    assert np.isfinite(model.evaluate(loader, verbose=0))
    assert model.predict(texts, verbose=0).shape == (64, 1)
    lamina.save_model(model, tmp_path / "seq.lamina")
    loaded = lamina.load_model(tmp_path / "seq.lamina")
    np.testing.assert_allclose(loaded.predict(["great", "awful day"], verbose=0),
                               model.predict(["great", "awful day"], verbose=0))
    lookup = lamina.Sequential([layers.StringLookup(vocabulary=["a", "b"],
                                                    output_mode="one_hot"), layers.Dense(2)])
    assert lookup.predict(np.array(["a", "z", "b"]), verbose=0).shape == (3, 2)


def test_string_inputs_feed_one_string_layer() -> None:
    inputs = lamina.Input(shape=(1,), dtype="string")
    with pytest.raises(ArgumentTypeError, match="cannot take a string input"):
        layers.Dense(2)(inputs)
    vectorize = layers.TextVectorization(vocabulary=["a"])
    lookup = layers.StringLookup(vocabulary=["a"])
    with pytest.raises(ArgumentTypeError, match="must feed exactly one layer"):
        lamina.Model(inputs, [vectorize(inputs), lookup(inputs)])


def test_exporting_a_string_model_exports_the_part_after_the_strings(tmp_path) -> None:
    from lamina.export import export_model

    vectorize = layers.TextVectorization(vocabulary=["good", "bad"], output_sequence_length=5)
    inputs = lamina.Input(shape=(1,), dtype="string")
    hidden = layers.GlobalAveragePooling1D()(layers.Embedding(4, 3)(vectorize(inputs)))
    model = lamina.Model(inputs, layers.Dense(1)(hidden))
    with pytest.warns(UserWarning, match="takes their integer ids"):
        path = export_model(model, tmp_path / "text.pt2", "torch")
    program = torch.export.load(path)  # a file this test just wrote
    texts = ["good bad", "bad", "so good"]
    np.testing.assert_allclose(
        program.module()(vectorize.strings_to_tensor(texts)).detach().numpy(),
        model(texts).detach().numpy(), rtol=1e-6)

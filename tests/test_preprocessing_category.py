"""CategoryEncoding and Discretization against Keras 3 (torch backend, which runs them without
TensorFlow) on the same inputs: values, shapes, dtypes and configs; Discretization's adapt
against Keras's own quantile summary (its update_state/finalize_state, which need no
TensorFlow); IntegerLookup against hand-worked vocabularies, indices and tf-idf values
(Keras needs TensorFlow for it); save/load in models; errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.errors import ArgumentError, DataError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="compares with torch Keras"),
]


def theirs(layer: object, x: object, **kwargs: object) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(x, **kwargs))


def same_config(ours: layers.Layer, keras_layer: object) -> None:
    """The same keys and values apart from the dtype (a policy dict in Keras) and name;
    Keras's config rebuilds the lamina layer with the same config."""
    mine, expected = ours.get_config(), keras_layer.get_config()
    for config in (mine, expected):
        config.pop("dtype"), config.pop("name")
    assert mine == expected
    rebuilt = type(ours).from_config(keras_layer.get_config()).get_config()
    rebuilt.pop("dtype"), rebuilt.pop("name")
    assert rebuilt == expected


# ------------------------------------------------------------------------ CategoryEncoding
INDEX_INPUTS = [np.array([0, 1, 3]), np.array([[0, 1], [3, 3], [2, 0]]), np.array([[1], [2]]),
                np.array(2), np.array([[[0, 1], [2, 2]], [[3, 3], [1, 0]]])]


@pytest.mark.parametrize("mode", ["one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", INDEX_INPUTS, ids=lambda x: str(x.shape))
def test_category_encoding_matches_keras(mode: str, x: np.ndarray) -> None:
    ours, keras_layer = (layers.CategoryEncoding(4, output_mode=mode),
                         keras.layers.CategoryEncoding(4, output_mode=mode))
    out, expected = ours(x), theirs(keras_layer, x)
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), expected)
    if x.ndim < 3:
        assert ours.compute_output_shape(x.shape) == tuple(expected.shape) or x.ndim == 0
    same_config(ours, keras_layer)


def test_category_encoding_takes_tensors_lists_and_count_weights() -> None:
    x = np.array([[0, 1, 1], [2, 3, 3]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 0.25, 0.25]], "float32")
    ours, keras_layer = (layers.CategoryEncoding(4, output_mode="count"),
                         keras.layers.CategoryEncoding(4, output_mode="count"))
    expected = theirs(keras_layer, x, count_weights=weights)
    np.testing.assert_allclose(ours(torch.from_numpy(x), count_weights=weights).numpy(),
                               expected)
    np.testing.assert_allclose(ours(x.tolist(), count_weights=torch.from_numpy(weights)),
                               expected)
    assert expected.tolist() == [[0.5, 3.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.5]]


def test_category_encoding_in_a_model_saves_and_reloads(tmp_path) -> None:
    inputs = lamina.Input(shape=(3,), dtype="int64")
    outputs = layers.Dense(2)(layers.CategoryEncoding(5, output_mode="count")(inputs))
    model = lamina.Model(inputs, outputs)
    assert model.output_shape == (None, 2)
    x = np.array([[0, 4, 4], [1, 2, 3]])
    lamina.save_model(model, tmp_path / "m.lamina")
    loaded = lamina.load_model(tmp_path / "m.lamina")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_category_encoding_errors() -> None:
    with pytest.raises(ArgumentError, match="num_tokens must be set"):
        layers.CategoryEncoding()
    with pytest.raises(ArgumentError, match="num_tokens=0"):
        layers.CategoryEncoding(0)
    with pytest.raises(ArgumentError, match="output_mode='int'"):
        layers.CategoryEncoding(3, output_mode="int")
    with pytest.raises(ArgumentError, match="sparse=True"):
        layers.CategoryEncoding(3, sparse=True)
    with pytest.raises(DataError, match="received a value of 5"):
        layers.CategoryEncoding(3)(np.array([[1, 5]]))
    with pytest.raises(ArgumentError, match="count_weights is only used"):
        layers.CategoryEncoding(3)(np.array([[1, 2]]), count_weights=np.ones((1, 2)))
    assert layers.CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"


# ------------------------------------------------------------------------- Discretization
@pytest.mark.parametrize("mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("x", [np.array([[-1.5, 1.0, 3.4, 0.5], [0.0, 2.0, 1.99, -0.0]]),
                               np.array([-1.0, 0.0, 0.5, 1.0, 3.0]),
                               np.array([[0.2], [1.5]]), np.array([[1, 2], [0, 5]])],
                         ids=["2d", "1d", "column", "ints"])
def test_discretization_matches_keras(mode: str, x: np.ndarray) -> None:
    kwargs = {"bin_boundaries": [0.0, 1.0, 2.0], "output_mode": mode}
    ours, keras_layer = layers.Discretization(**kwargs), keras.layers.Discretization(**kwargs)
    out, expected = ours(x), theirs(keras_layer, x)
    assert str(out.dtype).replace("torch.", "") == str(expected.dtype)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert ours.compute_output_shape(x.shape) == keras_layer.compute_output_shape(x.shape)
    same_config(ours, keras_layer)


def keras_adapted(batches_: list[np.ndarray], **kwargs: object) -> object:
    """Keras's Discretization adapted batch by batch through its own summary code (its
    adapt() itself needs TensorFlow to test for tf.data datasets)."""
    layer = keras.layers.Discretization(**kwargs)
    layer.reset_state()
    for batch in batches_:
        layer.update_state(batch)
    layer.finalize_state()
    return layer


@pytest.mark.parametrize(("num_bins", "epsilon"), [(4, 0.01), (5, 0.1), (3, 0.001), (10, 0.05)])
def test_discretization_adapt_matches_keras(num_bins: int, epsilon: float) -> None:
    rng = np.random.default_rng(num_bins)
    x = rng.normal(size=(900, 3)).astype("float32")
    chunks = [x[:300], x[300:600], x[600:]]
    expected = keras_adapted(chunks, num_bins=num_bins, epsilon=epsilon)
    for data in (chunks, iter(chunks), [torch.from_numpy(c) for c in chunks],
                 torch.utils.data.DataLoader(torch.from_numpy(x), batch_size=300)):
        ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
        ours.adapt(data)
        np.testing.assert_allclose(ours.bin_boundaries, expected.bin_boundaries, rtol=1e-6)
        np.testing.assert_array_equal(ours(x).numpy(), theirs(expected, x))
    whole = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    whole.adapt(x)
    np.testing.assert_allclose(whole.bin_boundaries,
                               keras_adapted([x], num_bins=num_bins,
                                             epsilon=epsilon).bin_boundaries, rtol=1e-6)
    config = whole.get_config()
    assert config["bin_boundaries"] == whole.bin_boundaries and config["num_bins"] == num_bins
    for cls in (layers.Discretization, keras.layers.Discretization):
        assert cls.from_config(config).bin_boundaries == whole.bin_boundaries


def test_an_adapted_discretization_saves_and_reloads_in_a_model(tmp_path) -> None:
    x = np.random.default_rng(0).uniform(0, 10, size=(200, 2)).astype("float32")
    disc = layers.Discretization(num_bins=5, output_mode="one_hot")
    disc.adapt(x)
    inputs = lamina.Input(shape=(2,))
    model = lamina.Model(inputs, layers.Flatten()(disc(inputs)))
    assert model.output_shape == (None, 10)
    lamina.save_model(model, tmp_path / "d.lamina")
    loaded = lamina.load_model(tmp_path / "d.lamina")
    assert loaded.layers[1].bin_boundaries == disc.bin_boundaries
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_discretization_errors() -> None:
    with pytest.raises(ArgumentError, match="not both"):
        layers.Discretization(bin_boundaries=[1.0], num_bins=2)
    with pytest.raises(ArgumentError, match="received neither"):
        layers.Discretization()
    with pytest.raises(ArgumentError, match="increasing"):
        layers.Discretization(bin_boundaries=[2.0, 1.0])
    with pytest.raises(ArgumentError, match="nothing to adapt"):
        layers.Discretization(bin_boundaries=[1.0]).adapt(np.zeros(3))
    with pytest.raises(ArgumentError, match="no bin boundaries"):
        layers.Discretization(num_bins=3)(np.zeros(3))


# -------------------------------------------------------------------------- IntegerLookup
# Keras needs TensorFlow for IntegerLookup: expected values are worked out by hand (most
# are the examples of Keras's docstring).
VOCAB = [12, 36, 1138, 42]


@pytest.mark.parametrize(("kwargs", "x", "expected"), [
    ({}, [[12, 1138, 42], [42, 1000, 36]], [[1, 3, 4], [4, 0, 2]]),
    ({"num_oov_indices": 2}, [[12, 1138, 42], [37, 1000, 36]], [[2, 4, 5], [1, 0, 3]]),
    ({"mask_token": 0}, [[12, 1138, 0], [42, 1000, 36]], [[2, 4, 0], [5, 1, 3]]),
    ({"output_mode": "multi_hot"}, [[12, 1138, 42, 42], [42, 7, 36, 7]],
     [[0, 1, 0, 1, 1], [1, 0, 1, 0, 1]]),
    ({"output_mode": "count"}, [[12, 1138, 42, 42], [42, 7, 36, 7]],
     [[0, 1, 0, 1, 2], [2, 0, 1, 0, 1]]),
    ({"output_mode": "one_hot"}, [12, 36, 9], [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0],
                                              [1, 0, 0, 0, 0]]),
    ({"output_mode": "tf_idf", "idf_weights": [0.25, 0.75, 0.6, 0.4]},
     [[12, 1138, 42, 42], [42, 7, 36, 7]], [[0, 0.25, 0, 0.6, 0.8], [1.0, 0, 0.75, 0, 0.4]]),
    ({"output_mode": "multi_hot", "max_tokens": 8, "pad_to_max_tokens": True}, [[12, 42]],
     [[0, 1, 0, 0, 1, 0, 0, 0]]),
    ({"invert": True}, [[1, 3, 4], [4, 0, 2]], [[12, 1138, 42], [42, -1, 36]]),
    ({"invert": True, "mask_token": 0}, [[2, 4, 0], [5, 1, 3]], [[12, 1138, 0], [42, -1, 36]]),
])
def test_integer_lookup_by_hand(kwargs: dict, x: list, expected: list) -> None:
    layer = layers.IntegerLookup(vocabulary=VOCAB, **kwargs)
    for given in (x, np.array(x), torch.tensor(x)):
        out = layer(given)
        assert out.dtype == (torch.int64 if layer.output_mode == "int" else torch.float32)
        np.testing.assert_allclose(out.numpy(), np.array(expected), rtol=1e-6)
    assert layer.compute_output_shape(np.array(x).shape) == np.array(expected).shape
    config = layer.get_config()
    assert config["vocabulary"] == VOCAB and config["vocabulary_dtype"] == "int64"
    assert config["vocabulary_size"] == layer.vocabulary_size()
    np.testing.assert_allclose(layers.IntegerLookup.from_config(config)(x).numpy(),
                               np.array(expected), rtol=1e-6)


def test_integer_lookup_config_has_keras_keys() -> None:
    config = layers.IntegerLookup().get_config()
    assert sorted(config) == sorted([
        "name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices", "oov_token",
        "mask_token", "output_mode", "sparse", "pad_to_max_tokens", "vocabulary_dtype",
        "idf_weights", "vocabulary", "vocabulary_size", "oov_method", "salt"])
    assert (config["oov_token"], config["num_oov_indices"], config["vocabulary"],
            config["vocabulary_size"]) == (-1, 1, None, None)


def test_integer_lookup_adapt_orders_by_count_then_token() -> None:
    data = np.array([[12, 1138, 42], [42, 1000, 36], [36, 42, 7]])
    layer = layers.IntegerLookup(mask_token=0)
    layer.adapt(data)
    # 42 three times, 36 twice, the rest once: higher token first among equals.
    assert layer.get_vocabulary() == [0, -1, 42, 36, 1138, 1000, 12, 7]
    assert layer.get_vocabulary(include_special_tokens=False) == [42, 36, 1138, 1000, 12, 7]
    capped = layers.IntegerLookup(max_tokens=4)
    capped.adapt(iter([data[:2], data[2:]]))
    assert capped.get_vocabulary() == [-1, 42, 36, 1138]
    assert capped([[7, 42]]).tolist() == [[0, 1]]


def test_integer_lookup_adapts_tf_idf_weights_by_hand() -> None:
    layer = layers.IntegerLookup(output_mode="tf_idf")
    layer.adapt(np.array([[1, 2, 2], [2, 3, 3]]))
    assert layer.get_vocabulary() == [-1, 2, 3, 1]
    idf = [np.log(1 + 2 / 3), np.log(1 + 2 / 2), np.log(1 + 2 / 2)]  # 2 documents
    expected = [np.mean(idf) * 1, idf[0] * 2, 0.0, 0.0]  # 5 is out of vocabulary
    np.testing.assert_allclose(layer([[2, 2, 5]]).numpy(), [expected], rtol=1e-6)
    rebuilt = layers.IntegerLookup.from_config(layer.get_config())
    np.testing.assert_array_equal(rebuilt([[2, 2, 5]]).numpy(), layer([[2, 2, 5]]).numpy())


def test_an_adapted_integer_lookup_saves_and_reloads_in_a_model(tmp_path) -> None:
    lookup = layers.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(np.array([[5, 6, 6], [7, 5, 5], [9, 9, 9]]))
    inputs = lamina.Input(shape=(3,), dtype="int64")
    model = lamina.Model(inputs, layers.Dense(2)(lookup(inputs)))
    assert model.output_shape == (None, 2)
    x = np.array([[5, 9, 100], [6, 6, 7]])
    lamina.save_model(model, tmp_path / "lookup.lamina")
    loaded = lamina.load_model(tmp_path / "lookup.lamina")
    assert loaded.layers[1].get_vocabulary() == lookup.get_vocabulary() == [-1, 9, 5, 6, 7]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    loaded.layers[1].adapt(np.array([[1, 1]]))  # a reloaded adapted layer adapts again
    assert loaded.layers[1].get_vocabulary() == [-1, 1]


def test_integer_lookup_errors() -> None:
    with pytest.raises(DataError, match="num_oov_indices=0"):
        layers.IntegerLookup(vocabulary=VOCAB, num_oov_indices=0)([[12, 5]])
    with pytest.raises(ArgumentError, match="invert=True needs output_mode='int'"):
        layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ArgumentError, match="repeats"):
        layers.IntegerLookup(vocabulary=[1, 2, 1])
    with pytest.raises(ArgumentError, match="give idf_weights"):
        layers.IntegerLookup(vocabulary=VOCAB, output_mode="tf_idf")
    with pytest.raises(ArgumentError, match="cannot be adapted"):
        layers.IntegerLookup(vocabulary=VOCAB).adapt(np.array([1, 2]))
    with pytest.raises(ArgumentError, match="more than max_tokens"):
        layers.IntegerLookup(vocabulary=VOCAB, max_tokens=3)
    with pytest.raises(ArgumentError, match="has no vocabulary"):
        layers.IntegerLookup(output_mode="count")([[1]])
    with pytest.raises(ArgumentError, match="max_tokens must be"):
        layers.IntegerLookup(max_tokens=1)

"""Rescaling, Normalization, Resizing and CenterCrop against Keras 3 (torch backend) on the
same inputs: values, shapes, dtypes and configs; Normalization's adapt against numpy and
Keras from arrays, tensors, lists, DataLoaders and generators; an adapted Normalization
saved in a model and reloaded; errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.errors import ArgumentError, ArgumentTypeError, DataError, ShapeError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="compares with torch Keras"),
]

CF = "channels_first"


def data(*shape: int, seed: int = 0, low: float = 0.0, high: float = 255.0,
         dtype: str = "float32") -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape).astype(dtype)


def theirs(layer: object, x: np.ndarray, **kwargs: object) -> np.ndarray:
    return keras.ops.convert_to_numpy(layer(x, **kwargs))


def same_config(ours: layers.Layer, keras_layer: object) -> None:
    """The same keys and values apart from the dtype (a policy dict in Keras); Keras's
    config rebuilds the lamina layer with the same config."""
    mine, expected = ours.get_config(), keras_layer.get_config()
    mine.pop("dtype"), expected.pop("dtype")
    mine.pop("name"), expected.pop("name")
    assert mine == expected
    rebuilt = type(ours).from_config(keras_layer.get_config()).get_config()
    rebuilt.pop("dtype"), rebuilt.pop("name")
    assert rebuilt == expected


# ------------------------------------------------------------------------------ Rescaling
@pytest.mark.parametrize(("kwargs", "dtype"), [
    ({"scale": 1 / 255}, "uint8"),
    ({"scale": 1 / 127.5, "offset": -1}, "float32"),
    ({"scale": 2, "offset": 0.5}, "int32"),
    ({"scale": np.array([1.0, 2.0, 3.0], "float32")}, "float32"),
])
def test_rescaling_matches_keras(kwargs: dict, dtype: str) -> None:
    x = data(2, 4, 4, 3, dtype=dtype)
    ours, keras_layer = layers.Rescaling(**kwargs), keras.layers.Rescaling(**kwargs)
    out = ours(torch.from_numpy(x))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), theirs(keras_layer, x), rtol=1e-6)
    config, expected = ours.get_config(), keras_layer.get_config()
    assert config["scale"] == expected["scale"] and config["offset"] == expected["offset"]
    rebuilt = layers.Rescaling.from_config(keras_layer.get_config())
    np.testing.assert_allclose(rebuilt(torch.from_numpy(x)).numpy(), out.numpy())


def test_rescaling_per_channel_in_channels_first() -> None:
    previous = lamina.config.image_data_format()
    lamina.config.set_image_data_format(CF)
    try:
        out = layers.Rescaling([1.0, 10.0])(torch.ones(1, 2, 3, 3))
    finally:
        lamina.config.set_image_data_format(previous)
    assert out[0, 0].unique().tolist() == [1.0] and out[0, 1].unique().tolist() == [10.0]


def test_rescaling_refuses_a_string_scale() -> None:
    with pytest.raises(ArgumentTypeError, match="scale='big'"):
        layers.Rescaling("big")


# -------------------------------------------------------------------------- Normalization
@pytest.mark.parametrize(("axis", "shape"), [
    (-1, (40, 3)), (None, (40, 3)), (1, (30, 4, 5)), ((1, 2), (30, 4, 5)), (-1, (12,)),
])
def test_normalization_adapt_matches_numpy_and_keras(axis: object, shape: tuple) -> None:
    x = data(*shape, low=-3, high=9)
    ours, keras_layer = layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(x)
    keras_layer.adapt(x)
    ndim = len(shape)
    kept = () if axis is None else tuple(sorted(a % ndim for a in (
        (axis,) if isinstance(axis, int) else axis)))
    reduce = tuple(d for d in range(ndim) if d not in kept)
    np.testing.assert_allclose(ours.mean.detach().numpy(), x.mean(axis=reduce), rtol=1e-5,
                               atol=1e-5)
    np.testing.assert_allclose(ours.variance.detach().numpy(), x.var(axis=reduce),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(torch.from_numpy(x)).numpy(), theirs(keras_layer, x),
                               rtol=1e-4, atol=1e-5)
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in keras_layer.get_weights()]
    same_config(ours, keras_layer)


def test_adapt_reads_batches_from_every_kind_of_source() -> None:
    x = data(50, 3, low=-5, high=5)
    expected = layers.Normalization()
    expected.adapt(x)
    tensor = torch.from_numpy(x)
    sources = {
        "tensor": tensor,
        "list of numbers": x.tolist(),
        "list of batches": [x[:20], x[20:]],
        "generator": (x[i:i + 7] for i in range(0, 50, 7)),
        "dataloader": torch.utils.data.DataLoader(tensor, batch_size=8),
        "dataloader of (x, y)": torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(tensor, torch.zeros(50)), batch_size=16),
        "generator of (x, y)": ((x[i:i + 10], None) for i in range(0, 50, 10)),
    }
    for name, source in sources.items():
        layer = layers.Normalization()
        layer.adapt(source)
        for mine, reference in zip(layer.get_weights(), expected.get_weights()):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6, err_msg=name)


def test_adapt_on_uneven_batches_matches_keras_on_the_whole_array() -> None:
    """(Keras's own adapt of batches needs TensorFlow installed.)"""
    x = data(64, 5, low=0, high=100)
    ours, keras_layer = layers.Normalization(), keras.layers.Normalization()
    ours.adapt(x[i:i + 10] for i in range(0, 64, 10))
    keras_layer.adapt(x)
    for mine, reference in zip(ours.get_weights()[:2], keras_layer.get_weights()[:2]):
        np.testing.assert_allclose(mine, reference, rtol=1e-4)


@pytest.mark.parametrize("kwargs", [
    {"mean": 3.0, "variance": 2.0},
    {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0]},
    {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 4.0, 9.0], "invert": True},
    {"axis": (1, 2), "mean": [1.0, 2.0, 3.0], "variance": [4.0, 4.0, 4.0]},
])
def test_normalization_with_given_mean_and_variance_matches_keras(kwargs: dict) -> None:
    x = data(4, 2, 3, low=-2, high=2) if kwargs.get("axis") else data(5, 3, low=-2, high=2)
    ours, keras_layer = layers.Normalization(**kwargs), keras.layers.Normalization(**kwargs)
    np.testing.assert_allclose(ours(torch.from_numpy(x)).numpy(), theirs(keras_layer, x),
                               rtol=1e-6)
    assert ours.get_weights() == [] and ours.get_config()["mean"] == kwargs["mean"]
    same_config(ours, keras_layer)


def test_invert_undoes_normalization() -> None:
    x = data(20, 4, low=-10, high=10)
    forward, backward = layers.Normalization(), layers.Normalization(invert=True)
    forward.adapt(x)
    backward.adapt(x)
    torch.testing.assert_close(backward(forward(torch.from_numpy(x))), torch.from_numpy(x),
                               rtol=1e-5, atol=1e-4)


def test_an_adapted_normalization_saves_and_reloads_in_a_model(tmp_path) -> None:
    x = data(64, 3, low=-4, high=20)
    y = data(64, 1)
    norm = layers.Normalization()
    model = lamina.Sequential([lamina.Input(shape=(3,)), norm, layers.Dense(1)])
    norm.adapt(x)  # inside a built model
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert [w.requires_grad for w in norm.weights] == [False, False, False]
    np.testing.assert_allclose(norm.mean.detach().numpy(), x.mean(0), rtol=1e-5)
    path = tmp_path / "normalized.lamina"
    lamina.save_model(model, path)
    loaded = lamina.load_model(path)
    reloaded = loaded.layers[0]
    assert isinstance(reloaded, layers.Normalization)
    np.testing.assert_allclose(reloaded.mean.detach().numpy(), norm.mean.detach().numpy())
    np.testing.assert_allclose(reloaded.variance.detach().numpy(),
                               norm.variance.detach().numpy())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_normalization_errors_leave_the_layer_as_it_was() -> None:
    with pytest.raises(ArgumentError, match="both mean and variance"):
        layers.Normalization(mean=1.0)
    with pytest.raises(ArgumentError, match="same shape"):
        layers.Normalization(mean=[1.0, 2.0], variance=[1.0])
    with pytest.raises(ArgumentTypeError, match="axis='x'"):
        layers.Normalization(axis="x")
    layer = layers.Normalization()
    layer.adapt(data(10, 3))
    before = [w.copy() for w in layer.get_weights()]
    with pytest.raises(ShapeError, match="kept axes"):
        layer.adapt(data(10, 4))
    bad_batches = [data(10, 3, seed=1), data(10, 5)]
    with pytest.raises(ShapeError, match="does not match"):
        layer.adapt(iter(bad_batches))
    for old, new in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(old, new)
    fresh = layers.Normalization()
    with pytest.raises(DataError, match="no batches"):
        fresh.adapt(iter([]))
    with pytest.raises(ArgumentTypeError, match="str"):
        fresh.adapt("numbers")
    assert not fresh.built and fresh.get_weights() == []
    with pytest.raises(ArgumentError, match="nothing to adapt"):
        layers.Normalization(mean=0.0, variance=1.0).adapt(data(3, 2))


# ------------------------------------------------------------------- Resizing, CenterCrop
@pytest.mark.parametrize(("kwargs", "shape", "dtype"), [
    ({"height": 4, "width": 5}, (2, 8, 7, 3), "float32"),
    ({"height": 10, "width": 3, "interpolation": "nearest"}, (2, 6, 6, 1), "float32"),
    ({"height": 5, "width": 5, "interpolation": "bicubic", "antialias": True}, (1, 9, 8, 2),
     "float32"),
    ({"height": 4, "width": 4, "crop_to_aspect_ratio": True}, (2, 6, 9, 3), "float32"),
    ({"height": 4, "width": 6, "pad_to_aspect_ratio": True, "fill_value": 7.0},
     (2, 6, 6, 3), "float32"),
    ({"height": 3, "width": 4}, (2, 8, 7, 3), "uint8"),
    ({"height": 3, "width": 4, "data_format": CF}, (2, 3, 8, 7), "float32"),
    ({"height": 3, "width": 4}, (8, 7, 3), "float32"),
])
def test_resizing_matches_keras(kwargs: dict, shape: tuple, dtype: str) -> None:
    x = data(*shape, dtype=dtype)
    ours, keras_layer = layers.Resizing(**kwargs), keras.layers.Resizing(**kwargs)
    out = ours(torch.from_numpy(x))
    expected = theirs(keras_layer, x)
    assert tuple(out.shape) == expected.shape == keras_layer.compute_output_shape(shape)
    assert str(out.dtype).split(".")[-1] == str(expected.dtype)
    np.testing.assert_allclose(out.numpy().astype("float64"), expected.astype("float64"),
                               rtol=1e-4, atol=1e-3)
    same_config(ours, keras_layer)


@pytest.mark.parametrize(("kwargs", "shape", "dtype"), [
    ({"height": 3, "width": 4}, (2, 7, 8, 3), "float32"),
    ({"height": 3, "width": 4}, (2, 6, 8, 3), "uint8"),
    ({"height": 9, "width": 4}, (2, 6, 8, 3), "float32"),  # too small: resized
    ({"height": 2, "width": 2, "data_format": CF}, (3, 5, 5), "float32"),
])
def test_center_crop_matches_keras(kwargs: dict, shape: tuple, dtype: str) -> None:
    x = data(*shape, dtype=dtype)
    ours, keras_layer = layers.CenterCrop(**kwargs), keras.layers.CenterCrop(**kwargs)
    out = ours(torch.from_numpy(x))
    expected = theirs(keras_layer, x)
    assert out.dtype == torch.float32 and tuple(out.shape) == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-4)
    same_config(ours, keras_layer)


def test_image_layers_in_a_symbolic_model() -> None:
    inputs = lamina.Input(shape=(32, 30, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Resizing(16, 16)(x)
    outputs = layers.CenterCrop(8, 10)(x)
    model = lamina.Model(inputs, outputs)
    assert model.output_shape == (None, 8, 10, 3)
    out = model.predict(data(2, 32, 30, 3), verbose=0)
    assert out.shape == (2, 8, 10, 3) and 0 <= out.min() and out.max() <= 1


@pytest.mark.parametrize(("cls", "kwargs", "error", "quoted"), [
    (layers.Resizing, {"height": 0, "width": 3}, ArgumentError, "(0, 3)"),
    (layers.Resizing, {"height": 2, "width": 3, "interpolation": "cubic"}, ArgumentError,
     "interpolation='cubic'"),
    (layers.Resizing, {"height": 2, "width": 3, "crop_to_aspect_ratio": True,
                       "pad_to_aspect_ratio": True}, ArgumentError, "not both"),
    (layers.Resizing, {"height": 2, "width": 3, "data_format": "NHWC"}, ArgumentError,
     "data_format='NHWC'"),
    (layers.CenterCrop, {"height": 2.5, "width": 3}, ArgumentError, "2.5"),
])
def test_bad_image_layer_arguments(cls: type, kwargs: dict, error: type, quoted: str) -> None:
    with pytest.raises(error, match=__import__("re").escape(quoted)):
        cls(**kwargs)


def test_image_layers_refuse_other_ranks() -> None:
    with pytest.raises(ShapeError, match="rank 3"):
        layers.Resizing(2, 2)(torch.ones(2, 3))
    with pytest.raises(ShapeError, match="rank 3"):
        layers.CenterCrop(2, 2)(torch.ones(1, 1, 4, 4, 1))

"""The random image layers against Keras 3 (torch backend): outside training the identity
(RandomCrop: the centred resize Keras documents); in training, a seeded layer draws Keras's
values (the same outputs, call after call); statistics and ranges of unseeded draws;
configs; errors; augmentation inside fit only."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning"),
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="compares with torch Keras"),
]

CF = "channels_first"

CASES = [
    ("RandomFlip", {}),
    ("RandomFlip", {"mode": "horizontal"}),
    ("RandomFlip", {"mode": "vertical", "data_format": CF}),
    ("RandomRotation", {"factor": 0.2}),
    ("RandomRotation", {"factor": (-0.3, 0.1), "fill_mode": "constant", "fill_value": 9.0,
                        "interpolation": "nearest"}),
    ("RandomZoom", {"height_factor": 0.3}),
    ("RandomZoom", {"height_factor": (-0.5, 0.2), "width_factor": 0.4, "fill_mode": "wrap"}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": (-0.3, 0.1),
                           "fill_mode": "nearest"}),
    ("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.3, "data_format": CF}),
    ("RandomContrast", {"factor": 0.5}),
    ("RandomContrast", {"factor": (0.2, 0.6), "value_range": (0, 1)}),
    ("RandomBrightness", {"factor": 0.3}),
    ("RandomBrightness", {"factor": (-0.1, 0.4), "value_range": [1, 0]}),
    ("RandomCrop", {"height": 3, "width": 4}),
    ("RandomCrop", {"height": 8, "width": 4}),
    ("RandomCrop", {"height": 2, "width": 3, "data_format": CF}),
]


def images(*shape: int, seed: int = 0, high: float = 255.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, high, size=shape).astype("float32")


def _input(kwargs: dict, batched: bool = True) -> np.ndarray:
    high = 1.0 if kwargs.get("value_range") in ((0, 1), [1, 0]) else 255.0
    shape = (3, 6, 7) if kwargs.get("data_format") == CF else (6, 7, 3)
    return images(*(((4,) if batched else ()) + shape), high=high)


def _ids(case: tuple) -> str:
    return f"{case[0]}-{'-'.join(f'{k}={v}' for k, v in case[1].items())}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("batched", [True, False])
def test_seeded_training_draws_match_keras(case: tuple, batched: bool) -> None:
    name, kwargs = case
    x = _input(kwargs, batched)
    ours = getattr(layers, name)(seed=5, **kwargs)
    keras_layer = getattr(keras.layers, name)(seed=5, **kwargs)
    for _ in range(3):  # each call draws the next seed, as Keras's SeedGenerator does
        expected = keras.ops.convert_to_numpy(keras_layer(x, training=True))
        out = ours(torch.from_numpy(x), training=True)
        assert out.dtype == torch.float32 and tuple(out.shape) == expected.shape
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-3)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_config_matches_keras_and_round_trips(case: tuple) -> None:
    name, kwargs = case
    ours = getattr(layers, name)(seed=11, **kwargs)
    keras_layer = getattr(keras.layers, name)(seed=11, **kwargs)
    mine, expected = ours.get_config(), keras_layer.get_config()
    for config in (mine, expected):
        config.pop("dtype"), config.pop("name")
    assert mine == expected
    rebuilt = getattr(layers, name).from_config(keras_layer.get_config())
    x = torch.from_numpy(_input(kwargs))
    torch.testing.assert_close(rebuilt(x, training=True), ours(x, training=True))


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "RandomCrop"], ids=_ids)
def test_outside_training_the_layers_are_the_identity(case: tuple) -> None:
    name, kwargs = case
    layer = getattr(layers, name)(**kwargs)
    x = torch.from_numpy(_input(kwargs))
    assert torch.equal(layer(x), x) and torch.equal(layer(x, training=False), x)
    uint8 = x.to(torch.uint8)
    out = layer(uint8)
    assert out.dtype == torch.float32 and torch.equal(out, uint8.float())


def test_random_crop_outside_training_resizes_the_centred_window() -> None:
    x = torch.from_numpy(images(2, 6, 9, 3))
    out = layers.RandomCrop(4, 4)(x)
    expected = keras.ops.convert_to_numpy(keras.ops.image.resize(
        x.numpy(), (4, 4), crop_to_aspect_ratio=True))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-3)


def test_seeded_layers_repeat_and_unseeded_ones_vary() -> None:
    x = torch.from_numpy(images(8, 6, 6, 3))
    first = [layers.RandomRotation(0.3, seed=3)(x, training=True) for _ in range(2)]
    assert torch.equal(first[0], first[1])
    layer = layers.RandomRotation(0.3, seed=3)
    assert not torch.equal(layer(x, training=True), layer(x, training=True))
    unseeded = layers.RandomZoom(0.4)
    assert not torch.equal(unseeded(x, training=True), unseeded(x, training=True))


def test_flip_statistics() -> None:
    x = torch.arange(4.0).reshape(1, 1, 4, 1).expand(4000, 1, 4, 1)
    out = layers.RandomFlip("horizontal", seed=0)(x, training=True)
    flipped = (out[:, 0, 0, 0] == 3.0).float().mean()
    assert abs(float(flipped) - 0.5) < 0.04
    assert ((out[:, 0, :, 0] == x[:, 0, :, 0]).all(1) | (out[:, 0, :, 0] == x[:, 0, :, 0].flip(1))
            .all(1)).all()


def test_brightness_and_contrast_ranges() -> None:
    x = torch.full((2000, 2, 2, 1), 100.0)
    x[:, 0, 0] = 120.0
    bright = layers.RandomBrightness(0.2, seed=0)(x, training=True)
    delta = bright - x
    assert (delta.abs() <= 0.2 * 255 + 1e-3).all() and abs(float(delta.mean())) < 2.0
    assert torch.allclose(delta, delta[:, :1, :1])  # one offset per image
    contrast = layers.RandomContrast((0.0, 0.5), value_range=(0, 255), seed=0)(
        x, training=True)
    spread = (contrast[:, 0, 0, 0] - contrast[:, 0, 1, 0]) / 20.0
    assert (spread >= 1.0 - 1e-4).all() and (spread <= 1.5 + 1e-4).all()
    torch.testing.assert_close(contrast.mean(dim=(1, 2)), x.mean(dim=(1, 2)))


def test_rotation_translation_and_zoom_keep_shape_and_values_range() -> None:
    x = torch.from_numpy(images(16, 8, 8, 3))
    for layer in (layers.RandomRotation(0.5), layers.RandomTranslation(0.3, 0.3),
                  layers.RandomZoom((-0.5, 0.5))):
        out = layer(x, training=True)
        assert out.shape == x.shape and out.min() >= x.min() - 1e-3 and \
            out.max() <= x.max() + 1e-3
    quarter = layers.RandomRotation((0.25, 0.25), interpolation="nearest")
    square = torch.from_numpy(images(1, 5, 5, 1))
    torch.testing.assert_close(quarter(square, training=True), torch.rot90(square, 1, (1, 2)))


def test_augmentation_acts_inside_fit_only() -> None:
    seen: list[bool] = []

    class Probe(layers.Layer):
        def call(self, inputs, training=False):
            seen.append(bool(training))
            return inputs

    x = images(16, 8, 8, 3)
    model = lamina.Sequential([
        lamina.Input(shape=(8, 8, 3)), layers.Rescaling(1 / 255),
        layers.RandomFlip(seed=1), layers.RandomRotation(0.1, seed=1),
        layers.RandomZoom(0.1, seed=1), layers.RandomTranslation(0.1, 0.1, seed=1),
        layers.RandomContrast(0.1, value_range=(0, 1), seed=1),
        layers.RandomBrightness(0.1, value_range=(0, 1), seed=1),
        layers.RandomCrop(6, 6, seed=1), Probe(), layers.Flatten(), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((16, 1), "float32"), epochs=1, batch_size=8, verbose=0)
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    assert True in seen and seen[-1] is False


@pytest.mark.parametrize(("name", "kwargs", "error", "quoted"), [
    ("RandomFlip", {"mode": "diagonal"}, ArgumentError, "mode='diagonal'"),
    ("RandomRotation", {"factor": 1.5}, ArgumentError, "factor=1.5"),
    ("RandomRotation", {"factor": "big"}, ArgumentError, "factor='big'"),
    ("RandomRotation", {"factor": 0.1, "fill_mode": "mirror"}, NotImplementedError,
     "fill_mode='mirror'"),
    ("RandomZoom", {"height_factor": -1.0}, ArgumentError, "height_factor=-1.0"),
    ("RandomZoom", {"height_factor": 0.1, "interpolation": "bicubic"}, NotImplementedError,
     "interpolation='bicubic'"),
    ("RandomTranslation", {"height_factor": 0.1, "width_factor": (0.1, 0.2, 0.3)},
     ArgumentError, "width_factor=(0.1, 0.2, 0.3)"),
    ("RandomContrast", {"factor": -0.5}, ArgumentError, "factor=-0.5"),
    ("RandomBrightness", {"factor": 0.1, "value_range": 255}, ArgumentError,
     "value_range=255"),
    ("RandomCrop", {"height": 0, "width": 2}, ArgumentError, "(0, 2)"),
    ("RandomFlip", {"seed": "one"}, ArgumentTypeError, "seed='one'"),
    ("RandomFlip", {"data_format": "NCHW"}, ArgumentError, "data_format='NCHW'"),
])
def test_bad_arguments_quote_the_value(name: str, kwargs: dict, error: type,
                                                     quoted: str) -> None:
    with pytest.raises(error, match=re.escape(quoted)):
        getattr(layers, name)(**kwargs)


def test_random_layers_refuse_other_ranks() -> None:
    with pytest.raises(ShapeError, match="rank 3"):
        layers.RandomFlip()(torch.ones(2, 3), training=True)

"""keras.utils.array_to_img / img_to_array / save_img / load_img against Keras 3."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lamina import utils
from lamina.errors import ArgumentError, ShapeError

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytest.importorskip("PIL")

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(5, 7, 3), (5, 7, 4), (5, 7, 1), (3, 5, 7)])
@pytest.mark.parametrize("scale", [True, False])
def test_array_and_image_conversions_match_keras(shape: tuple, scale: bool) -> None:
    data_format = "channels_first" if shape[0] == 3 else "channels_last"
    values = RNG.uniform(0, 255, size=shape).astype("float32")
    ours = utils.array_to_img(values, data_format=data_format, scale=scale)
    theirs = keras.utils.array_to_img(values, data_format=data_format, scale=scale)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    for fmt in ("channels_last", "channels_first"):
        np.testing.assert_array_equal(utils.img_to_array(ours, data_format=fmt),
                                      keras.utils.img_to_array(theirs, data_format=fmt))


def test_save_and_load_images_as_keras(tmp_path) -> None:
    values = RNG.uniform(0, 255, size=(12, 10, 3)).astype("float32")
    path = str(tmp_path / "image.png")
    utils.save_img(path, values)
    for kwargs in ({}, {"color_mode": "grayscale"}, {"target_size": (6, 4)},
                   {"target_size": (6, 6), "keep_aspect_ratio": True,
                    "interpolation": "bilinear"}):
        ours = utils.img_to_array(utils.load_img(path, **kwargs))
        theirs = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ArgumentError, match="color_mode"):
        utils.load_img(path, color_mode="cmyk")
    with pytest.raises(ShapeError, match="rank 3"):
        utils.array_to_img(np.zeros((4, 4)))

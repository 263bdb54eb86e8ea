"""Keras's image helpers: ``array_to_img``, ``img_to_array``, ``save_img``, ``load_img``.

They convert between numpy arrays (height, width, channels; or channels first) and PIL
images, which need the Pillow package: it is imported when one of them is called, and
its absence is a clear error naming the package.

Example:
    >>> import numpy as np
    >>> image = array_to_img(np.arange(12, dtype="float32").reshape(2, 2, 3))
    >>> image.size, image.mode
    ((2, 2), 'RGB')
    >>> img_to_array(image)[1, 1].tolist()  # scaled so the largest value is 255
    [208.0, 231.0, 255.0]
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from lamina import config
from lamina.errors import ArgumentError, MissingDependencyError, ShapeError

_RESAMPLING = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


def _pil() -> Any:
    try:
        from PIL import Image  # Deferred: Pillow is optional, needed by these helpers only
    except ImportError as error:
        raise MissingDependencyError(
            "The image helpers need the Pillow package, which is not installed. Install it "
            "with pip install pillow.") from error
    return Image


def _data_format(data_format: str | None) -> str:
    value = data_format or config.image_data_format()
    if value not in ("channels_last", "channels_first"):
        raise ArgumentError(f"data_format must be 'channels_last' or 'channels_first', "
                            f"received {data_format!r}.")
    return value


def array_to_img(x: Any, data_format: str | None = None, scale: bool = True,
                 dtype: Any = None) -> Any:
    """A PIL image from an array of one image (1, 3 or 4 channels). ``scale`` stretches
    the values to 0..255 first."""
    image = _pil()
    values = np.asarray(x, dtype=dtype or config.floatx())
    if values.ndim != 3:
        raise ShapeError(f"array_to_img: expected one image of rank 3, received an array of "
                         f"shape {values.shape}.")
    if _data_format(data_format) == "channels_first":
        values = values.transpose(1, 2, 0)
    if scale:
        values = values - values.min()
        largest = values.max()
        if largest != 0:
            values = values / largest
        values = values * 255
    channels = values.shape[2]
    if channels in (3, 4):
        return image.fromarray(values.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if values.max() > 255:
            return image.fromarray(values[:, :, 0].astype("int32"), "I")
        return image.fromarray(values[:, :, 0].astype("uint8"), "L")
    raise ShapeError(f"array_to_img: images have 1, 3 or 4 channels, received {channels}.")


def img_to_array(img: Any, data_format: str | None = None, dtype: Any = None) -> np.ndarray:
    """The array of a PIL image (or anything numpy reads), always rank 3."""
    values = np.asarray(img, dtype=dtype or config.floatx())
    first = _data_format(data_format) == "channels_first"
    if values.ndim == 3:
        return values.transpose(2, 0, 1) if first else values
    if values.ndim == 2:
        return values[None] if first else values[:, :, None]
    raise ShapeError(f"img_to_array: expected an image of rank 2 or 3, received shape "
                     f"{values.shape}.")


def save_img(path: Any, x: Any, data_format: str | None = None,
             file_format: str | None = None, scale: bool = True, **kwargs: Any) -> None:
    """Write the image array ``x`` to ``path`` (its format from the suffix unless
    ``file_format`` says)."""
    if file_format is None and isinstance(path, (str, os.PathLike)):
        file_format = os.path.splitext(os.fspath(path))[1][1:].lower() or None
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    image = array_to_img(x, data_format=data_format, scale=scale)
    if image.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("JPEG cannot store an alpha channel: the image is saved as RGB.",
                      UserWarning, stacklevel=2)
        image = image.convert("RGB")
    image.save(path, format=file_format, **kwargs)


def load_img(path: Any, color_mode: str = "rgb", target_size: tuple[int, int] | None = None,
             interpolation: str = "nearest", keep_aspect_ratio: bool = False) -> Any:
    """A PIL image read from ``path`` in ``color_mode`` (``"grayscale"``, ``"rgb"``,
    ``"rgba"``), resized to ``target_size`` (height, width) when given; with
    ``keep_aspect_ratio`` the centre crop of the target's aspect ratio is resized."""
    image_module = _pil()
    modes = {"grayscale": "L", "rgb": "RGB", "rgba": "RGBA"}
    if color_mode not in modes:
        raise ArgumentError(f"load_img: color_mode must be one of {sorted(modes)}, received "
                            f"{color_mode!r}.")
    if interpolation not in _RESAMPLING:
        raise ArgumentError(f"load_img: interpolation must be one of {list(_RESAMPLING)}, "
                            f"received {interpolation!r}.")
    with open(path, "rb") if isinstance(path, (str, os.PathLike)) else _as_context(path) \
            as stream:
        image = image_module.open(stream)
        image.load()
    keeps = ("L", "I;16", "I") if color_mode == "grayscale" else (modes[color_mode],)
    if image.mode not in keeps:  # 16- and 32-bit grayscale stay as they are, as in Keras
        image = image.convert(modes[color_mode])
    if target_size is not None:
        height, width = target_size
        if image.size != (width, height):
            box = None
            if keep_aspect_ratio:  # resample from the centred box of the target's ratio
                crop_height = min(image.height, (image.width * height) // width)
                crop_width = min(image.width, (image.height * width) // height)
                left = (image.width - crop_width) // 2
                top = (image.height - crop_height) // 2
                box = (left, top, left + crop_width, top + crop_height)
            resample = getattr(image_module.Resampling, interpolation.upper())
            image = image.resize((width, height), resample, box=box)
    return image


class _as_context:  # noqa: N801 - a file object the caller owns, used as a context
    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def __enter__(self) -> Any:
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        return None

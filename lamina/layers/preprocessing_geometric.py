"""Random geometric augmentation in training: ``RandomRotation``, ``RandomZoom`` and
``RandomTranslation``, each one affine warp per image through
``lamina.ops.image.affine_transform``.

Like the layers of ``preprocessing_random.py`` they return their (float) input unchanged
outside training, and a seeded layer draws Keras 3's values (torch backend, CPU).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.layers.preprocessing_random import ImageAugmentation, factor_range
from lamina.ops import image as image_ops

_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("nearest", "bilinear")


class UnsupportedModeError(ArgumentError, NotImplementedError):
    """An unknown ``fill_mode`` or ``interpolation``: Keras raises ``NotImplementedError``,
    so this is both that and a ``ValueError``."""


def _check_sampling(owner: str, fill_mode: Any, interpolation: Any) -> None:
    if fill_mode not in _FILL_MODES:
        raise UnsupportedModeError(f"{owner}: fill_mode must be one of {list(_FILL_MODES)}, "
                                   f"received fill_mode={fill_mode!r}.")
    if interpolation not in _INTERPOLATIONS:
        raise UnsupportedModeError(f"{owner}: interpolation must be one of "
                                   f"{list(_INTERPOLATIONS)}, received "
                                   f"interpolation={interpolation!r}.")


def _range(factor: Any, name: str, owner: str, open_below: bool) -> tuple[float, float]:
    """``height_factor``/``width_factor``: a number ``f`` (``(-f, f)``) or two numbers, in
    ``[-1, 1]`` (``(-1, 1]`` for a zoom, which cannot shrink the image to nothing)."""
    values = factor if isinstance(factor, (tuple, list)) else [factor]
    if (not isinstance(factor, (tuple, list, int, float)) or isinstance(factor, bool)
            or len(values) not in (1, 2) or len(values) != (2 if isinstance(
                factor, (tuple, list)) else 1)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       and (-1 < v if open_below else -1 <= v) and v <= 1 for v in values)):
        interval = "(-1, 1]" if open_below else "[-1, 1]"
        raise ArgumentError(f"{owner}: {name} must be a number or a list of two numbers in "
                            f"{interval}, received {name}={factor!r}.")
    if isinstance(factor, (tuple, list)):
        lower, upper = sorted(factor)
        return lower, upper
    return -abs(factor), abs(factor)


class _AffineAugmentation(ImageAugmentation):
    """Fill mode, fill value and interpolation of an affine augmentation."""

    def __init__(self, fill_mode: str, interpolation: str, seed: int | None,
                 fill_value: float, data_format: str | None, **kwargs: Any) -> None:
        _check_sampling(type(self).__name__, fill_mode, interpolation)
        super().__init__(seed, data_format, **kwargs)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = fill_value

    def warp(self, images: torch.Tensor, rows: list[torch.Tensor]) -> torch.Tensor:
        """``images`` warped by one ``[a0, a1, a2, b0, b1, b2, 0, 0]`` row per image
        (``rows``: the eight ``(batch,)`` columns)."""
        transform = torch.stack([r.to(torch.float32) for r in rows], dim=1)
        return image_ops.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode,
                                          fill_value=self.fill_value,
                                          data_format=self.data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation}


class RandomRotation(_AffineAugmentation):
    """Rotates each image by a random angle about its centre, in training.

    Args:
        factor: A fraction of a full turn: a number ``f`` (angles in ``[-f, f] * 360``
            degrees) or two numbers ``(lower, upper)``; positive angles turn
            counter-clockwise.
        fill_mode: Outside the input: ``"reflect"``, ``"wrap"``, ``"constant"`` or
            ``"nearest"``. Default: ``"reflect"``.
        interpolation: ``"bilinear"`` or ``"nearest"``. Default: ``"bilinear"``.
        seed: Seed of the random draws. Default: ``None``.
        fill_value: The value of ``fill_mode="constant"``. Default: ``0.0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomRotation((0.25, 0.25), interpolation="nearest")  # a quarter turn
        >>> image = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(2, 2, 1)
        >>> layer(image, training=True)[..., 0].tolist()
        [[2.0, 4.0], [1.0, 3.0]]
    """

    def __init__(self, factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        factor = factor_range(factor, "RandomRotation", (-1, 1))
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = factor

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.shape[0]
        height_axis, width_axis = self._spatial_axes
        angle = self.uniform((batch,), self.factor[0] * 360.0, self.factor[1] * 360.0,
                             images) * (math.pi / 180.0)
        centre_x = 0.5 * (images.shape[width_axis] - 1)
        centre_y = 0.5 * (images.shape[height_axis] - 1)
        cos, sin = torch.cos(angle), torch.sin(angle)
        zeros = torch.zeros_like(angle)
        return self.warp(images, [cos, -sin, centre_x - centre_x * cos + centre_y * sin,
                                  sin, cos, centre_y - centre_x * sin - centre_y * cos,
                                  zeros, zeros])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineAugmentation):
    """Zooms each image in or out by a random factor about its centre, in training.

    A factor ``z`` samples the input at ``(1 + z)`` times the distance from the centre:
    positive values zoom out (the image shrinks), negative ones zoom in.

    Args:
        height_factor: A number ``f`` (``z`` in ``[-f, f]``) or two numbers, in ``(-1, 1]``.
        width_factor: The same for the width; ``None`` zooms the width as the height
            (keeping the aspect ratio). Default: ``None``.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"``.
            Default: ``"reflect"``.
        interpolation: ``"bilinear"`` or ``"nearest"``. Default: ``"bilinear"``.
        seed: Seed of the random draws. Default: ``None``.
        fill_value: The value of ``fill_mode="constant"``. Default: ``0.0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None``.

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomZoom((1.0, 1.0), fill_mode="constant", interpolation="nearest")
        >>> image = torch.arange(9.0).reshape(3, 3, 1)  # zoomed out to half its size
        >>> layer(image, training=True)[..., 0].tolist()
        [[0.0, 0.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 0.0]]
    """

    def __init__(self, height_factor: Any, width_factor: Any = None,
                 fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0,
                 data_format: str | None = None, **kwargs: Any) -> None:
        heights = _range(height_factor, "height_factor", "RandomZoom", open_below=True)
        widths = None if width_factor is None else _range(width_factor, "width_factor",
                                                          "RandomZoom", open_below=True)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._heights, self._widths = heights, widths

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.shape[0]
        height_axis, width_axis = self._spatial_axes
        height_zoom = self.uniform((batch,), 1.0 + self._heights[0], 1.0 + self._heights[1],
                                   images)
        width_zoom = height_zoom if self._widths is None else self.uniform(
            (batch,), 1.0 + self._widths[0], 1.0 + self._widths[1], images)
        x_offset = (images.shape[width_axis] - 1.0) / 2.0 * (1.0 - width_zoom)
        y_offset = (images.shape[height_axis] - 1.0) / 2.0 * (1.0 - height_zoom)
        zeros = torch.zeros_like(height_zoom)
        return self.warp(images, [width_zoom, zeros, x_offset, zeros, height_zoom, y_offset,
                                  zeros, zeros])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_AffineAugmentation):
    """Shifts each image by a random fraction of its height and width, in training.

    Args:
        height_factor: A number ``f`` (shifts in ``[-f, f] * height``) or two numbers, in
            ``[-1, 1]``; positive values move the image down.
        width_factor: The same for the width; positive values move it right.
        fill_mode: ``"reflect"``, ``"wrap"``, ``"constant"`` or ``"nearest"``.
            Default: ``"reflect"``.
        interpolation: ``"bilinear"`` or ``"nearest"``. Default: ``"bilinear"``.
        seed: Seed of the random draws. Default: ``None``.
        fill_value: The value of ``fill_mode="constant"``. Default: ``0.0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None``.

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomTranslation(0.0, (0.5, 0.5), fill_mode="constant")
        >>> layer(torch.tensor([[1.0, 2.0, 3.0, 4.0]]).reshape(1, 4, 1),
        ...       training=True)[..., 0].tolist()  # two columns to the right
        [[0.0, 0.0, 1.0, 2.0]]
    """

    def __init__(self, height_factor: Any, width_factor: Any, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None,
                 fill_value: float = 0.0, data_format: str | None = None,
                 **kwargs: Any) -> None:
        heights = _range(height_factor, "height_factor", "RandomTranslation", open_below=False)
        widths = _range(width_factor, "width_factor", "RandomTranslation", open_below=False)
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.height_factor, self.width_factor = height_factor, width_factor
        self._heights, self._widths = heights, widths

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        batch = images.shape[0]
        height_axis, width_axis = self._spatial_axes
        down = self.uniform((batch,), *self._heights, images) * images.shape[height_axis]
        right = self.uniform((batch,), *self._widths, images) * images.shape[width_axis]
        ones, zeros = torch.ones_like(down), torch.zeros_like(down)
        return self.warp(images, [ones, zeros, -right, zeros, ones, -down, zeros, zeros])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}

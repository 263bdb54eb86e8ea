"""Deterministic image preprocessing: ``Resizing`` and ``CenterCrop``, in training and
inference, on one image (3-D) or a batch (4-D) in ``data_format`` (default
``lamina.config.image_data_format()``). Both run ``lamina.ops.image``.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format, normalize_tuple
from lamina.ops import image as image_ops

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area")


def _check_images(layer: Layer, inputs: torch.Tensor) -> None:
    if inputs.dim() not in (3, 4):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}' expects one image (rank 3) or "
                         f"a batch (rank 4), received shape {tuple(inputs.shape)}.")


def _sized_shape(input_shape: Any, size: tuple[int, int], data_format: str,
                 owner: str) -> tuple[Any, ...]:
    shape = list(input_shape)
    if len(shape) not in (3, 4):
        raise ShapeError(f"{owner} expects one image (rank 3) or a batch (rank 4), received "
                         f"input shape {tuple(input_shape)}.")
    first = len(shape) - 3 + (1 if data_format == "channels_first" else 0)
    shape[first], shape[first + 1] = size
    return tuple(shape)


class Resizing(Layer):
    """Resizes images to ``(height, width)``.

    Args:
        height: The output height.
        width: The output width.
        interpolation: ``"bilinear"``, ``"nearest"``, ``"bicubic"`` or ``"area"``.
            Default: ``"bilinear"``.
        crop_to_aspect_ratio: Resize the largest centred window with the target's aspect
            ratio, so nothing is distorted. Default: ``False``.
        pad_to_aspect_ratio: Pad the short side evenly (with ``fill_value``) to the
            target's aspect ratio first. Default: ``False``.
        fill_mode: How padding is filled: ``"constant"``. Default: ``"constant"``.
        fill_value: The padding value. Default: ``0.0``.
        antialias: Filter before downsampling (bilinear and bicubic). Default: ``False``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last). Integer images
        keep their dtype (rounded), float ones become the layer's dtype.

    Output shape:
        ``(batch, height, width, channels)`` with the layer's height and width.

    Example:
        >>> out = Resizing(2, 3)(torch.ones(4, 8, 8, 3))
        >>> tuple(out.shape)
        (4, 2, 3, 3)
        >>> Resizing(1, 2, crop_to_aspect_ratio=True)(
        ...     torch.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
        [[6.5, 8.5]]
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear",
                 crop_to_aspect_ratio: bool = False, pad_to_aspect_ratio: bool = False,
                 fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None,
                 **kwargs: Any) -> None:
        height, width = normalize_tuple((height, width), 2, "height and width", "Resizing")
        if interpolation not in _INTERPOLATIONS:
            raise ArgumentError(f"Resizing: interpolation must be one of "
                                f"{list(_INTERPOLATIONS)}, received "
                                f"interpolation={interpolation!r}.")
        if fill_mode != "constant":
            raise ArgumentError("Resizing: fill_mode must be 'constant', received "
                                f"fill_mode={fill_mode!r}.")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ArgumentError("Resizing: pass crop_to_aspect_ratio=True or "
                                "pad_to_aspect_ratio=True, not both.")
        data_format = check_data_format(data_format, "Resizing")
        super().__init__(**kwargs)
        self.height, self.width = height, width
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.antialias = bool(antialias)
        self.data_format = data_format
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        _check_images(self, inputs)
        if inputs.is_floating_point() and self.dtype.is_floating_point:
            inputs = inputs.to(self.dtype)
        return image_ops.resize(inputs, (self.height, self.width),
                                interpolation=self.interpolation, antialias=self.antialias,
                                crop_to_aspect_ratio=self.crop_to_aspect_ratio,
                                pad_to_aspect_ratio=self.pad_to_aspect_ratio,
                                fill_mode=self.fill_mode, fill_value=self.fill_value,
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _sized_shape(input_shape, (self.height, self.width), self.data_format,
                            "Resizing")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "antialias": self.antialias,
                "data_format": self.data_format}


class CenterCrop(Layer):
    """Crops the centre ``height x width`` window of images, in training and inference.

    An image smaller than the window on either side is instead resized (bilinear) from its
    largest centred window with the target's aspect ratio, as Keras does.

    Args:
        height: The output height.
        width: The output width.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        ``(batch, height, width, channels)`` with the layer's height and width, in the
        layer's float dtype.

    Example:
        >>> CenterCrop(2, 2)(torch.arange(16.0).reshape(4, 4, 1))[..., 0].tolist()
        [[5.0, 6.0], [9.0, 10.0]]
    """

    def __init__(self, height: int, width: int, data_format: str | None = None,
                 **kwargs: Any) -> None:
        height, width = normalize_tuple((height, width), 2, "height and width", "CenterCrop")
        data_format = check_data_format(data_format, "CenterCrop")
        super().__init__(**kwargs)
        self.height, self.width = height, width
        self.data_format = data_format
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        _check_images(self, inputs)
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        inputs = inputs.to(dtype)
        first = inputs.dim() - 3 + (1 if self.data_format == "channels_first" else 0)
        height, width = inputs.shape[first], inputs.shape[first + 1]
        if height >= self.height and width >= self.width:
            top, left = (height - self.height) // 2, (width - self.width) // 2
            return inputs.narrow(first, top, self.height).narrow(first + 1, left, self.width)
        return image_ops.resize(inputs, (self.height, self.width), crop_to_aspect_ratio=True,
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return _sized_shape(input_shape, (self.height, self.width), self.data_format,
                            "CenterCrop")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "data_format": self.data_format}

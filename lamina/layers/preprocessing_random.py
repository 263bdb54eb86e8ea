"""Random image augmentation that acts only in training: the base ``ImageAugmentation``,
``RandomFlip``, ``RandomCrop``, ``RandomContrast`` and ``RandomBrightness``.

Each takes one image (3-D) or a batch (4-D) in ``data_format`` (default
``lamina.config.image_data_format()``) and returns floats of the layer's dtype. Outside
training (a new layer, ``predict``, ``evaluate``) it returns the input unchanged; in
training (``fit``, ``model.train()`` or ``training=True``) it draws one transformation per
image. Keras applies the augmentation when its layer is called directly without
``training``; lamina follows the layer's ``training`` flag, as for ``Dropout``.

``seed=`` seeds a :class:`lamina.random.SeedGenerator`, each call drawing the next seed from
it as Keras's layers do, so a seeded layer repeats its sequence and, on the CPU, draws
Keras 3's (torch backend) values. Draws are made on the CPU and moved to the input's device.
The geometric layers (``RandomRotation``, ``RandomZoom``, ``RandomTranslation``) are in
``preprocessing_geometric.py``.
"""

from __future__ import annotations

import random as python_random
from typing import Any

import torch

from lamina import random
from lamina.errors import ArgumentError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format, normalize_tuple
from lamina.ops import image as image_ops

_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


def factor_range(factor: Any, owner: str, bounds: tuple[float, float],
                 name: str = "factor") -> tuple[float, float]:
    """Keras's ``factor``: a number ``f`` (the range ``(max(-f, low), f)``) or two numbers
    (sorted), within ``bounds``.

    Example:
        >>> factor_range(0.2, "RandomBrightness", (-1, 1)), factor_range(0.2, "X", (0, 1))
        ((-0.2, 0.2), (0, 0.2))
    """
    message = (f"{owner}: {name} must be a number or a list of two numbers in the range "
               f"[{bounds[0]}, {bounds[1]}], received {name}={factor!r}.")
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, (int, float)) and not isinstance(f, bool)
                                       for f in factor):
            raise ArgumentError(message)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ArgumentError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ArgumentError(message)
        return max(-abs(factor), bounds[0]), abs(factor)
    raise ArgumentError(message)


class ImageAugmentation(Layer):
    """The base of the random image layers: seed, data format, and the identity outside
    training. A subclass writes ``augment(images)`` for a 4-D batch in training."""

    def __init__(self, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        seed = arguments.seed(seed, owner)
        data_format = check_data_format(data_format, owner)
        super().__init__(**kwargs)
        self.seed = seed
        self.data_format = data_format
        self.generator = random.SeedGenerator(seed)
        self._build_at_init()

    @property
    def _spatial_axes(self) -> tuple[int, int]:
        """The (height, width) axes of a 4-D batch."""
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def uniform(self, shape: tuple[int, ...], low: float, high: float,
                like: torch.Tensor, dtype: Any = "float32") -> torch.Tensor:
        """Uniform values in ``[low, high)`` from the layer's seed sequence, on ``like``'s
        device."""
        with torch.device("cpu"):
            values = random.uniform(shape, minval=low, maxval=high, dtype=dtype,
                                    seed=self.generator)
        return values.to(like.device)

    def _float(self, inputs: torch.Tensor) -> torch.Tensor:
        dtype = self.dtype if self.dtype.is_floating_point else torch.float32
        return inputs if inputs.dtype == dtype else inputs.to(dtype)

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        images = self._float(inputs)
        if images.dim() not in (3, 4):
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects one image (rank 3) "
                             f"or a batch (rank 4), received shape {tuple(inputs.shape)}.")
        if not training:
            return self.infer(images)
        if images.dim() == 3:
            return self.augment(images.unsqueeze(0))[0]
        return self.augment(images)

    def infer(self, images: torch.Tensor) -> torch.Tensor:
        """The output outside training: the images as they are."""
        return images

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed}


class RandomFlip(ImageAugmentation):
    """Flips each image horizontally and/or vertically with probability 1/2, in training.

    Args:
        mode: ``"horizontal"`` (left-right), ``"vertical"`` (top-bottom) or
            ``"horizontal_and_vertical"`` (both, for the same images). Default:
            ``"horizontal_and_vertical"``.
        seed: Seed of the random draws. Default: ``None``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Input shape:
        ``(batch, height, width, channels)`` or one image ``(height, width, channels)``
        (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomFlip("horizontal", seed=3)
        >>> images = torch.arange(4.0).reshape(1, 1, 4, 1)
        >>> layer(images).flatten().tolist()  # inference: unchanged
        [0.0, 1.0, 2.0, 3.0]
        >>> sorted(layer(images, training=True).flatten().tolist())  # flipped or not
        [0.0, 1.0, 2.0, 3.0]
    """

    supports_masking = True

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        if mode not in _FLIP_MODES:
            raise ArgumentError(f"RandomFlip: mode must be one of {list(_FLIP_MODES)}, "
                                f"received mode={mode!r}.")
        super().__init__(seed, data_format, **kwargs)
        self.mode = mode

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        flips = self.uniform((images.shape[0], 1, 1, 1), 0.0, 1.0, images) <= 0.5
        height, width = self._spatial_axes
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            images = torch.where(flips, images.flip(width), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            images = torch.where(flips, images.flip(height), images)
        return images

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class RandomCrop(ImageAugmentation):
    """Crops a random ``height x width`` window, in training (the same window for the
    whole batch).

    Outside training, the largest centred window with the target's aspect ratio is resized
    to ``(height, width)``, as Keras documents (Keras 3.15.1's code returns the input
    unchanged outside training, a shape other than its ``compute_output_shape``; lamina
    keeps the shape). In training, an image not larger than the window is cropped and
    resized as Keras 3 does it (from the start of that centred window).

    Args:
        height: The output height.
        width: The output width.
        seed: Seed of the random draws. Default: ``None`` (a random seed, kept in the
            config as Keras keeps it).
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        ``(batch, height, width, channels)`` with the layer's height and width.

    Example:
        >>> layer = RandomCrop(2, 2, seed=1)
        >>> tuple(layer(torch.ones(3, 5, 5, 1), training=True).shape)
        (3, 2, 2, 1)
        >>> layer(torch.arange(16.0).reshape(1, 4, 4, 1))[0, ..., 0].tolist()  # centred
        [[2.5, 4.5], [10.5, 12.5]]
    """

    def __init__(self, height: int, width: int, seed: int | None = None,
                 data_format: str | None = None, **kwargs: Any) -> None:
        height, width = normalize_tuple((height, width), 2, "height and width", "RandomCrop")
        if seed is None:
            seed = python_random.randint(1, int(1e9))  # Keras's default seed
        super().__init__(seed, data_format, **kwargs)
        self.height, self.width = height, width

    def _resized_centre(self, images: torch.Tensor) -> torch.Tensor:
        return image_ops.resize(images, (self.height, self.width), crop_to_aspect_ratio=True,
                                data_format=self.data_format)

    def infer(self, images: torch.Tensor) -> torch.Tensor:
        return self._resized_centre(images)

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        height_axis, width_axis = self._spatial_axes
        height, width = images.shape[height_axis], images.shape[width_axis]
        if height > self.height and width > self.width:
            top = int(self.uniform((), 0.0, float(height - self.height + 1), images))
            left = int(self.uniform((), 0.0, float(width - self.width + 1), images))
        else:
            # Keras's: start at the centred aspect-ratio window, take up to height x width
            # from there, and resize that to the target.
            crop_height = max(min(height, int(width * self.height / self.width)), 1)
            crop_width = max(min(width, int(height * self.width / self.height)), 1)
            top, left = (height - crop_height) // 2, (width - crop_width) // 2
        cropped = images.narrow(height_axis, top, min(self.height, height - top)).narrow(
            width_axis, left, min(self.width, width - left))
        if cropped.shape[height_axis] == self.height and cropped.shape[width_axis] == \
                self.width:
            return cropped
        return image_ops.resize(cropped, (self.height, self.width),
                                data_format=self.data_format)

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = list(input_shape)
        offset = len(shape) - 4
        height_axis, width_axis = self._spatial_axes
        shape[height_axis + offset], shape[width_axis + offset] = self.height, self.width
        return tuple(shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}


def _value_range(value_range: Any, owner: str) -> list[float]:
    if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for v in value_range)):
        raise ArgumentError(f"{owner}: value_range must be a list of two numbers, the range "
                            f"of the input values, received value_range={value_range!r}.")
    return value_range


class RandomContrast(ImageAugmentation):
    """Scales each image's contrast by a random factor, in training: ``(x - mean) * c +
    mean`` per channel (``mean`` over height and width), clipped to ``value_range``.

    ``c`` is drawn in ``[1 - lower, 1 + upper]`` for ``factor`` = ``(lower, upper)``; a
    number ``f`` means ``(0, f)`` (Keras 3's reading of its ``[0, 1]`` bounds).

    Args:
        factor: A number or two numbers in ``[0, 1]``.
        value_range: The range of the input values, where outputs are clipped. Default:
            ``(0, 255)``.
        seed: Seed of the random draws. Default: ``None``.

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomContrast(0.5, seed=0)
        >>> images = torch.tensor([[[[10.0], [20.0]]]])
        >>> out = layer(images, training=True)
        >>> float(out.mean()), bool((out[0, 0, 1] - out[0, 0, 0]).abs() >= 10)
        (15.0, True)
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        factor = factor_range(factor, "RandomContrast", (0, 1))
        value_range = _value_range(value_range, "RandomContrast")
        super().__init__(seed, kwargs.pop("data_format", None), **kwargs)
        self.factor, self.value_range = factor, value_range

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        contrast = self.uniform((images.shape[0], 1, 1, 1), 1.0 - self.factor[0],
                                1.0 + self.factor[1], images, dtype=images.dtype)
        mean = images.mean(dim=self._spatial_axes, keepdim=True)
        outputs = (images - mean) * contrast + mean
        return outputs.clamp(min(self.value_range), max(self.value_range))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomBrightness(ImageAugmentation):
    """Adds a random brightness offset to each image, in training, clipped to
    ``value_range``.

    The offset is drawn in ``factor`` = ``(lower, upper)`` (a number ``f``: ``(-f, f)``)
    and multiplied by the width of ``value_range``: ``factor=0.1`` on ``[0, 255]`` images
    adds up to about 25.5.

    Args:
        factor: A number or two numbers in ``[-1, 1]``.
        value_range: The range of the input values. Default: ``(0, 255)``.
        seed: Seed of the random draws. Default: ``None``.

    Input shape:
        ``(batch, height, width, channels)`` or one image (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = RandomBrightness(0.2, value_range=(0, 1), seed=0)
        >>> out = layer(torch.full((2, 2, 2, 3), 0.5), training=True)
        >>> bool(((out - 0.5).abs() <= 0.2).all()), layer.get_config()["factor"]
        (True, (-0.2, 0.2))
    """

    def __init__(self, factor: Any, value_range: Any = (0, 255), seed: int | None = None,
                 **kwargs: Any) -> None:
        factor = factor_range(factor, "RandomBrightness", (-1, 1))
        value_range = sorted(_value_range(value_range, "RandomBrightness"))
        super().__init__(seed, kwargs.pop("data_format", None), **kwargs)
        self.factor, self.value_range = factor, value_range

    def augment(self, images: torch.Tensor) -> torch.Tensor:
        delta = self.uniform((images.shape[0], 1, 1, 1), self.factor[0], self.factor[1],
                             images)
        delta = (delta * (self.value_range[1] - self.value_range[0])).to(images.dtype)
        return (images + delta).clamp(self.value_range[0], self.value_range[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}

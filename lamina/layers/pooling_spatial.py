"""Window pooling: ``MaxPooling1D``, ``MaxPooling2D``, ``AveragePooling1D``, ``AveragePooling2D``.

``"same"`` padding follows TensorFlow, hence Keras: ``ceil(n / stride)`` outputs, the odd pad
at the end, padded values never win a max, and an average counts only the real values
under its window. TensorFlow's split is ``(p, p)`` or ``(p, p + 1)``; torch's pooling
takes the first as ``padding=p``, and the second as ``padding=p`` with ``ceil_mode=True``
(the last window runs one step past the end, where torch neither takes values nor counts
them), so no padded copy of the input is ever made.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import (
    check_choice,
    check_data_format,
    normalize_tuple,
    output_length,
    same_padding,
)

Shape = tuple[int | None, ...]


class Pooling(Layer):
    """What the window poolings share; subclasses set ``rank`` and ``_kind``."""

    rank = 2
    _kind = "max"

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid",
                 data_format: str | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        pool_size = normalize_tuple(pool_size, self.rank, "pool_size", owner)
        strides = (pool_size if strides is None
                   else normalize_tuple(strides, self.rank, "strides", owner))
        padding = check_choice(padding, "padding", owner, ("valid", "same"))
        data_format = check_data_format(data_format, owner)
        super().__init__(**kwargs)
        self.pool_size, self.strides = pool_size, strides
        self.padding, self.data_format = padding, data_format
        self._channels_last = data_format == "channels_last"
        self._to_channels_first = (0, self.rank + 1, *range(1, self.rank + 1))
        self._to_channels_last = (0, *range(2, self.rank + 2), 1)
        pools = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d,
                 ("average", 1): F.avg_pool1d, ("average", 2): F.avg_pool2d}
        self._pool = pools[self._kind, self.rank]
        self._padding_cache: dict[tuple[int, ...], tuple[tuple[int, ...], bool]] = {}
        self._build_at_init()

    def _padding_for(self, spatial: tuple[int, ...]) -> tuple[tuple[int, ...], bool]:
        """torch's ``padding`` and ``ceil_mode`` giving TensorFlow's padding for ``spatial``."""
        cached = self._padding_cache.get(spatial)
        if cached is None:
            if self.padding == "valid":
                cached = ((0,) * self.rank, False)
            else:
                pairs = [same_padding(n, k, s) for n, k, s in zip(spatial, self.pool_size,
                                                                  self.strides)]
                cached = (tuple(before for before, _ in pairs),
                          any(before != after for before, after in pairs))
            self._padding_cache[tuple(spatial)] = cached
        return cached

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.permute(self._to_channels_first) if self._channels_last else inputs
        padding, ceil_mode = self._padding_for(x.shape[2:])
        if self._kind == "max":
            outputs = self._pool(x, self.pool_size, self.strides, padding, 1, ceil_mode)
        else:
            outputs = self._pool(x, self.pool_size, self.strides, padding, ceil_mode, False)
        return outputs.permute(self._to_channels_last) if self._channels_last else outputs

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != self.rank + 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2}, "
                f"received input shape {tuple(input_shape)}."
            )
        spatial_in = input_shape[1:-1] if self._channels_last else input_shape[2:]
        spatial = tuple(output_length(n, k, self.padding, s)
                        for n, k, s in zip(spatial_in, self.pool_size, self.strides))
        if any(n is not None and n <= 0 for n in spatial):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': an input of spatial shape "
                f"{tuple(spatial_in)} is smaller than pool_size={self.pool_size}. Use "
                "padding='same' or a larger input."
            )
        if self._channels_last:
            return (input_shape[0], *spatial, input_shape[-1])
        return (input_shape[0], input_shape[1], *spatial)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size),
                "strides": list(self.strides), "padding": self.padding,
                "data_format": self.data_format}

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, pool_size={self.pool_size}, strides={self.strides}, "
                f"padding={self.padding!r}")


class MaxPooling1D(Pooling):
    """The maximum over windows of ``pool_size`` steps.

    Args:
        pool_size: Window length. Default: ``2``.
        strides: Step between windows. Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's). Default: ``"valid"``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, steps, features)`` (channels_last).

    Output shape:
        ``(batch, pooled_steps, features)`` (channels_last).

    Example:
        >>> MaxPooling1D(2, padding="same")(torch.tensor([[[1.0], [3.0], [2.0]]])).tolist()
        [[[3.0], [2.0]]]
    """

    rank = 1
    _kind = "max"


class MaxPooling2D(Pooling):
    """The maximum over ``pool_size`` windows of an image.

    Args:
        pool_size: Window size: an int or 2 ints. Default: ``(2, 2)``.
        strides: Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's). Default: ``"valid"``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, pooled_height, pooled_width, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> MaxPooling2D()(x)[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """

    rank = 2
    _kind = "max"


class AveragePooling1D(Pooling):
    """The mean over windows of ``pool_size`` steps (with ``"same"``, of the real steps only).

    Args:
        pool_size: Window length. Default: ``2``.
        strides: Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, steps, features)`` (channels_last).

    Output shape:
        ``(batch, pooled_steps, features)`` (channels_last).

    Example:
        >>> AveragePooling1D(2, padding="same")(torch.tensor([[[1.0], [3.0], [2.0]]])).tolist()
        [[[2.0], [2.0]]]
    """

    rank = 1
    _kind = "average"


class AveragePooling2D(Pooling):
    """The mean over ``pool_size`` windows of an image (with ``"same"``, of real pixels only).

    Args:
        pool_size: Window size: an int or 2 ints. Default: ``(2, 2)``.
        strides: Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, pooled_height, pooled_width, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
        >>> AveragePooling2D(padding="same")(x)[0, :, :, 0].tolist()
        [[2.0, 3.5], [6.5, 8.0]]
    """

    rank = 2
    _kind = "average"

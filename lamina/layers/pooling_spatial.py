"""Window pooling: ``MaxPooling1D``, ``MaxPooling2D``, ``AveragePooling1D``, ``AveragePooling2D``,
and their base ``Pooling`` of any rank (``MaxPooling3D`` and ``AveragePooling3D`` are in
``pooling_3d.py``).

``"same"`` padding follows TensorFlow, hence Keras: ``ceil(n / stride)`` outputs, the odd pad
at the end, padded values never win a max, and an average counts only the real values
under its window. TensorFlow's split is ``(p, p)`` or ``(p, p + 1)``; torch's pooling
takes the first as ``padding=p``, and the second, when the stride is above 1, as
``padding=p`` with ``ceil_mode=True`` (the last window runs one step past the end, where
torch neither takes values nor counts them), so no padded copy of the input is made. Other
cases (a stride of 1 with an even window, an input smaller than the window) pad a copy
explicitly: with ``-inf`` for a maximum, with zeros for an average, whose sums are divided
by the number of real values under each window.

Keras 3 on torch agrees except for one case: an average over an odd split whose last
window holds two or more real values (a window of 3 or more) -- there Keras's torch backend
pads by repeating the edge value and counts the copies, where TensorFlow, JAX and lamina
count the real values only.
"""

from __future__ import annotations

import math
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


def _ceil_mode_length(length: int, kernel: int, stride: int, padding: int) -> int:
    """The output length of torch's pooling with ``ceil_mode=True`` (its own formula)."""
    steps = -(-(length + 2 * padding - kernel) // stride) + 1
    return steps - 1 if (steps - 1) * stride >= length + padding else steps


#: torch's pooling of each kind and rank.
_POOLS = {("max", 1): F.max_pool1d, ("max", 2): F.max_pool2d, ("max", 3): F.max_pool3d,
          ("average", 1): F.avg_pool1d, ("average", 2): F.avg_pool2d,
          ("average", 3): F.avg_pool3d}


class Pooling(Layer):
    """What the window poolings share; subclasses set ``rank`` and ``_kind``
    (``"max"`` or ``"average"``)."""

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
        self._pool = _POOLS[self._kind, self.rank]
        self._padding_cache: dict[tuple[int, ...], Any] = {}
        self._build_at_init()

    def _padding_for(self, spatial: tuple[int, ...]) -> tuple[tuple[int, ...], bool, Any]:
        """torch's ``padding`` and ``ceil_mode`` giving TensorFlow's padding for ``spatial``,
        and the explicit ``F.pad`` list when they cannot (else ``None``)."""
        cached = self._padding_cache.get(spatial)
        if cached is None:
            zeros = (0,) * self.rank
            if self.padding == "valid":
                cached = (zeros, False, None)
            else:
                pairs = [same_padding(n, k, s) for n, k, s in zip(spatial, self.pool_size,
                                                                  self.strides)]
                before = tuple(b for b, _ in pairs)
                if all(b == a for b, a in pairs):
                    cached = (before, False, None)
                elif all(_ceil_mode_length(n, k, s, b) == -(-n // s) for n, k, s, b in zip(
                        spatial, self.pool_size, self.strides, before)):
                    cached = (before, True, None)
                else:
                    cached = (zeros, False, [p for pair in reversed(pairs) for p in pair])
            self._padding_cache[tuple(spatial)] = cached
        return cached

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.permute(self._to_channels_first) if self._channels_last else inputs
        padding, ceil_mode, explicit = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            outputs = self._pool_padded(x, explicit)
        elif self._kind == "max":
            outputs = self._pool(x, self.pool_size, self.strides, padding, 1, ceil_mode)
        else:
            outputs = self._pool(x, self.pool_size, self.strides, padding, ceil_mode, False)
        return outputs.permute(self._to_channels_last) if self._channels_last else outputs

    def _pool_padded(self, x: torch.Tensor, pads: list[int]) -> torch.Tensor:
        """Pooling over an explicitly padded copy (see the module docstring)."""
        if self._kind == "max":
            return self._pool(F.pad(x, pads, value=-math.inf), self.pool_size, self.strides)
        sums = self._pool(F.pad(x, pads), self.pool_size, self.strides, 0, False, True)
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        counts = self._pool(F.pad(ones, pads), self.pool_size, self.strides, 0, False, True)
        return sums / counts

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

"""Layers that resize the steps or pixels of a sample: up-sampling, zero-padding, cropping.

``UpSampling1D``/``2D`` repeat steps / rows and columns (nearest neighbour), ``ZeroPadding1D``/
``2D`` add zeros around them and ``Cropping1D``/``2D`` cut them off. None has weights.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_choice, check_data_format, normalize_tuple

Shape = tuple[int | None, ...]


def _pairs(value: Any, rank: int, name: str, owner: str) -> tuple[tuple[int, int], ...]:
    """Keras's padding / cropping argument as ``rank`` ``(before, after)`` pairs.

    An int applies to both ends of every axis, ``rank`` ints give each axis's (symmetric)
    amount, and ``rank`` pairs give each end. For ``rank == 1`` a pair is the two ends.
    """
    try:
        if rank == 1:
            return (normalize_tuple(value, 2, name, owner, minimum=0),)
        if isinstance(value, (tuple, list)) and len(value) == rank and all(
                isinstance(v, (tuple, list)) for v in value):
            return tuple(normalize_tuple(v, 2, name, owner, minimum=0) for v in value)
        return tuple((v, v) for v in normalize_tuple(value, rank, name, owner, minimum=0))
    except ArgumentError as error:
        # One message for every accepted form, rather than the narrower one that failed.
        raise ArgumentError(
            f"{owner}: {name} must be an int >= 0, a tuple of {2 if rank == 1 else rank} "
            f"such ints{'' if rank == 1 else f', or {rank} (before, after) pairs'}, "
            f"received {name}={value!r}."
        ) from error


class _Spatial(Layer):
    """Shared by the layers here: the spatial axes for the data format, rank checks."""

    rank = 1

    def _set_format(self, data_format: str) -> None:
        self.data_format = data_format
        first = 1 if data_format == "channels_last" else 2
        self._spatial_axes = tuple(range(first, first + self.rank))

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != self.rank + 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2}, "
                f"received shape {tuple(shape)}."
            )

    def _resize(self, input_shape: Shape, change: Any) -> Shape:
        """``input_shape`` with each spatial axis ``n`` replaced by ``change(index, n)``."""
        self._check_rank(input_shape)
        shape = list(input_shape)
        for index, axis in enumerate(self._spatial_axes):
            if shape[axis] is not None:
                shape[axis] = change(index, shape[axis])
                if shape[axis] <= 0:
                    raise ShapeError(
                        f"{type(self).__name__} '{self.name}': an input of shape "
                        f"{tuple(input_shape)} leaves nothing on axis {axis}."
                    )
        return tuple(shape)


class UpSampling1D(_Spatial):
    """Repeats each time step ``size`` times.

    Args:
        size: The repeat factor. Default: ``2``.

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps * size, features)``.

    Example:
        >>> UpSampling1D(2)(torch.tensor([[[1.0], [2.0]]])).flatten().tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        (size,) = normalize_tuple(size, 1, "size", "UpSampling1D")
        super().__init__(**kwargs)
        self.size = size
        self._set_format("channels_last")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.repeat_interleave(inputs, self.size, dim=1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda _, n: n * self.size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(_Spatial):
    """Repeats rows ``size[0]`` times and columns ``size[1]`` times (nearest neighbour).

    Args:
        size: An int or 2 ints: the row and column factors. Default: ``(2, 2)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        interpolation: ``"nearest"`` (the only one supported). Default: ``"nearest"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, height * size[0], width * size[1], channels)`` (channels_last).

    Example:
        >>> UpSampling2D((1, 2))(torch.tensor([[[[1.0], [2.0]]]]))[0, :, :, 0].tolist()
        [[1.0, 1.0, 2.0, 2.0]]
    """

    rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        size = normalize_tuple(size, 2, "size", "UpSampling2D")
        data_format = check_data_format(data_format, "UpSampling2D")
        interpolation = check_choice(interpolation, "interpolation", "UpSampling2D",
                                     ("nearest",))
        super().__init__(**kwargs)
        self.size, self.interpolation = size, interpolation
        self._set_format(data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        # One broadcast copy instead of two repeat_interleave passes.
        rows, cols = self._spatial_axes
        shape = list(inputs.shape)
        expanded = inputs.unsqueeze(cols + 1).unsqueeze(rows + 1)
        sizes = list(expanded.shape)
        sizes[rows + 1], sizes[cols + 2] = self.size
        shape[rows] *= self.size[0]
        shape[cols] *= self.size[1]
        return expanded.expand(sizes).reshape(shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda i, n: n * self.size[i])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}


class ZeroPadding1D(_Spatial):
    """Adds zero steps at the start and the end of the time axis.

    Args:
        padding: An int (both ends) or ``(start, end)``. Default: ``1``.

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, start + steps + end, features)``.

    Example:
        >>> ZeroPadding1D((1, 2))(torch.tensor([[[5.0]]])).flatten().tolist()
        [0.0, 5.0, 0.0, 0.0]
    """

    def __init__(self, padding: Any = 1, **kwargs: Any) -> None:
        pairs = _pairs(padding, 1, "padding", "ZeroPadding1D")
        super().__init__(**kwargs)
        self.padding = pairs[0]
        self._set_format("channels_last")
        self._pad = [0, 0, *self.padding]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, self._pad)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda _, n: n + sum(self.padding))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": list(self.padding)}


class ZeroPadding2D(_Spatial):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: An int (all sides), 2 ints ``(rows, cols)`` (both ends of each) or
            ``((top, bottom), (left, right))``. Default: ``(1, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, top + height + bottom, left + width + right, channels)``.

    Example:
        >>> ZeroPadding2D(((0, 1), (1, 0)))(torch.ones(1, 1, 1, 1))[0, :, :, 0].tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = _pairs(padding, 2, "padding", "ZeroPadding2D")
        data_format = check_data_format(data_format, "ZeroPadding2D")
        super().__init__(**kwargs)
        self.padding = pairs
        self._set_format(data_format)
        (top, bottom), (left, right) = pairs
        # F.pad lists the last axis first; channels_last images end with the channel axis.
        trailing = [0, 0] if data_format == "channels_last" else []
        self._pad = [*trailing, left, right, top, bottom]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, self._pad)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda i, n: n + sum(self.padding[i]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class Cropping1D(_Spatial):
    """Cuts steps off the start and the end of the time axis.

    Args:
        cropping: An int (both ends) or ``(start, end)``. Default: ``(1, 1)``.

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps - start - end, features)``.

    Example:
        >>> Cropping1D((1, 0))(torch.tensor([[[1.0], [2.0], [3.0]]])).flatten().tolist()
        [2.0, 3.0]
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        pairs = _pairs(cropping, 1, "cropping", "Cropping1D")
        super().__init__(**kwargs)
        self.cropping = pairs[0]
        self._set_format("channels_last")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        start, end = self.cropping
        return inputs[:, start:inputs.shape[1] - end]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda _, n: n - sum(self.cropping))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(_Spatial):
    """Cuts rows and columns off the edges of each image.

    Args:
        cropping: An int (all sides), 2 ints ``(rows, cols)`` (both ends of each) or
            ``((top, bottom), (left, right))``. Default: ``((0, 0), (0, 0))``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, height - top - bottom, width - left - right, channels)``.

    Example:
        >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
        >>> Cropping2D(((1, 0), (0, 1)))(x)[0, :, :, 0].tolist()
        [[3.0, 4.0], [6.0, 7.0]]
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = _pairs(cropping, 2, "cropping", "Cropping2D")
        data_format = check_data_format(data_format, "Cropping2D")
        super().__init__(**kwargs)
        self.cropping = pairs
        self._set_format(data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.cropping
        rows, cols = self._spatial_axes
        height, width = inputs.shape[rows], inputs.shape[cols]
        if rows == 1:
            return inputs[:, top:height - bottom, left:width - right]
        return inputs[:, :, top:height - bottom, left:width - right]

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda i, n: n - sum(self.cropping[i]))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": self.data_format}

"""Adaptive pooling: ``AdaptiveAveragePooling1D/2D/3D`` and ``AdaptiveMaxPooling1D/2D/3D``,
Keras 3's layers pooling any input to a fixed ``output_size``.

Output position ``i`` of an axis of length ``n`` pooled to ``m`` covers the input window
``[floor(i * n / m), ceil((i + 1) * n / m))``: Keras's definition (its JAX and NumPy
backends compute these windows, its torch backend calls torch's adaptive pools), and
torch's, whose ``adaptive_avg_pool`` / ``adaptive_max_pool`` these layers call. Windows
overlap when ``m`` does not divide ``n``, and repeat input positions when ``m > n``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format

Shape = tuple[int | None, ...]

#: torch's adaptive pooling of each kind and rank.
_POOLS = {("average", 1): F.adaptive_avg_pool1d, ("average", 2): F.adaptive_avg_pool2d,
          ("average", 3): F.adaptive_avg_pool3d, ("max", 1): F.adaptive_max_pool1d,
          ("max", 2): F.adaptive_max_pool2d, ("max", 3): F.adaptive_max_pool3d}
_AXES_NAMES = {1: "(length,)", 2: "(height, width)", 3: "(depth, height, width)"}


def adaptive_windows(length: int, size: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` input window of each of ``size`` outputs over ``length`` inputs.

    Example:
        >>> adaptive_windows(5, 3), adaptive_windows(2, 3)
        ([(0, 2), (1, 4), (3, 5)], [(0, 1), (0, 2), (1, 2)])
    """
    return [(i * length // size, -(-(i + 1) * length // size)) for i in range(size)]


def output_size_argument(value: Any, rank: int, owner: str) -> tuple[int, ...]:
    """Keras's ``output_size``: an int for every axis, or ``rank`` ints. A wrong type is a
    TypeError, as is a 2-D or 3-D size of the wrong length; a 1-D size of the wrong length
    is a ValueError (Keras's classes); sizes must be positive."""
    if arguments.is_int(value):
        sizes: Any = (value,) * rank
    elif isinstance(value, (tuple, list)):
        if len(value) != rank:
            error = ArgumentError if rank == 1 else ArgumentTypeError
            raise error(f"{owner}: output_size must be an int or a tuple of {rank} ints "
                        f"{_AXES_NAMES[rank]}, received output_size={value!r}.")
        sizes = tuple(value)
    else:
        raise ArgumentTypeError(f"{owner}: output_size must be an int or a tuple of {rank} "
                                f"ints {_AXES_NAMES[rank]}, received output_size={value!r}.")
    if not all(arguments.is_int(s) for s in sizes):
        raise ArgumentTypeError(f"{owner}: output_size must hold ints, received "
                                f"output_size={value!r}.")
    if any(s <= 0 for s in sizes):
        raise ArgumentError(f"{owner}: output_size must be positive, received "
                            f"output_size={value!r}.")
    return sizes


class AdaptivePooling(Layer):
    """What the adaptive poolings share; subclasses set ``rank`` and ``_kind``
    (``"average"`` or ``"max"``)."""

    rank = 1
    _kind = "average"

    def __init__(self, output_size: Any, data_format: str | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        output_size = output_size_argument(output_size, self.rank, owner)
        data_format = check_data_format(data_format, owner)
        super().__init__(**kwargs)
        self.output_size, self.data_format = output_size, data_format
        self._channels_last = data_format == "channels_last"
        self._to_channels_first = (0, self.rank + 1, *range(1, self.rank + 1))
        self._to_channels_last = (0, *range(2, self.rank + 2), 1)
        self._pool = _POOLS[self._kind, self.rank]
        self._build_at_init()

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != self.rank + 2:
            layout = ("(batch, *spatial, channels)" if self._channels_last
                      else "(batch, channels, *spatial)")
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2} "
                f"{layout}, received input shape {tuple(shape)}.")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != self.rank + 2:
            self._check_rank(inputs.shape)
        x = inputs.permute(self._to_channels_first) if self._channels_last else inputs
        outputs = self._pool(x, self.output_size)
        return outputs.permute(self._to_channels_last) if self._channels_last else outputs

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        if self._channels_last:
            return (input_shape[0], *self.output_size, input_shape[-1])
        return (input_shape[0], input_shape[1], *self.output_size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "output_size": list(self.output_size),
                "data_format": self.data_format}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, output_size={self.output_size}"


class AdaptiveAveragePooling1D(AdaptivePooling):
    """The mean over adaptive windows of the steps, giving ``output_size`` steps.

    Args:
        output_size: The number of output steps: an int or a tuple of one int.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, steps, channels)`` (channels_last).

    Output shape:
        ``(batch, output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.tensor([[[1.0], [2.0], [3.0], [4.0], [5.0]]])
        >>> AdaptiveAveragePooling1D(3)(x)[0, :, 0].tolist()
        [1.5, 3.0, 4.5]
    """

    rank = 1
    _kind = "average"


class AdaptiveAveragePooling2D(AdaptivePooling):
    """The mean over adaptive windows of an image, giving ``output_size`` rows and columns.

    Args:
        output_size: An int or a tuple ``(height, width)``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, *output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> AdaptiveAveragePooling2D(2)(x)[0, :, :, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """

    rank = 2
    _kind = "average"


class AdaptiveAveragePooling3D(AdaptivePooling):
    """The mean over adaptive windows of a volume, giving ``output_size`` voxels.

    Args:
        output_size: An int or a tuple ``(depth, height, width)``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, *output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> AdaptiveAveragePooling3D(1)(x).flatten().tolist()
        [3.5]
    """

    rank = 3
    _kind = "average"


class AdaptiveMaxPooling1D(AdaptivePooling):
    """The maximum over adaptive windows of the steps, giving ``output_size`` steps.

    Args:
        output_size: The number of output steps: an int or a tuple of one int.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, steps, channels)`` (channels_last).

    Output shape:
        ``(batch, output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.tensor([[[1.0], [5.0], [3.0], [4.0], [2.0]]])
        >>> AdaptiveMaxPooling1D(3)(x)[0, :, 0].tolist()
        [5.0, 5.0, 4.0]
    """

    rank = 1
    _kind = "max"


class AdaptiveMaxPooling2D(AdaptivePooling):
    """The maximum over adaptive windows of an image, giving ``output_size`` rows and
    columns.

    Args:
        output_size: An int or a tuple ``(height, width)``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, *output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(16.0).reshape(1, 4, 4, 1)
        >>> AdaptiveMaxPooling2D((1, 2))(x)[0, :, :, 0].tolist()
        [[13.0, 15.0]]
    """

    rank = 2
    _kind = "max"


class AdaptiveMaxPooling3D(AdaptivePooling):
    """The maximum over adaptive windows of a volume, giving ``output_size`` voxels.

    Args:
        output_size: An int or a tuple ``(depth, height, width)``.
        data_format: Default: ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, *output_size, channels)`` (channels_last).

    Example:
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> AdaptiveMaxPooling3D((2, 1, 1))(x).flatten().tolist()
        [3.0, 7.0]
    """

    rank = 3
    _kind = "max"

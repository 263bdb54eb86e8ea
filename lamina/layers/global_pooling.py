"""Global pooling over every spatial axis: the base ``GlobalPooling`` of any rank, with
``GlobalAveragePooling3D`` and ``GlobalMaxPooling3D``.

``GlobalAveragePooling2D`` and ``GlobalMaxPooling2D`` (``pooling.py``) are its rank-2 cases;
the 1-D global poolings, which take masks, are in ``pooling.py`` too.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format

Shape = tuple[int | None, ...]


class GlobalPooling(Layer):
    """What the global poolings of images and volumes share: data format, ``keepdims``,
    shapes and config. Subclasses set ``rank`` and ``_reduce`` (``torch.mean`` or
    ``torch.amax``)."""

    rank = 2
    _reduce = staticmethod(torch.mean)

    def __init__(self, data_format: str | None = None, keepdims: bool = False,
                 **kwargs: Any) -> None:
        data_format = check_data_format(data_format, type(self).__name__)
        super().__init__(**kwargs)
        self.data_format = data_format
        self.keepdims = bool(keepdims)
        first = 1 if data_format == "channels_last" else 2
        self._axes = tuple(range(first, first + self.rank))
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._reduce(inputs, dim=self._axes, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if len(input_shape) != self.rank + 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2}, "
                f"received shape {tuple(input_shape)}."
            )
        if self.keepdims:
            return tuple(1 if axis in self._axes else d for axis, d in enumerate(input_shape))
        return tuple(d for axis, d in enumerate(input_shape) if axis not in self._axes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}


class GlobalAveragePooling3D(GlobalPooling):
    """The mean over the spatial axes of a volume.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        keepdims: Whether to keep the spatial axes with size 1. Default: ``False``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, channels)``, or ``(batch, 1, 1, 1, channels)`` with ``keepdims=True``.

    Example:
        >>> GlobalAveragePooling3D()(torch.arange(16.0).reshape(1, 2, 2, 2, 2)).tolist()
        [[7.0, 8.0]]
    """

    rank = 3
    _reduce = staticmethod(torch.mean)


class GlobalMaxPooling3D(GlobalPooling):
    """The maximum over the spatial axes of a volume.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        keepdims: Whether to keep the spatial axes with size 1. Default: ``False``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, channels)``, or ``(batch, 1, 1, 1, channels)`` with ``keepdims=True``.

    Example:
        >>> GlobalMaxPooling3D()(torch.arange(16.0).reshape(1, 2, 2, 2, 2)).tolist()
        [[14.0, 15.0]]
    """

    rank = 3
    _reduce = staticmethod(torch.amax)

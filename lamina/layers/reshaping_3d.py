"""Resizing volumes: ``UpSampling3D``, ``ZeroPadding3D`` and ``Cropping3D``.

The 3-D cases of ``UpSampling``, ``ZeroPadding`` and ``Cropping`` (``spatial_resizing.py``);
the 1-D and 2-D ones are in ``reshaping_spatial.py``. None has weights.
"""

from __future__ import annotations

from typing import Any

from lamina.layers.spatial import check_data_format, normalize_tuple
from lamina.layers.spatial_resizing import Cropping, UpSampling, ZeroPadding, padding_pairs


class UpSampling3D(UpSampling):
    """Repeats the steps of the three spatial axes ``size[0]``, ``size[1]`` and ``size[2]``
    times (nearest neighbour).

    Args:
        size: An int or 3 ints: the factors of the three axes. Default: ``(2, 2, 2)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, depth * size[0], height * size[1], width * size[2], channels)``.

    Example:
        >>> import torch
        >>> tuple(UpSampling3D((1, 2, 3))(torch.ones(2, 2, 2, 2, 4)).shape)
        (2, 2, 4, 6, 4)
    """

    rank = 3

    def __init__(self, size: Any = (2, 2, 2), data_format: str | None = None,
                 **kwargs: Any) -> None:
        size = normalize_tuple(size, 3, "size", "UpSampling3D")
        data_format = check_data_format(data_format, "UpSampling3D")
        super().__init__(**kwargs)
        self.size = size
        self._set_factors(size, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format}


class ZeroPadding3D(ZeroPadding):
    """Adds zeros around each volume.

    Args:
        padding: An int (all sides), 3 ints (both ends of each axis) or 3
            ``(before, after)`` pairs. Default: ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        The spatial axes grown by their padding.

    Example:
        >>> import torch
        >>> tuple(ZeroPadding3D((1, (0, 2), 0))(torch.ones(2, 3, 3, 3, 4)).shape)
        (2, 5, 5, 3, 4)
    """

    rank = 3

    def __init__(self, padding: Any = ((1, 1), (1, 1), (1, 1)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = padding_pairs(padding, 3, "padding", "ZeroPadding3D")
        data_format = check_data_format(data_format, "ZeroPadding3D")
        super().__init__(**kwargs)
        self.padding = pairs
        self._set_pairs(pairs, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class Cropping3D(Cropping):
    """Cuts steps off the ends of the three spatial axes of each volume.

    Args:
        cropping: An int (all sides), 3 ints (both ends of each axis) or 3
            ``(before, after)`` pairs. Default: ``((1, 1), (1, 1), (1, 1))``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last), larger than the
        cropping.

    Output shape:
        The spatial axes shrunk by their cropping.

    Example:
        >>> import torch
        >>> tuple(Cropping3D(((1, 0), 1, (0, 2)))(torch.ones(2, 3, 4, 5, 6)).shape)
        (2, 2, 2, 3, 6)
    """

    rank = 3

    def __init__(self, cropping: Any = ((1, 1), (1, 1), (1, 1)),
                 data_format: str | None = None, **kwargs: Any) -> None:
        pairs = padding_pairs(cropping, 3, "cropping", "Cropping3D")
        data_format = check_data_format(data_format, "Cropping3D")
        super().__init__(**kwargs)
        self.cropping = pairs
        self._set_pairs(pairs, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": self.data_format}

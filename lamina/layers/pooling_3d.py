"""Window pooling over volumes: ``MaxPooling3D`` and ``AveragePooling3D``.

The rank-3 cases of :class:`~lamina.layers.pooling_spatial.Pooling`, whose docstring says
how ``"same"`` padding is done. Global pooling over volumes is in ``global_pooling.py``.
"""

from __future__ import annotations

from lamina.layers.pooling_spatial import Pooling


class MaxPooling3D(Pooling):
    """The maximum over ``pool_size`` windows of a volume.

    Args:
        pool_size: Window size: an int or 3 ints. Default: ``(2, 2, 2)``.
        strides: Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"`` (TensorFlow's). Default: ``"valid"``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, pooled_depth, pooled_height, pooled_width, channels)`` (channels_last).

    Example:
        >>> import torch
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> MaxPooling3D()(x).flatten().tolist()
        [7.0]
    """

    rank = 3
    _kind = "max"


class AveragePooling3D(Pooling):
    """The mean over ``pool_size`` windows of a volume (with ``"same"``, of the real values
    only).

    Args:
        pool_size: Window size: an int or 3 ints. Default: ``(2, 2, 2)``.
        strides: Default: ``None`` (``pool_size``).
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, pooled_depth, pooled_height, pooled_width, channels)`` (channels_last).

    Example:
        >>> import torch
        >>> x = torch.arange(8.0).reshape(1, 2, 2, 2, 1)
        >>> AveragePooling3D(padding="same")(x).flatten().tolist()
        [3.5]
    """

    rank = 3
    _kind = "average"

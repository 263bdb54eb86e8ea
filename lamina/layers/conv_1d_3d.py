"""The 1-D and 3-D convolutions besides ``Conv1D``: ``Conv3D``, ``Conv1DTranspose``,
``Conv3DTranspose``, ``DepthwiseConv1D`` and ``SeparableConv1D``.

Each is a rank of ``Conv`` (``convolutional.py``) or of the bases in ``conv_bases.py``, whose
docstrings describe the arguments; kernels have Keras's names and layouts.
"""

from __future__ import annotations

from lamina.layers.conv_bases import BaseConvTranspose, BaseDepthwiseConv, BaseSeparableConv
from lamina.layers.convolutional import Conv


class Conv3D(Conv):
    """3-D convolution over volumes (see :class:`~lamina.layers.convolutional.Conv` for the
    arguments: ``filters``, ``kernel_size``, ``strides``, ``padding`` (``"valid"`` or
    ``"same"``), ``data_format``, ``dilation_rate``, ``groups``, ``activation``,
    ``use_bias``, initializers and regularizers).

    The kernel has Keras's layout ``(kd, kh, kw, in_channels / groups, filters)``.

    Input shape:
        ``(batch, depth, height, width, channels)``, or ``(batch, channels, depth, height,
        width)`` with channels_first.

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = Conv3D(4, 3, padding="same")
        >>> tuple(layer(torch.ones(2, 5, 6, 7, 3)).shape), tuple(layer.kernel.shape)
        ((2, 5, 6, 7, 4), (3, 3, 3, 3, 4))
    """

    rank = 3


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution (the gradient of ``Conv1D``); see
    :class:`~lamina.layers.conv_bases.BaseConvTranspose` for the arguments and sizes.

    The kernel has Keras's layout ``(k, filters, in_channels)``.

    Input shape:
        ``(batch, steps, channels)`` (channels_last).

    Output shape:
        ``(batch, new_steps, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = Conv1DTranspose(4, 3, strides=2)
        >>> tuple(layer(torch.ones(2, 5, 3)).shape), tuple(layer.kernel.shape)
        ((2, 11, 4), (3, 4, 3))
    """

    rank = 1


class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3-D convolution (the gradient of ``Conv3D``); see
    :class:`~lamina.layers.conv_bases.BaseConvTranspose` for the arguments and sizes.

    The kernel has Keras's layout ``(kd, kh, kw, filters, in_channels)``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_depth, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = Conv3DTranspose(2, 3, strides=2, padding="same")
        >>> tuple(layer(torch.ones(1, 2, 3, 4, 5)).shape), tuple(layer.kernel.shape)
        ((1, 4, 6, 8, 2), (3, 3, 3, 2, 5))
    """

    rank = 3


class DepthwiseConv1D(BaseDepthwiseConv):
    """Convolves each channel of a sequence with its own ``depth_multiplier`` filters; see
    :class:`~lamina.layers.conv_bases.BaseDepthwiseConv` for the arguments.

    The kernel (``kernel``) has Keras's layout ``(k, in_channels, depth_multiplier)``.

    Input shape:
        ``(batch, steps, channels)`` (channels_last).

    Output shape:
        ``(batch, new_steps, channels * depth_multiplier)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = DepthwiseConv1D(3, depth_multiplier=2)
        >>> tuple(layer(torch.ones(2, 8, 4)).shape), tuple(layer.kernel.shape)
        ((2, 6, 8), (3, 4, 2))
    """

    rank = 1


class SeparableConv1D(BaseSeparableConv):
    """A depthwise 1-D convolution followed by a pointwise one to ``filters``; see
    :class:`~lamina.layers.conv_bases.BaseSeparableConv` for the arguments.

    Weights: ``depthwise_kernel`` ``(k, in, depth_multiplier)``, ``pointwise_kernel``
    ``(1, in * depth_multiplier, filters)`` and ``bias`` ``(filters,)``.

    Input shape:
        ``(batch, steps, channels)`` (channels_last).

    Output shape:
        ``(batch, new_steps, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = SeparableConv1D(6, 3, padding="same")
        >>> tuple(layer(torch.ones(2, 8, 4)).shape), tuple(layer.pointwise_kernel.shape)
        ((2, 8, 6), (1, 4, 6))
    """

    rank = 1

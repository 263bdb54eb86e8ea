"""``Conv2DTranspose``, ``DepthwiseConv2D`` and ``SeparableConv2D``.

They are the rank-2 cases of ``BaseConvTranspose``, ``BaseDepthwiseConv`` and
``BaseSeparableConv`` (``conv_bases.py``), which share :class:`~lamina.layers.convolutional.
BaseConv`'s geometry and layout handling (Keras-shaped kernels over torch-ordered memory,
channels_last as permuted views); see ``convolutional.py`` for why.
"""

from __future__ import annotations

from lamina.layers.conv_bases import BaseConvTranspose, BaseDepthwiseConv, BaseSeparableConv


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution (the gradient of ``Conv2D``), often called deconvolution.

    Output sizes are Keras's: without ``output_padding``, ``n * stride`` for ``"same"`` and
    ``n * stride + max(k - stride, 0)`` for ``"valid"`` (``k`` the dilated kernel size);
    with it, ``(n - 1) * stride + k - 2 * pad + output_padding`` where ``pad`` is ``k // 2``
    for ``"same"`` and ``0`` for ``"valid"``. Values are TensorFlow's: the full transposed
    convolution cropped by the ``"same"`` padding of the matching ``Conv2D``, the odd pad
    at the end (torch's symmetric ``padding=`` cannot express that, so the end is sliced).

    Args:
        filters: Number of output channels.
        kernel_size: An int or a tuple of 2 ints.
        strides: Default: ``1``.
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        output_padding: Extra rows / columns at the end: an int or 2 ints, each smaller
            than the stride. Default: ``None`` (inferred as above).
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        dilation_rate: Default: ``1``.
        activation: Default: ``None`` (linear).
        use_bias: Default: ``True``.
        kernel_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer: Default: ``None``.
        kernel_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        bias_regularizer: Default: ``None``.
        bias_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    The kernel has Keras's layout ``(kh, kw, filters, in_channels)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> tuple(layer(torch.ones(2, 5, 5, 3)).shape), tuple(layer.kernel.shape)
        ((2, 10, 10, 4), (3, 3, 4, 3))
    """

    rank = 2


class DepthwiseConv2D(BaseDepthwiseConv):
    """Convolves each input channel with its own ``depth_multiplier`` filters.

    Output channel ``c * depth_multiplier + j`` is input channel ``c`` convolved with
    ``kernel[:, :, c, j]`` (Keras's and torch's ``groups=in_channels`` order alike).

    Args:
        kernel_size: An int or a tuple of 2 ints.
        strides: Default: ``1``.
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        depth_multiplier: Output channels per input channel. Default: ``1``.
        data_format: Default: ``"channels_last"``.
        dilation_rate: Default: ``1``.
        activation: Default: ``None`` (linear).
        use_bias: Default: ``True``.
        depthwise_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.
        depthwise_regularizer: Default: ``None``.
        depthwise_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        bias_regularizer: Default: ``None``.
        bias_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    The kernel (``kernel``, as in Keras 3) has the layout ``(kh, kw, in_channels,
    depth_multiplier)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, channels * depth_multiplier)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> tuple(layer(torch.ones(2, 8, 8, 4)).shape), tuple(layer.kernel.shape)
        ((2, 8, 8, 8), (3, 3, 4, 2))
    """

    rank = 2


class SeparableConv2D(BaseSeparableConv):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution to ``filters``.

    Strides, padding and dilation apply to the depthwise step; the bias and the activation
    come after the pointwise step.

    Args:
        filters: Number of output channels.
        kernel_size: An int or a tuple of 2 ints.
        strides: Default: ``1``.
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        data_format: Default: ``"channels_last"``.
        dilation_rate: Default: ``1``.
        depth_multiplier: Depthwise output channels per input channel. Default: ``1``.
        activation: Default: ``None`` (linear).
        use_bias: Default: ``True``.
        depthwise_initializer: Default: ``"glorot_uniform"``.
        pointwise_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.
        depthwise_regularizer: Default: ``None``.
        depthwise_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        pointwise_regularizer: Default: ``None``.
        pointwise_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        bias_regularizer: Default: ``None``.
        bias_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    Weights (Keras's names and layouts): ``depthwise_kernel`` ``(kh, kw, in,
    depth_multiplier)``, ``pointwise_kernel`` ``(1, 1, in * depth_multiplier, filters)``
    and ``bias`` ``(filters,)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> import torch
        >>> layer = SeparableConv2D(6, 3, depth_multiplier=2)
        >>> tuple(layer(torch.ones(2, 8, 8, 4)).shape), tuple(layer.pointwise_kernel.shape)
        ((2, 6, 6, 6), (1, 1, 8, 6))
    """

    rank = 2

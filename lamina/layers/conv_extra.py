"""``Conv2DTranspose``, ``DepthwiseConv2D`` and ``SeparableConv2D``.

They share :class:`~lamina.layers.convolutional.BaseConv`'s geometry and layout handling
(Keras-shaped kernels over torch-ordered memory, channels_last as permuted views); see
``convolutional.py`` for why.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import initializers, regularizers
from lamina.errors import ArgumentError
from lamina.layers.convolutional import BaseConv, Shape, add_kernel
from lamina.layers.spatial import normalize_tuple

# Keras (kh, kw, a, b) -> torch (b, a, kh, kw): a conv kernel (a = in, b = filters) and a
# transposed-conv kernel (a = filters, b = in) alike.
_SWAP_TO_FRONT = (3, 2, 0, 1)
# Keras (kh, kw, in, depth_multiplier) -> (in, depth_multiplier, kh, kw), which reshapes
# (as a view) to torch's grouped weight (in * depth_multiplier, 1, kh, kw).
_DEPTHWISE_ORDER = (2, 3, 0, 1)


def _positive_int(value: Any, name: str, owner: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ArgumentError(f"{owner}: {name} must be a positive int, received {name}={value!r}.")


class Conv2DTranspose(BaseConv):
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
        bias_regularizer: Default: ``None``.

    The kernel has Keras's layout ``(kh, kw, filters, in_channels)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> layer = Conv2DTranspose(4, 3, strides=2, padding="same")
        >>> tuple(layer(torch.ones(2, 5, 5, 3)).shape), tuple(layer.kernel.shape)
        ((2, 10, 10, 4), (3, 3, 4, 3))
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        _positive_int(filters, "filters", "Conv2DTranspose")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, **kwargs)
        self.filters = filters
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, 2, "output_padding",
                                             "Conv2DTranspose", minimum=0)
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise ArgumentError(
                    "Conv2DTranspose: output_padding must be smaller than strides="
                    f"{self.strides}, received output_padding={output_padding!r}."
                )
        self.output_padding = output_padding
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self._transpose_cache: dict[tuple[int, ...], Any] = {}

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = add_kernel(self, "kernel", (*self.kernel_size, self.filters, channels),
                                 _SWAP_TO_FRONT, self.kernel_initializer,
                                 self.kernel_regularizer)
        self._add_bias(self.filters)

    def _output_length(self, axis: int, length: int | None) -> int | None:
        if length is None:
            return None
        kernel = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
        stride = self.strides[axis]
        if self.output_padding is None:
            extra = max(kernel - stride, 0) if self.padding == "valid" else 0
            return length * stride + extra
        pad = kernel // 2 if self.padding == "same" else 0
        return (length - 1) * stride + kernel - 2 * pad + self.output_padding[axis]

    def _torch_arguments(self, spatial: tuple[int, ...]) -> Any:
        """torch's ``padding``, ``output_padding`` and the output size to slice, if any."""
        cached = self._transpose_cache.get(spatial)
        if cached is not None:
            return cached
        paddings, output_paddings, sizes, crop = [], [], [], False
        for axis, length in enumerate(spatial):
            size = self._output_length(axis, length)
            full = (length - 1) * self.strides[axis] + (
                self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
            before = max(full - size, 0) // 2 if self.padding == "same" else 0
            extra = size - (full - 2 * before)
            crop = crop or extra < 0
            paddings.append(before)
            output_paddings.append(max(extra, 0))
            sizes.append(size)
        cached = (tuple(paddings), tuple(output_paddings), tuple(sizes) if crop else None)
        self._transpose_cache[tuple(spatial)] = cached
        return cached

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, output_padding, crop = self._torch_arguments(x.shape[2:])
        outputs = F.conv_transpose2d(x, self.kernel.permute(_SWAP_TO_FRONT), self.bias,
                                     self.strides, padding, output_padding, 1,
                                     self.dilation_rate)
        if crop is not None:
            outputs = outputs[:, :, :crop[0], :crop[1]]
        return self._from_torch_output(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        spatial_in = input_shape[1:-1] if self._channels_last else input_shape[2:]
        spatial = tuple(self._output_length(axis, n) for axis, n in enumerate(spatial_in))
        if self._channels_last:
            return (input_shape[0], *spatial, self.filters)
        return (input_shape[0], self.filters, *spatial)

    def get_config(self) -> dict[str, Any]:
        padding = list(self.output_padding) if self.output_padding is not None else None
        return {
            **super().get_config(),
            "filters": self.filters,
            "output_padding": padding,
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
        }


class DepthwiseConv2D(BaseConv):
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
        bias_regularizer: Default: ``None``.

    The kernel (``kernel``, as in Keras 3) has the layout ``(kh, kw, in_channels,
    depth_multiplier)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, channels * depth_multiplier)`` (channels_last).

    Example:
        >>> layer = DepthwiseConv2D(3, depth_multiplier=2, padding="same")
        >>> tuple(layer(torch.ones(2, 8, 8, 4)).shape), tuple(layer.kernel.shape)
        ((2, 8, 8, 8), (3, 3, 4, 2))
    """

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        _positive_int(depth_multiplier, "depth_multiplier", "DepthwiseConv2D")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self._channels = channels
        self.kernel = add_kernel(self, "kernel", (*self.kernel_size, channels,
                                                  self.depth_multiplier),
                                 _DEPTHWISE_ORDER, self.depthwise_initializer,
                                 self.depthwise_regularizer)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, explicit = self._padding_for(x.shape[2:])
        if explicit is not None:
            x = F.pad(x, explicit)
        weight = self.kernel.permute(_DEPTHWISE_ORDER).reshape(-1, 1, *self.kernel_size)
        outputs = F.conv2d(x, weight, self.bias, self.strides, padding, self.dilation_rate,
                           self._channels)
        return self._from_torch_output(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        channels = input_shape[-1 if self._channels_last else 1]
        return self._conv_output_shape(
            input_shape, None if channels is None else channels * self.depth_multiplier)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "depth_multiplier": self.depth_multiplier,
            **initializers.serialize_arguments(
                self, depthwise_initializer=self.depthwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
        }


class SeparableConv2D(BaseConv):
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
        pointwise_regularizer: Default: ``None``.
        bias_regularizer: Default: ``None``.

    Weights (Keras's names and layouts): ``depthwise_kernel`` ``(kh, kw, in,
    depth_multiplier)``, ``pointwise_kernel`` ``(1, 1, in * depth_multiplier, filters)``
    and ``bias`` ``(filters,)``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, new_height, new_width, filters)`` (channels_last).

    Example:
        >>> layer = SeparableConv2D(6, 3, depth_multiplier=2)
        >>> tuple(layer(torch.ones(2, 8, 8, 4)).shape), tuple(layer.pointwise_kernel.shape)
        ((2, 6, 6, 6), (1, 1, 8, 6))
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        _positive_int(filters, "filters", "SeparableConv2D")
        _positive_int(depth_multiplier, "depth_multiplier", "SeparableConv2D")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer, **kwargs)
        self.filters = filters
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self._channels = channels
        self.depthwise_kernel = add_kernel(
            self, "depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
            _DEPTHWISE_ORDER, self.depthwise_initializer, self.depthwise_regularizer)
        self.pointwise_kernel = add_kernel(
            self, "pointwise_kernel", (1, 1, channels * self.depth_multiplier, self.filters),
            _SWAP_TO_FRONT, self.pointwise_initializer, self.pointwise_regularizer)
        self._add_bias(self.filters)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, explicit = self._padding_for(x.shape[2:])
        if explicit is not None:
            x = F.pad(x, explicit)
        depthwise = self.depthwise_kernel.permute(_DEPTHWISE_ORDER).reshape(
            -1, 1, *self.kernel_size)
        x = F.conv2d(x, depthwise, None, self.strides, padding, self.dilation_rate,
                     self._channels)
        outputs = F.conv2d(x, self.pointwise_kernel.permute(_SWAP_TO_FRONT), self.bias)
        return self._from_torch_output(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "depth_multiplier": self.depth_multiplier,
            **initializers.serialize_arguments(
                self, depthwise_initializer=self.depthwise_initializer,
                pointwise_initializer=self.pointwise_initializer),
            "depthwise_regularizer": regularizers.serialize(self.depthwise_regularizer),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
        }

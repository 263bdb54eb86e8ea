"""The convolutions of any rank besides ``Conv``: ``BaseConvTranspose``, ``BaseDepthwiseConv``
and ``BaseSeparableConv`` (Keras's names).

``Conv1DTranspose`` / ``Conv2DTranspose`` / ``Conv3DTranspose``, ``DepthwiseConv1D`` /
``DepthwiseConv2D`` and ``SeparableConv1D`` / ``SeparableConv2D`` set ``rank`` on them
(``conv_extra.py``, ``conv_1d_3d.py``). They share :class:`~lamina.layers.convolutional.
BaseConv`'s geometry and layout handling (Keras-shaped kernels over torch-ordered memory,
channels_last as permuted views); see ``convolutional.py`` for why.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError
from lamina.layers.arguments import is_int
from lamina.layers.convolutional import CONVOLUTIONS, BaseConv, Shape, add_kernel
from lamina.layers.spatial import normalize_tuple

TRANSPOSED_CONVOLUTIONS = {1: F.conv_transpose1d, 2: F.conv_transpose2d,
                           3: F.conv_transpose3d}


def swap_to_front(rank: int) -> tuple[int, ...]:
    """Keras ``(*k, a, b)`` -> torch ``(b, a, *k)``: a conv kernel (``a`` = in, ``b`` =
    filters) and a transposed-conv kernel (``a`` = filters, ``b`` = in) alike."""
    return (rank + 1, rank, *range(rank))


def depthwise_order(rank: int) -> tuple[int, ...]:
    """Keras ``(*k, in, depth_multiplier)`` -> ``(in, depth_multiplier, *k)``, which reshapes
    (as a view) to torch's grouped weight ``(in * depth_multiplier, 1, *k)``."""
    return (rank, rank + 1, *range(rank))


def positive_int(value: Any, name: str, owner: str) -> None:
    if not is_int(value) or value <= 0:
        raise ArgumentError(f"{owner}: {name} must be a positive int, received {name}={value!r}.")


class BaseConvTranspose(BaseConv):
    """Transposed convolution (the gradient of a convolution), often called deconvolution.

    Output sizes are Keras's: without ``output_padding``, ``n * stride`` for ``"same"`` and
    ``n * stride + max(k - stride, 0)`` for ``"valid"`` (``k`` the dilated kernel size);
    with it, ``(n - 1) * stride + k - 2 * pad + output_padding`` where ``pad`` is ``k // 2``
    for ``"same"`` and ``0`` for ``"valid"``. Values are TensorFlow's: the full transposed
    convolution cropped by the ``"same"`` padding of the matching convolution, the odd pad
    at the end (torch's symmetric ``padding=`` cannot express that, so the end is sliced).

    Args:
        filters: Number of output channels.
        kernel_size: An int or a tuple of ``rank`` ints.
        strides: Default: ``1``.
        padding: ``"valid"`` or ``"same"``. Default: ``"valid"``.
        output_padding: Extra steps at the end of each spatial axis: an int or ``rank``
            ints, each smaller than the stride. Default: ``None`` (inferred as above).
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

    The kernel has Keras's layout ``(*kernel_size, filters, in_channels)``.
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
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        positive_int(filters, "filters", owner)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = filters
        if output_padding is not None:
            output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                             owner, minimum=0)
            if any(p >= s for p, s in zip(output_padding, self.strides)):
                raise ArgumentError(
                    f"{owner}: output_padding must be smaller than strides={self.strides}, "
                    f"received output_padding={output_padding!r}."
                )
        self.output_padding = output_padding
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._kernel_order = swap_to_front(self.rank)
        self._transpose = TRANSPOSED_CONVOLUTIONS[self.rank]
        self._transpose_cache: dict[tuple[int, ...], Any] = {}

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self.kernel = add_kernel(self, "kernel", (*self.kernel_size, self.filters, channels),
                                 self._kernel_order, self.kernel_initializer,
                                 self.kernel_regularizer, self.kernel_constraint)
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
        """torch's ``padding``, ``output_padding`` and the output slices, if any."""
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
            sizes.append(slice(0, size))
        slices = (slice(None), slice(None), *sizes) if crop else None
        cached = (tuple(paddings), tuple(output_paddings), slices)
        self._transpose_cache[tuple(spatial)] = cached
        return cached

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, output_padding, crop = self._torch_arguments(tuple(x.shape[2:]))
        outputs = self._transpose(x, self.kernel.permute(self._kernel_order), self.bias,
                                  self.strides, padding, output_padding, 1, self.dilation_rate)
        if crop is not None:
            outputs = outputs[crop]
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
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }


class BaseDepthwiseConv(BaseConv):
    """Convolves each input channel with its own ``depth_multiplier`` filters.

    Output channel ``c * depth_multiplier + j`` is input channel ``c`` convolved with
    ``kernel[..., c, j]`` (Keras's and torch's ``groups=in_channels`` order alike).

    Args:
        kernel_size: An int or a tuple of ``rank`` ints.
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

    The kernel (``kernel``, as in Keras 3) has the layout ``(*kernel_size, in_channels,
    depth_multiplier)``.
    """

    _strides_with_dilation = True

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
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        positive_int(depth_multiplier, "depth_multiplier", type(self).__name__)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self._depthwise_order = depthwise_order(self.rank)
        self._conv = CONVOLUTIONS[self.rank]

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self._channels = channels
        self.kernel = add_kernel(self, "kernel", (*self.kernel_size, channels,
                                                  self.depth_multiplier),
                                 self._depthwise_order, self.depthwise_initializer,
                                 self.depthwise_regularizer, self.depthwise_constraint)
        self._add_bias(channels * self.depth_multiplier)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, explicit = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            x = F.pad(x, explicit)
        weight = self.kernel.permute(self._depthwise_order).reshape(-1, 1, *self.kernel_size)
        outputs = self._conv(x, weight, self.bias, self.strides, padding, self.dilation_rate,
                             self._channels)
        return self._from_torch_output(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
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
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
        }


class BaseSeparableConv(BaseConv):
    """A depthwise convolution followed by a pointwise (kernel size 1) convolution to
    ``filters``.

    Strides, padding and dilation apply to the depthwise step; the bias and the activation
    come after the pointwise step.

    Args:
        filters: Number of output channels.
        kernel_size: An int or a tuple of ``rank`` ints.
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

    Weights (Keras's names and layouts): ``depthwise_kernel`` ``(*kernel_size, in,
    depth_multiplier)``, ``pointwise_kernel`` ``(*(1,) * rank, in * depth_multiplier,
    filters)`` and ``bias`` ``(filters,)``.
    """

    _strides_with_dilation = True

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
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        positive_int(filters, "filters", owner)
        positive_int(depth_multiplier, "depth_multiplier", owner)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = filters
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self._depthwise_order = depthwise_order(self.rank)
        self._pointwise_order = swap_to_front(self.rank)
        self._conv = CONVOLUTIONS[self.rank]

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        self._channels = channels
        self.depthwise_kernel = add_kernel(
            self, "depthwise_kernel", (*self.kernel_size, channels, self.depth_multiplier),
            self._depthwise_order, self.depthwise_initializer, self.depthwise_regularizer,
            self.depthwise_constraint)
        self.pointwise_kernel = add_kernel(
            self, "pointwise_kernel",
            (*(1,) * self.rank, channels * self.depth_multiplier, self.filters),
            self._pointwise_order, self.pointwise_initializer, self.pointwise_regularizer,
            self.pointwise_constraint)
        self._add_bias(self.filters)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self._to_torch_input(inputs)
        padding, explicit = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            x = F.pad(x, explicit)
        depthwise = self.depthwise_kernel.permute(self._depthwise_order).reshape(
            -1, 1, *self.kernel_size)
        x = self._conv(x, depthwise, None, self.strides, padding, self.dilation_rate,
                       self._channels)
        outputs = self._conv(x, self.pointwise_kernel.permute(self._pointwise_order), self.bias)
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
            "depthwise_constraint": constraints.serialize(self.depthwise_constraint),
            "pointwise_regularizer": regularizers.serialize(self.pointwise_regularizer),
            "pointwise_constraint": constraints.serialize(self.pointwise_constraint),
        }

"""Convolution layers ``Conv1D`` and ``Conv2D``, and ``BaseConv``, which every convolution uses.

``Conv`` is the convolution of any rank (``Conv3D`` is in ``conv_1d_3d.py``); the transposed,
depthwise and separable convolutions are in ``conv_bases.py``.

Two choices keep a lamina convolution as fast as torch's own, with Keras's layouts:

- **Kernel memory.** A Keras kernel has shape ``(*kernel_size, in / groups, filters)``;
  torch's convolution wants ``(filters, in / groups, *kernel_size)``. The Parameter keeps
  Keras's shape (so Keras weights load as they are) over memory laid out in torch's order,
  so ``kernel.permute(...)`` in ``call`` is a contiguous view, not a copy (the same trick as
  ``Dense``'s column-major kernel; see :func:`add_kernel`).
- **channels_last inputs.** Permuting ``(N, H, W, C)`` to ``(N, C, H, W)`` is a view in
  ``torch.channels_last`` memory format, which torch's CPU convolution and pooling run
  natively; their output is channels_last too, so permuting back gives a contiguous
  ``(N, H, W, C)`` tensor. Measured on the small CNN of ``bench/cnn.py`` (forward and
  backward, one thread) this is as fast as plain NCHW torch, so nothing is copied.

``"same"`` padding follows TensorFlow (see ``spatial.py``): torch's symmetric ``padding=`` is
used when TensorFlow's split is even; otherwise the input is padded explicitly with ``F.pad``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import (
    check_choice,
    check_data_format,
    normalize_tuple,
    output_length,
    same_padding,
)
from lamina.variables import Variable

Shape = tuple[int | None, ...]

#: torch's convolution of each rank.
CONVOLUTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
#: The names of the spatial axes of each rank, for messages.
SPATIAL_AXES = {1: ("steps",), 2: ("height", "width"), 3: ("depth", "height", "width")}


def add_kernel(layer: Layer, name: str, shape: tuple[int, ...], memory_order: tuple[int, ...],
               initializer: Any, regularizer: Any, constraint: Any = None) -> Variable:
    """``layer.add_weight`` of Keras's ``shape`` over memory in the order ``memory_order``.

    ``kernel.permute(memory_order)`` is then contiguous: the layout torch's kernels read
    directly. The values are initialised in Keras's shape, so a seed gives what it gives for
    a contiguous Keras-shaped kernel.
    """
    created = layer.add_weight(name, shape, initializer=initializer, regularizer=regularizer,
                               constraint=constraint)
    storage = torch.empty([shape[axis] for axis in memory_order], dtype=created.dtype)
    view = storage.permute([memory_order.index(axis) for axis in range(len(shape))])
    with torch.no_grad():
        view.copy_(created)
    kernel = Variable.of(view, trainable=created.requires_grad, name=name, path=created.path)
    kernel._lamina_trainable = created._lamina_trainable
    kernel.constraint = created.constraint
    layer.register_parameter(name, kernel)
    return kernel


# ---------------------------------------------------------------------- base class
class BaseConv(Layer):
    """What every convolution shares: window geometry, data format, bias and activation.

    Subclasses set ``rank``, create their kernels in ``build`` and compute in ``call``;
    :meth:`_to_torch_input`, :meth:`_padding_for` and :meth:`_from_torch_output` do the
    layout and padding work around torch's channels-first functional ops.
    """

    rank = 2
    _paddings: tuple[str, ...] = ("valid", "same")
    #: Whether strides > 1 may go with dilation_rate > 1 (Keras allows it for depthwise and
    #: separable convolutions only).
    _strides_with_dilation = False

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        bias_initializer: Any = "zeros",
        bias_regularizer: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        geometry = {
            "kernel_size": normalize_tuple(kernel_size, self.rank, "kernel_size", owner),
            "strides": normalize_tuple(strides, self.rank, "strides", owner),
            "dilation_rate": normalize_tuple(dilation_rate, self.rank, "dilation_rate", owner),
            "padding": check_choice(padding, "padding", owner, self._paddings),
            "data_format": check_data_format(data_format, owner),
        }
        if not self._strides_with_dilation and any(s > 1 for s in geometry["strides"]) and any(
                d > 1 for d in geometry["dilation_rate"]):
            raise ArgumentError(
                f"{owner}: strides > 1 and dilation_rate > 1 cannot be combined (Keras's "
                f"rule), received strides={strides!r}, dilation_rate={dilation_rate!r}.")
        super().__init__(**kwargs)
        self.kernel_size: tuple[int, ...] = geometry["kernel_size"]
        self.strides: tuple[int, ...] = geometry["strides"]
        self.dilation_rate: tuple[int, ...] = geometry["dilation_rate"]
        self.padding: str = geometry["padding"]
        self.data_format: str = geometry["data_format"]
        self.activation = activations.get(activation)
        self._linear = self.activation is activations.linear
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self._channels_last = self.data_format == "channels_last"
        # (N, *spatial, C) <-> (N, C, *spatial), as views.
        self._to_channels_first = (0, self.rank + 1, *range(1, self.rank + 1))
        self._to_channels_last = (0, *range(2, self.rank + 2), 1)
        self._padding_cache: dict[tuple[int, ...], tuple[tuple[int, ...], list[int] | None]] = {}

    # ------------------------------------------------------------------ helpers
    def _check_rank(self, input_shape: Shape) -> None:
        if len(input_shape) != self.rank + 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2} "
                f"({self._layout()}), received input shape {tuple(input_shape)}."
            )

    def _input_channels(self, input_shape: Shape) -> int:
        self._check_rank(input_shape)
        channels = input_shape[-1 if self._channels_last else 1]
        if channels is None:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': the channel axis must be known to "
                f"create the kernel, received input shape {tuple(input_shape)}."
            )
        return channels

    def _layout(self) -> str:
        spatial = ", ".join(SPATIAL_AXES[self.rank])
        return (f"batch, {spatial}, channels" if self._channels_last
                else f"batch, channels, {spatial}")

    def _add_bias(self, size: int) -> None:
        self.bias = (self.add_weight("bias", (size,), initializer=self.bias_initializer,
                                     regularizer=self.bias_regularizer,
                                     constraint=self.bias_constraint)
                     if self.use_bias else None)

    def _padding_for(self, spatial: tuple[int, ...]) -> tuple[tuple[int, ...], list[int] | None]:
        """torch's symmetric ``padding=`` and the explicit ``F.pad`` list (or ``None``)."""
        cached = self._padding_cache.get(spatial)
        if cached is not None:
            return cached
        zeros = (0,) * self.rank
        if self.padding == "valid":
            cached = (zeros, None)
        elif self.padding == "causal":
            cached = (zeros, [(self.kernel_size[0] - 1) * self.dilation_rate[0], 0])
        else:
            pairs = [same_padding(n, k, s, d) for n, k, s, d in zip(
                spatial, self.kernel_size, self.strides, self.dilation_rate)]
            if all(before == after for before, after in pairs):
                cached = (tuple(before for before, _ in pairs), None)
            else:
                cached = (zeros, [p for pair in reversed(pairs) for p in pair])
        self._padding_cache[tuple(spatial)] = cached
        return cached

    def _to_torch_input(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs.permute(self._to_channels_first) if self._channels_last else inputs

    def _from_torch_output(self, outputs: torch.Tensor) -> torch.Tensor:
        if self._channels_last:
            outputs = outputs.permute(self._to_channels_last)
        return outputs if self._linear else self.activation(outputs)

    def _conv_output_shape(self, input_shape: Shape, channels: int | None) -> Shape:
        self._check_rank(input_shape)
        spatial_in = input_shape[1:-1] if self._channels_last else input_shape[2:]
        spatial = tuple(output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            spatial_in, self.kernel_size, self.strides, self.dilation_rate))
        if any(n is not None and n <= 0 for n in spatial):
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': an input of spatial shape "
                f"{tuple(spatial_in)} is smaller than the window (kernel_size="
                f"{self.kernel_size}, dilation_rate={self.dilation_rate}); the output would "
                f"have shape {spatial}. Use padding='same' or a larger input."
            )
        if self._channels_last:
            return (input_shape[0], *spatial, channels)
        return (input_shape[0], channels, *spatial)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
            "data_format": self.data_format,
            "dilation_rate": list(self.dilation_rate),
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **initializers.serialize_arguments(self, bias_initializer=self.bias_initializer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
        }


# ---------------------------------------------------------------------- Conv1D / Conv2D
class Conv(BaseConv):
    """A convolution with Keras's arguments; ``Conv1D``, ``Conv2D`` and ``Conv3D`` fix its
    ``rank``.

    Args:
        filters: Number of output channels.
        kernel_size: Window size: an int or a tuple of ``rank`` ints.
        strides: Step of the window: an int or ``rank`` ints. Default: ``1``.
        padding: ``"valid"`` (no padding), ``"same"`` (output size ``ceil(n / stride)``,
            padded like TensorFlow: the odd pad at the end) or, for ``Conv1D``,
            ``"causal"`` (left padding only). Default: ``"valid"``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        dilation_rate: Spacing of the window's taps. Default: ``1``.
        groups: Split the input channels into this many groups, each convolved with its
            own ``filters / groups`` filters. Default: ``1``.
        activation: A Keras activation name or callable. Default: ``None`` (linear).
        use_bias: Whether to add a bias. Default: ``True``.
        kernel_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer: A penalty on the kernel, added to ``layer.losses``.
            Default: ``None``.
        kernel_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        bias_regularizer: A penalty on the bias. Default: ``None``.
        bias_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    The kernel has Keras's layout ``(*kernel_size, in_channels / groups, filters)``.
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
        for arg, value in (("filters", filters), ("groups", groups)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ArgumentError(f"{owner}: {arg} must be a positive int, "
                                    f"received {arg}={value!r}.")
        if filters % groups:
            raise ArgumentError(f"{owner}: filters must be a multiple of groups, received "
                                f"filters={filters!r}, groups={groups!r}.")
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation,
                         use_bias, bias_initializer, bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        self.filters = filters
        self.groups = groups
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._conv = CONVOLUTIONS[self.rank]
        # Keras (*k, in, out) -> torch (out, in, *k).
        self._kernel_order = (self.rank + 1, self.rank, *range(self.rank))
        self._own_convolution_op = type(self).convolution_op is not Conv.convolution_op

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}': the {channels} input channels cannot be "
                f"split into groups={self.groups}; use a number of groups that divides them."
            )
        self.kernel = add_kernel(self, "kernel",
                                 (*self.kernel_size, channels // self.groups, self.filters),
                                 self._kernel_order, self.kernel_initializer,
                                 self.kernel_regularizer, self.kernel_constraint)
        self._add_bias(self.filters)

    def convolution_op(self, inputs: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """Keras's hook: ``inputs`` convolved with ``kernel`` (Keras's ``(*k, in, out)``
        layout), before the bias and activation. A subclass that overrides it (weight
        standardisation, say) has ``call`` use it, as in Keras."""
        padding = "valid" if self.padding == "causal" else self.padding
        return ops.conv(inputs, kernel, strides=self.strides, padding=padding,
                        data_format=self.data_format, dilation_rate=self.dilation_rate)

    def _call_own_op(self, inputs: torch.Tensor) -> torch.Tensor:
        """``call`` through an overridden :meth:`convolution_op`, then bias and activation."""
        if self.padding == "causal":  # pad the start of the time axis
            start = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            inputs = F.pad(inputs, (0, 0, start, 0) if self._channels_last else (start, 0))
        outputs = self.convolution_op(inputs, self.kernel)
        if self.bias is not None:
            outputs = outputs + (self.bias if self._channels_last else
                                 self.bias.reshape(-1, *([1] * self.rank)))
        return outputs if self._linear else self.activation(outputs)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._own_convolution_op:
            return self._call_own_op(inputs)
        x = self._to_torch_input(inputs)
        padding, explicit = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            x = F.pad(x, explicit)
        outputs = self._conv(x, self.kernel.permute(self._kernel_order), self.bias,
                             self.strides, padding, self.dilation_rate, self.groups)
        return self._from_torch_output(outputs)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._conv_output_shape(input_shape, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "filters": self.filters,
            "groups": self.groups,
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, filters={self.filters}, kernel_size={self.kernel_size}, "
                f"strides={self.strides}, padding={self.padding!r}, "
                f"data_format={self.data_format!r}")


class Conv1D(Conv):
    """1-D convolution over time steps (see :class:`Conv` for the arguments).

    ``padding="causal"`` pads ``(kernel_size - 1) * dilation_rate`` steps on the left only,
    so output step ``t`` sees input steps up to ``t``.

    Input shape:
        ``(batch, steps, channels)``, or ``(batch, channels, steps)`` with channels_first.

    Output shape:
        ``(batch, new_steps, filters)``, or ``(batch, filters, new_steps)``.

    Example:
        >>> layer = Conv1D(4, 3, padding="causal")
        >>> tuple(layer(torch.ones(2, 10, 3)).shape), tuple(layer.kernel.shape)
        ((2, 10, 4), (3, 3, 4))
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self._channels_last or self._own_convolution_op:
            return super().call(inputs)
        # (N, T, C) viewed as the channels_last image (N, C, 1, T): torch's conv2d runs it
        # without a copy, measured 1.3-1.6x faster (forward + backward) than conv1d on the
        # permuted (N, C, T) view, and no slower than conv1d on contiguous input.
        x = inputs.unsqueeze(1).permute(0, 3, 1, 2)
        padding, explicit = self._padding_for(x.shape[3:])
        if explicit is not None:
            x = F.pad(x, explicit)
        outputs = F.conv2d(x, self.kernel.permute(2, 1, 0).unsqueeze(2), self.bias,
                           (1, *self.strides), (0, *padding), (1, *self.dilation_rate),
                           self.groups)
        outputs = outputs.squeeze(2).permute(0, 2, 1)
        return outputs if self._linear else self.activation(outputs)


class Conv2D(Conv):
    """2-D convolution over images (see :class:`Conv` for the arguments).

    Input shape:
        ``(batch, height, width, channels)``, or ``(batch, channels, height, width)`` with
        channels_first.

    Output shape:
        ``(batch, new_height, new_width, filters)``, or ``(batch, filters, new_height,
        new_width)``.

    Example:
        >>> layer = Conv2D(8, 3, strides=2, padding="same", activation="relu")
        >>> tuple(layer(torch.ones(2, 28, 28, 1)).shape), tuple(layer.kernel.shape)
        ((2, 14, 14, 8), (3, 3, 1, 8))
    """

    rank = 2

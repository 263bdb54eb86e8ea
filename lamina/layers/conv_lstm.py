"""Convolutional LSTMs: ``ConvLSTM1D``, ``ConvLSTM2D``, ``ConvLSTM3D`` (Keras 3's), and their
cell ``ConvLSTMCell``.

An LSTM whose input and recurrent transformations are convolutions (Shi et al. 2015): the
states are images ``(batch, *spatial, filters)``. The gates are ``LSTM``'s
(``recurrent_units.lstm_gates``); the input convolution has the layer's ``strides``,
``padding`` and ``dilation_rate``, the recurrent one ``"same"`` padding and stride 1 (as in
Keras). Weights have Keras's layout: ``kernel (*kernel_size, channels, 4 * filters)``,
``recurrent_kernel (*kernel_size, filters, 4 * filters)``, ``bias (4 * filters,)``, gates
``i, f, c, o``, in the memory order torch's convolutions read (see ``convolutional``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers import arguments
from lamina.layers.convolutional import CONVOLUTIONS, BaseConv, add_kernel
from lamina.layers.layer import Layer
from lamina.layers.recurrent_kernels import keep_mask
from lamina.layers.recurrent_units import lstm_gates
from lamina.layers.rnn import RNN
from lamina.layers.spatial import same_padding

Tensor = torch.Tensor
Shape = tuple[int | None, ...]


class ConvLSTMCell(BaseConv):
    """One step of a convolutional LSTM (the cell of ``ConvLSTM1D/2D/3D``).

    Args:
        rank: 1, 2 or 3 spatial axes.
        filters: The number of channels of the states and output.
        kernel_size, strides, padding (``"valid"`` or ``"same"``), data_format,
        dilation_rate: The input convolution's, as for ``Conv2D`` (``strides`` and
            ``dilation_rate`` cannot both exceed 1).
        activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed: ``LSTMCell``'s. Dropout draws
            one mask per gate, as Keras's cell does.

    Call arguments:
        inputs: One step, ``(batch, *spatial, channels)`` (channels first with
            ``data_format="channels_first"``).
        states: ``[h, c]``, each of the output's shape.

    Example:
        >>> cell = ConvLSTMCell(2, 4, 3, padding="same")
        >>> h, (h_again, c) = cell(torch.ones(2, 5, 5, 3), [torch.zeros(2, 5, 5, 4)] * 2)
        >>> tuple(h.shape), tuple(cell.kernel.shape)
        ((2, 5, 5, 4), (3, 3, 3, 16))
    """

    _dropout_cache: tuple[Tensor | None, Tensor | None] | None = None

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = "tanh",
        recurrent_activation: Any = "sigmoid",
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        unit_forget_bias: bool = True,
        kernel_regularizer: Any = None,
        recurrent_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        recurrent_constraint: Any = None,
        bias_constraint: Any = None,
        dropout: float = 0.0,
        recurrent_dropout: float = 0.0,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if rank not in (1, 2, 3) or isinstance(rank, bool):
            raise ArgumentError(f"{owner}: rank must be 1, 2 or 3, received rank={rank!r}.")
        if not arguments.is_int(filters) or filters <= 0:
            raise ArgumentError(f"{owner}: filters must be a positive int, received "
                                f"filters={filters!r}.")
        rates = [arguments.number(rate, name, owner, minimum=0, below=1) for name, rate in
                 (("dropout", dropout), ("recurrent_dropout", recurrent_dropout))]
        seed = arguments.seed(seed, owner)
        self.__dict__["rank"] = rank  # BaseConv reads it to check the window's arguments
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate,
                         activation, use_bias, bias_initializer, bias_regularizer,
                         bias_constraint=bias_constraint, **kwargs)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ArgumentError(
                f"{owner}: strides > 1 and dilation_rate > 1 cannot go together, received "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}.")
        self.filters = filters
        self.recurrent_activation = activations.get(recurrent_activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.dropout, self.recurrent_dropout = rates
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.state_size = -1  # Keras's: the states' shapes come from the inputs'
        self.spatial_dims: tuple[int, ...] = ()
        self.input_dim = 0
        self._conv = CONVOLUTIONS[rank]
        self._kernel_order = (rank + 1, rank, *range(rank))  # Keras (*k, in, out) -> torch's
        self._channel_axis = -1 if self._channels_last else 1

    def build(self, input_shape: Shape) -> None:
        channels = self._input_channels(input_shape)
        spatial = tuple(input_shape[1:-1] if self._channels_last else input_shape[2:])
        if None in spatial:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' needs static spatial dimensions, "
                f"received input shape {tuple(input_shape)}.")
        self.spatial_dims, self.input_dim = spatial, channels
        width = 4 * self.filters
        self.kernel = add_kernel(self, "kernel", (*self.kernel_size, channels, width),
                                 self._kernel_order, self.kernel_initializer,
                                 self.kernel_regularizer, self.kernel_constraint)
        self.recurrent_kernel = add_kernel(
            self, "recurrent_kernel", (*self.kernel_size, self.filters, width),
            self._kernel_order, self.recurrent_initializer, self.recurrent_regularizer,
            self.recurrent_constraint)
        self._add_bias(width)
        if self.bias is not None and self.unit_forget_bias:
            with torch.no_grad():  # Keras's forget-gate slice starts at ones
                self.bias[self.filters:2 * self.filters] = 1.0

    # ------------------------------------------------------------------ calling
    def call(self, inputs: Tensor, states: Any, training: bool | None = None) -> Any:
        h, c = states[0], states[1]
        input_masks = recurrent_masks = None
        if training and (self.dropout or self.recurrent_dropout):
            input_masks, recurrent_masks = self._masks_for(inputs, h)
        kernel = self.kernel.permute(self._kernel_order)
        recurrent_kernel = self.recurrent_kernel.permute(self._kernel_order)
        z = (self._gate_convs(inputs, kernel, self.bias, input_masks, self._input_conv)
             + self._gate_convs(h, recurrent_kernel, None, recurrent_masks,
                                self._recurrent_conv))
        if self._channels_last:
            z = z.permute(self._to_channels_last)
        h, c = lstm_gates(z, c, self.activation, self.recurrent_activation,
                          dim=self._channel_axis)
        return h, [h, c]

    def _gate_convs(self, x: Tensor, kernel: Tensor, bias: Tensor | None,
                    masks: Tensor | None, conv: Any) -> Tensor:
        """The four gates' convolutions, ``(batch, 4 * filters, *spatial)``: one
        convolution, or one per gate with dropout (each gate its own mask, as in Keras)."""
        if masks is None:
            return conv(x, kernel, bias)
        kernels, biases = kernel.chunk(4), bias.chunk(4) if bias is not None else [None] * 4
        return torch.cat([conv(x * m, k, b) for m, k, b in zip(masks, kernels, biases)], 1)

    def _input_conv(self, x: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
        x = self._to_torch_input(x)
        padding, explicit = self._padding_for(tuple(x.shape[2:]))
        if explicit is not None:
            x = F.pad(x, explicit)
        return self._conv(x, kernel, bias, self.strides, padding, self.dilation_rate)

    def _recurrent_conv(self, h: Tensor, kernel: Tensor, bias: Tensor | None) -> Tensor:
        """``"same"`` padding, stride 1 (Keras's recurrent convolution)."""
        h = self._to_torch_input(h)
        pairs = [same_padding(n, k, 1) for n, k in zip(h.shape[2:], self.kernel_size)]
        if all(before == after for before, after in pairs):
            return self._conv(h, kernel, bias, 1, tuple(before for before, _ in pairs))
        h = F.pad(h, [p for pair in reversed(pairs) for p in pair])
        return self._conv(h, kernel, bias, 1, 0)

    def _masks_for(self, inputs: Tensor, h: Tensor) -> tuple[Tensor | None, Tensor | None]:
        """This sequence's dropout masks, one per gate (drawn on first use)."""
        if self._dropout_cache is None:
            self._dropout_cache = tuple(
                keep_mask((4, *like.shape), rate, like, self._generator) if rate else None
                for like, rate in ((inputs, self.dropout), (h, self.recurrent_dropout)))
        return self._dropout_cache

    def reset_dropout_mask(self) -> None:
        """Forget the masks: the next sequence draws new ones (``RNN`` calls it)."""
        self._dropout_cache = None

    def reset_recurrent_dropout_mask(self) -> None:
        self._dropout_cache = None

    # ------------------------------------------------------------------ shapes and config
    def compute_output_shape(self, inputs_shape: Shape, states_shape: Any = None) -> Any:
        shape = self._conv_output_shape(inputs_shape, self.filters)
        return shape, [shape, shape]

    def get_initial_state(self, batch_size: int | None = None) -> list[Tensor]:
        """Zero states ``[h, c]``, each of the output's shape for the built inputs."""
        inputs = ((batch_size, *self.spatial_dims, self.input_dim) if self._channels_last
                  else (batch_size, self.input_dim, *self.spatial_dims))
        shape = self.compute_output_shape(inputs)[0]
        return [torch.zeros(shape, dtype=self.dtype, device=self.kernel.device)
                for _ in range(2)]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rank": self.rank,
            "filters": self.filters,
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            **initializers.serialize_arguments(
                self, kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer),
            "unit_forget_bias": self.unit_forget_bias,
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }


class ConvLSTM(RNN):
    """A convolutional LSTM over ``(batch, steps, *spatial, channels)`` (the base of
    ``ConvLSTM1D/2D/3D``, which fix ``rank``).

    Args:
        rank, filters, kernel_size, strides, padding, data_format, dilation_rate,
        activation, recurrent_activation, use_bias, kernel_initializer,
        recurrent_initializer, bias_initializer, unit_forget_bias, kernel_regularizer,
        recurrent_regularizer, bias_regularizer, kernel_constraint, recurrent_constraint,
        bias_constraint, dropout, recurrent_dropout, seed: The cell's
            (:class:`ConvLSTMCell`).
        activity_regularizer: A penalty on the outputs. Default: ``None``.
        return_sequences, return_state, go_backwards, stateful: Keras's ``RNN`` arguments
            (``unroll`` and ``zero_output_for_mask`` may be passed too).

    Call arguments:
        sequences: ``(batch, steps, *spatial, channels)``, or ``(batch, steps, channels,
            *spatial)`` with ``data_format="channels_first"``.
        initial_state: ``[h, c]``, each of the output's shape. Default: zeros.
        mask: ``(batch, steps)``, with ``RNN``'s rules.
        training: Whether dropout applies. Default: the layer's mode.

    Output shape:
        ``(batch, *new_spatial, filters)`` (the input convolution's output), with the steps
        after the batch axis for ``return_sequences``; with ``return_state``,
        ``(output, h, c)``.

    Example:
        >>> layer = ConvLSTM(1, 3, 2, padding="same", return_sequences=True)
        >>> tuple(layer(torch.ones(2, 4, 6, 1)).shape), layer.cell.state_size
        ((2, 4, 6, 3), -1)
    """

    rank = 2

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1,
                 padding: str = "valid", data_format: str | None = None,
                 dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, **kwargs: Any) -> None:
        cell = ConvLSTMCell(
            rank, filters, kernel_size, strides=strides, padding=padding,
            data_format=data_format, dilation_rate=dilation_rate, activation=activation,
            recurrent_activation=recurrent_activation, use_bias=use_bias,
            kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
            bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias,
            kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
            bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
            recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
            dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            name="conv_lstm_cell", dtype=kwargs.get("dtype"))
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)

    @property
    def state_count(self) -> int:
        return 2

    def build(self, sequences_shape: Shape, initial_state_shape: Any = None) -> None:
        if len(sequences_shape) != self.cell.rank + 3:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank "
                f"{self.cell.rank + 3} (batch, steps, {self.cell.rank} spatial axes, "
                f"channels), received input shape {tuple(sequences_shape)}.")
        super().build(sequences_shape)

    def compute_output_shape(self, sequences_shape: Shape,
                             initial_state_shape: Any = None) -> Any:
        batch, steps = sequences_shape[0], sequences_shape[1]
        state = self.cell.compute_output_shape((batch, *sequences_shape[2:]))[0][1:]
        output = (batch, steps, *state) if self.return_sequences else (batch, *state)
        if self.return_state:
            return output, (batch, *state), (batch, *state)
        return output

    def get_config(self) -> dict[str, Any]:
        config = {key: value for key, value in super().get_config().items() if key != "cell"}
        cell = self.cell.get_config()
        for key in ("name", "trainable", "dtype", "rank"):
            cell.pop(key, None)
        return {**config, **cell,
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}

    @classmethod
    def from_config(cls, config: dict[str, Any],
                    custom_objects: dict[str, Any] | None = None) -> Layer:
        return cls(**config)


class ConvLSTM1D(ConvLSTM):
    """A 1-D convolutional LSTM over ``(batch, steps, length, channels)`` (see
    :class:`ConvLSTM` for the arguments; ``rank`` is 1).

    Example:
        >>> layer = ConvLSTM1D(2, 3, padding="same", return_sequences=True, name="frames")
        >>> tuple(layer(torch.ones(4, 5, 7, 3)).shape), layer.weights[0].path
        ((4, 5, 7, 2), 'frames/conv_lstm_cell/kernel')
    """

    def __init__(self, filters: int, kernel_size: Any, **kwargs: Any) -> None:
        super().__init__(1, filters, kernel_size, **kwargs)


class ConvLSTM2D(ConvLSTM):
    """A 2-D convolutional LSTM over ``(batch, steps, rows, cols, channels)`` (see
    :class:`ConvLSTM` for the arguments; ``rank`` is 2).

    Example:
        >>> layer = ConvLSTM2D(4, 3, return_state=True)
        >>> output, h, c = layer(torch.ones(2, 3, 6, 6, 1))
        >>> tuple(output.shape), tuple(layer.cell.recurrent_kernel.shape)
        ((2, 4, 4, 4), (3, 3, 4, 16))
    """

    def __init__(self, filters: int, kernel_size: Any, **kwargs: Any) -> None:
        super().__init__(2, filters, kernel_size, **kwargs)


class ConvLSTM3D(ConvLSTM):
    """A 3-D convolutional LSTM over ``(batch, steps, depth, rows, cols, channels)`` (see
    :class:`ConvLSTM` for the arguments; ``rank`` is 3).

    Example:
        >>> layer = ConvLSTM3D(2, 2)
        >>> tuple(layer(torch.ones(1, 2, 3, 4, 3, 1)).shape)
        (1, 2, 3, 2, 2)
    """

    def __init__(self, filters: int, kernel_size: Any, **kwargs: Any) -> None:
        super().__init__(3, filters, kernel_size, **kwargs)

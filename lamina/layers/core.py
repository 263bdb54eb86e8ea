"""Core layers: ``Dense``, ``Activation``, ``Dropout``, ``Identity``."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer


class Dense(Layer):
    """A densely connected layer: ``activation(inputs @ kernel + bias)``.

    The kernel has Keras's layout ``(input_dim, units)`` (the transpose of
    ``nn.Linear.weight``), so Keras weights load as they are.

    Args:
        units: Size of the output's last axis.
        activation: A Keras activation name or callable. Default: ``None`` (linear).
        use_bias: Whether to add a bias. Default: ``True``.
        kernel_initializer: Default: ``"glorot_uniform"``.
        bias_initializer: Default: ``"zeros"``.
        kernel_regularizer: A penalty on the kernel (``"l2"``, ``regularizers.L2(1e-4)``...),
            added to ``layer.losses``. Default: ``None``.
        kernel_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        bias_regularizer: A penalty on the bias. Default: ``None``.
        bias_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        lora_rank, lora_alpha, quantization_config: Keras's LoRA and quantization
            arguments: only their off values (``None``) are accepted.

    Input shape:
        ``(batch, ..., input_dim)``.

    Output shape:
        ``(batch, ..., units)``.

    Example:
        >>> layer = Dense(3)
        >>> tuple(layer(torch.ones(2, 5)).shape), tuple(layer.kernel.shape)
        ((2, 3), (5, 3))
    """

    supports_masking = True

    def __init__(
        self,
        units: int,
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
            raise ArgumentError(f"Dense: units must be a positive int, received units={units!r}.")
        arguments.refuse_unless_off("Dense", lora_rank=lora_rank, lora_alpha=lora_alpha,
                                    quantization_config=quantization_config)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        self._linear = self.activation is activations.linear

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        input_dim = input_shape[-1] if input_shape else None
        if input_dim is None:
            raise ShapeError(
                f"Dense '{self.name}': the last axis of the input must be known to create the "
                f"kernel, received input shape {input_shape}."
            )
        self.kernel = self.add_weight("kernel", (input_dim, self.units),
                                      initializer=self.kernel_initializer, column_major=True,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        else:
            self.bias = None

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        kernel, bias = self.weight_value("kernel"), self.weight_value("bias")
        if bias is not None:
            # One addmm (over the flattened leading axes of N-D inputs), as nn.Linear.
            outputs = F.linear(inputs, kernel.t(), bias)
        else:
            outputs = torch.matmul(inputs, kernel)
        return outputs if self._linear else self.activation(outputs)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            **initializers.serialize_arguments(self, kernel_initializer=self.kernel_initializer,
                                               bias_initializer=self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        }

    def extra_repr(self) -> str:
        return (f"name={self.name!r}, units={self.units}, "
                f"activation={activations.serialize(self.activation)}")


class Activation(Layer):
    """Applies an activation function by Keras name or callable.

    Args:
        activation: A Keras activation name (``"relu"``...) or a callable.

    Example:
        >>> Activation("relu")(torch.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """

    supports_masking = True

    def __init__(self, activation: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.activation(inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class Dropout(Layer):
    """Zeroes a fraction ``rate`` of inputs during training and scales the rest by 1/(1-rate).

    Args:
        rate: Fraction of the inputs to drop, in ``[0, 1)``.
        noise_shape: Shape of the binary mask (``None`` axes take the input's size), to drop
            whole feature maps or time steps. Default: ``None`` (independent per element).
        seed: Seed for a private generator, for reproducible dropout. Default: ``None``.

    Example:
        >>> drop = Dropout(0.5)
        >>> drop(torch.ones(2, 2)).tolist()  # inference: the identity
        [[1.0, 1.0], [1.0, 1.0]]
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        if not isinstance(rate, (int, float)) or isinstance(rate, bool):
            raise ArgumentTypeError(f"Dropout: rate must be a number in [0, 1), "
                                    f"received rate={rate!r}.")
        if not 0 <= rate < 1:
            raise ArgumentError(f"Dropout: rate must be a number in [0, 1), "
                                f"received rate={rate!r}.")
        if noise_shape is not None and not (
                isinstance(noise_shape, (list, tuple)) and all(
                    d is None or (isinstance(d, int) and not isinstance(d, bool) and d > 0)
                    for d in noise_shape)):
            raise ArgumentError(f"Dropout: noise_shape must be None or a list of positive ints "
                                f"and None, received noise_shape={noise_shape!r}.")
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self._build_at_init()

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        if self.noise_shape is None and self._generator is None:
            return F.dropout(inputs, self.rate, True)
        shape = self.noise_shape or inputs.shape
        shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(shape))
        keep = torch.rand(shape, generator=self._generator).to(inputs.device) >= self.rate
        return inputs * keep.to(inputs.dtype) / (1.0 - self.rate)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        noise = list(self.noise_shape) if self.noise_shape is not None else None
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise,
                "seed": self.seed}


class Identity(Layer):
    """Returns its input unchanged (masks included).

    Example:
        >>> Identity()(torch.tensor([1.0])).tolist()
        [1.0]
    """

    supports_masking = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._build_at_init()

    def call(self, inputs: Any) -> Any:
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

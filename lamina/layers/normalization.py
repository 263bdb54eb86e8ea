"""``BatchNormalization`` and ``LayerNormalization`` with Keras 3's definitions.

Both normalise with the *biased* variance (mean of squared deviations). Keras's
``BatchNormalization`` also feeds the biased batch variance into its moving variance,
where torch's ``BatchNorm`` uses the unbiased one; and Keras's ``momentum`` is the weight of
the old value (``moving = moving * momentum + batch * (1 - momentum)``), torch's the
weight of the new one. The layer below keeps Keras's meaning on torch's fused kernel: it
asks ``F.batch_norm`` for this batch's statistics alone (momentum 1 into zeroed buffers),
then applies Keras's update to the moving statistics.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch._subclasses.fake_tensor import FakeTensor

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]

#: Keras's ``backend.epsilon()``, which guards the division in masked moments.
_KERAS_EPSILON = 1e-7


def _number(value: Any, name: str, owner: str, low: float, high: float | None = None
            ) -> float:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value < low or (high is not None and value > high)):
        bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ArgumentError(f"{owner}: {name} must be a number {bounds}, "
                            f"received {name}={value!r}.")
    return float(value)


def _positive_axis(axis: int, rank: int, layer: Layer) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axis} is out of range "
                         f"for inputs of rank {rank}.")
    return axis % rank


class BatchNormalization(Layer):
    """Normalises each channel with batch statistics in training, moving ones otherwise.

    In training (``training=True``, or after ``model.train()``), the output is
    ``gamma * (x - mean(batch)) / sqrt(var(batch) + epsilon) + beta``, and the moving
    statistics are updated as in Keras::

        moving_mean = moving_mean * momentum + mean(batch) * (1 - momentum)
        moving_variance = moving_variance * momentum + var(batch) * (1 - momentum)

    with the biased batch variance. In inference, ``moving_mean`` and ``moving_variance``
    replace the batch statistics. As in Keras, a layer with ``trainable=False`` always runs
    in inference mode. With a mask (shape: the input's without the channel axis), training
    statistics are Keras's weighted moments over the unmasked positions.

    Args:
        axis: The channel axis (kept; every other axis is reduced). Default: ``-1``.
        momentum: Weight of the old value in the moving averages. Default: ``0.99``.
        epsilon: Added to the variance. Default: ``1e-3``.
        center: Whether to add the trainable offset ``beta``. Default: ``True``.
        scale: Whether to multiply by the trainable ``gamma``. Default: ``True``.
        beta_initializer: Default: ``"zeros"``.
        gamma_initializer: Default: ``"ones"``.
        moving_mean_initializer: Default: ``"zeros"``.
        moving_variance_initializer: Default: ``"ones"``.
        beta_regularizer: Default: ``None``.
        beta_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        gamma_regularizer: Default: ``None``.
        gamma_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    Weights: ``gamma`` and ``beta`` (trainable), ``moving_mean`` and ``moving_variance``
    (non-trainable, saved), each of shape ``(channels,)``.

    Input shape:
        Any; ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = BatchNormalization(momentum=0.5)
        >>> out = layer(torch.tensor([[1.0], [3.0]]), training=True)
        >>> out.flatten().tolist(), layer.moving_mean.tolist(), layer.moving_variance.tolist()
        ([-0.9995003938674927, 0.9995003938674927], [1.0], [1.0])
    """

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ArgumentError(f"BatchNormalization: axis must be an int, received axis={axis!r}.")
        momentum = _number(momentum, "momentum", "BatchNormalization", 0.0, 1.0)
        epsilon = _number(epsilon, "epsilon", "BatchNormalization", 0.0)
        super().__init__(**kwargs)
        self.axis, self.momentum, self.epsilon = axis, momentum, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Shape) -> None:
        self._axis = _positive_axis(self.axis, len(input_shape), self)
        channels = input_shape[self._axis]
        if channels is None:
            raise ShapeError(f"BatchNormalization '{self.name}': axis {self.axis} must be "
                             f"known, received input shape {tuple(input_shape)}.")
        shape = (channels,)
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", shape, trainable=False,
                                           initializer=self.moving_mean_initializer)
        self.moving_variance = self.add_weight("moving_variance", shape, trainable=False,
                                               initializer=self.moving_variance_initializer)

    def _channels_second(self, inputs: torch.Tensor) -> torch.Tensor:
        """A view with the channel axis second, the layout ``F.batch_norm`` reduces around."""
        axis = self._axis
        if axis == inputs.dim() - 1:
            return inputs.reshape(-1, inputs.shape[axis])
        if axis == 1:
            return inputs
        return inputs.reshape(math.prod(inputs.shape[:axis]), inputs.shape[axis], -1)

    def call(self, inputs: torch.Tensor, training: bool = False,
             mask: torch.Tensor | None = None) -> torch.Tensor:
        x = self._channels_second(inputs)
        if not (training and self._trainable):
            outputs = F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma,
                                   self.beta, False, 0.0, self.epsilon)
            return outputs.view(inputs.shape)
        count = x.numel() // x.shape[1]
        if mask is None and count > 1:
            mean = x.new_zeros(x.shape[1])
            unbiased = x.new_zeros(x.shape[1])
            outputs = F.batch_norm(x, mean, unbiased, self.gamma, self.beta, True, 1.0,
                                   self.epsilon)
            self._update_moving(mean, unbiased * ((count - 1) / count))
            return outputs.view(inputs.shape)
        mean, variance = self._moments(inputs, mask)
        self._update_moving(mean.detach().flatten(), variance.detach().flatten())
        inverse = torch.rsqrt(variance + self.epsilon)
        broadcast = [1] * inputs.dim()
        broadcast[self._axis] = -1
        if self.gamma is not None:
            inverse = inverse * self.gamma.view(broadcast)
        outputs = (inputs - mean) * inverse
        return outputs if self.beta is None else outputs + self.beta.view(broadcast)

    def _moments(self, inputs: torch.Tensor, mask: torch.Tensor | None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Keras's (masked) moments, kept broadcastable against ``inputs``."""
        axes = [a for a in range(inputs.dim()) if a != self._axis]
        if mask is None:
            variance, mean = torch.var_mean(inputs, dim=axes, correction=0, keepdim=True)
            return mean, variance
        if mask.dim() != inputs.dim() - 1:
            raise ShapeError(
                f"BatchNormalization '{self.name}': the mask must have the input's shape "
                f"without the channel axis, received mask shape {tuple(mask.shape)} for "
                f"input shape {tuple(inputs.shape)}."
            )
        weights = mask.to(inputs.dtype).unsqueeze(self._axis)
        total = torch.sum(weights, dim=axes, keepdim=True) + _KERAS_EPSILON
        weighted = weights * inputs
        mean = torch.sum(weighted, dim=axes, keepdim=True) / total
        variance = torch.sum(weights * torch.square(weighted - mean), dim=axes,
                             keepdim=True) / total
        return mean, variance

    def _update_moving(self, mean: torch.Tensor, variance: torch.Tensor) -> None:
        if isinstance(mean, FakeTensor):
            return  # a shape-inference run: real statistics must not change
        keep = self.momentum
        with torch.no_grad():
            self.moving_mean.mul_(keep).add_(mean, alpha=1.0 - keep)
            self.moving_variance.mul_(keep).add_(variance, alpha=1.0 - keep)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **initializers.serialize_arguments(
                self, beta_initializer=self.beta_initializer,
                gamma_initializer=self.gamma_initializer,
                moving_mean_initializer=self.moving_mean_initializer,
                moving_variance_initializer=self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }

    def extra_repr(self) -> str:
        return f"name={self.name!r}, axis={self.axis}, momentum={self.momentum}"


class LayerNormalization(Layer):
    """Normalises each sample over ``axis``: ``gamma * (x - mean) / sqrt(var + epsilon) + beta``.

    The mean and the (biased) variance are taken over the axes in ``axis``, per sample;
    ``gamma`` and ``beta`` have the shape of those axes.

    Args:
        axis: An int or a list of ints: the axes to normalise over. Default: ``-1``.
        epsilon: Added to the variance. Default: ``1e-3``.
        center: Whether to add the trainable offset ``beta``. Default: ``True``.
        scale: Whether to multiply by the trainable ``gamma``. Default: ``True``.
        beta_initializer: Default: ``"zeros"``.
        gamma_initializer: Default: ``"ones"``.
        beta_regularizer: Default: ``None``.
        beta_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.
        gamma_regularizer: Default: ``None``.
        gamma_constraint: A constraint (``lamina.constraints``), applied after each
            optimizer step of ``fit``. Default: ``None``.

    Input shape:
        Any; the axes in ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> LayerNormalization(epsilon=0.0)(torch.tensor([[1.0, 3.0]])).tolist()
        [[-1.0, 1.0]]
    """

    supports_masking = True

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ArgumentError("LayerNormalization: axis must be an int or a list of ints, "
                                f"received axis={axis!r}.")
        epsilon = _number(epsilon, "epsilon", "LayerNormalization", 0.0)
        super().__init__(**kwargs)
        self.axis = list(axis) if isinstance(axis, (list, tuple)) else axis
        self.epsilon, self.center, self.scale = epsilon, bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Shape) -> None:
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        self._axes = sorted({_positive_axis(a, rank, self) for a in axes})
        shape = tuple(input_shape[a] for a in self._axes)
        if any(d is None for d in shape):
            raise ShapeError(f"LayerNormalization '{self.name}': axes {self._axes} must be "
                             f"known, received input shape {tuple(input_shape)}.")
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center else None)
        # Trailing axes are what torch's fused layer_norm normalises over.
        self._trailing = self._axes == list(range(rank - len(shape), rank))
        self._shape = shape
        self._broadcast = [input_shape[a] if a in self._axes else 1 for a in range(rank)]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._trailing:
            return F.layer_norm(inputs, self._shape, self.gamma, self.beta, self.epsilon)
        variance, mean = torch.var_mean(inputs, dim=self._axes, correction=0, keepdim=True)
        inverse = torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            inverse = inverse * self.gamma.view(self._broadcast)
        outputs = (inputs - mean) * inverse
        return outputs if self.beta is None else outputs + self.beta.view(self._broadcast)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            **initializers.serialize_arguments(self, beta_initializer=self.beta_initializer,
                                               gamma_initializer=self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }

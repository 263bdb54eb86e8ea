"""``GroupNormalization`` and ``UnitNormalization`` with Keras 3's definitions.

``BatchNormalization`` and ``LayerNormalization`` are in ``normalization.py``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina import constraints, initializers, regularizers
from lamina.errors import ArgumentError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]

#: Keras's floor on the norm in ``UnitNormalization`` (``ops.normalize``'s ``epsilon``).
_UNIT_EPSILON = 1e-12


def _check_axes(layer: Layer, axes: int | list[int], input_shape: Shape) -> list[int]:
    """``axes`` as non-negative axes of ``input_shape``, or a ShapeError naming the layer."""
    rank = len(input_shape)
    found = [axes] if isinstance(axes, int) else list(axes)
    if any(not -rank <= a < rank for a in found):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axes} is out of range "
                         f"for inputs of shape {tuple(input_shape)}.")
    return [a % rank for a in found]


class GroupNormalization(Layer):
    """Normalises each sample over groups of channels: ``gamma * (x - mean) /
    sqrt(var + epsilon) + beta``, with the mean and the (biased) variance of each group.

    The ``C`` channels along ``axis`` are split into ``groups`` consecutive groups of
    ``C / groups``; each group is normalised over its channels and every other axis but
    the batch axis. ``groups=1`` is close to ``LayerNormalization`` over all axes, and
    ``groups=-1`` (one group per channel) is instance normalization. Half-precision inputs
    are normalised in float32, as in Keras.

    Args:
        groups: The number of groups, dividing the number of channels, or ``-1`` for one
            per channel (the config then holds the number of channels, as in Keras).
            Default: ``32``.
        axis: The channel axis. Default: ``-1``.
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

    Weights: ``gamma`` and ``beta``, each of shape ``(channels,)``.

    Input shape:
        Any; ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = GroupNormalization(groups=2, epsilon=0.0)
        >>> layer(torch.tensor([[1.0, 3.0, 10.0, 30.0]])).tolist()
        [[-1.0, 1.0, -1.0, 1.0]]
    """

    supports_masking = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
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
        if not arguments.is_int(groups) or (groups <= 0 and groups != -1):
            raise ArgumentError("GroupNormalization: groups must be a positive int, or -1 for "
                                f"one group per channel, received groups={groups!r}.")
        if not arguments.is_int(axis):
            raise ArgumentError(f"GroupNormalization: axis must be an int, received "
                                f"axis={axis!r}.")
        epsilon = arguments.number(epsilon, "epsilon", "GroupNormalization", minimum=0)
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = groups, axis, epsilon
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def build(self, input_shape: Shape) -> None:
        (self._axis,) = _check_axes(self, self.axis, input_shape)
        channels = input_shape[self._axis]
        if channels is None:
            raise ShapeError(f"GroupNormalization '{self.name}': axis {self.axis} must be "
                             f"known, received input shape {tuple(input_shape)}.")
        if self.groups == -1:
            self.groups = channels
        if channels < self.groups or channels % self.groups:
            raise ShapeError(
                f"GroupNormalization '{self.name}': groups={self.groups} must divide the "
                f"{channels} channels of axis {self.axis} (input shape {tuple(input_shape)})."
            )
        shape = (channels,)
        self.gamma = (self.add_weight("gamma", shape, initializer=self.gamma_initializer,
                                      regularizer=self.gamma_regularizer,
                                      constraint=self.gamma_constraint)
                      if self.scale else None)
        self.beta = (self.add_weight("beta", shape, initializer=self.beta_initializer,
                                     regularizer=self.beta_regularizer,
                                     constraint=self.beta_constraint)
                     if self.center else None)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        # Not F.group_norm: in torch 2.13 its CPU backward fails without a weight
        # ("tensor does not have a device") and crashes the process on a channels_last
        # view (a moved channel axis of a 4-D or 5-D tensor).
        x = inputs.movedim(self._axis, 1) if self._axis != 1 else inputs
        if x.dtype in (torch.float16, torch.bfloat16):
            x = x.float()
        batch, channels = x.shape[0], x.shape[1]
        grouped = x.reshape(batch, self.groups, channels // self.groups * math.prod(x.shape[2:]))
        variance, mean = torch.var_mean(grouped, dim=2, correction=0, keepdim=True)
        outputs = ((grouped - mean) * torch.rsqrt(variance + self.epsilon)).reshape(x.shape)
        broadcast = (channels, *(1,) * (x.dim() - 2))
        if self.gamma is not None:
            outputs = outputs * self.gamma.to(outputs.dtype).view(broadcast)
        if self.beta is not None:
            outputs = outputs + self.beta.to(outputs.dtype).view(broadcast)
        outputs = outputs.to(inputs.dtype)
        return outputs.movedim(1, self._axis) if self._axis != 1 else outputs

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _check_axes(self, self.axis, input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "groups": self.groups,
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


class UnitNormalization(Layer):
    """Scales each sample to unit L2 norm over ``axis``: ``x / max(||x||, 1e-12)``.

    Args:
        axis: An int or a list of ints: the axes the norm is taken over. Default: ``-1``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> UnitNormalization()(torch.tensor([[3.0, 4.0], [0.0, 0.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """

    supports_masking = True

    def __init__(self, axis: int | list[int] = -1, **kwargs: Any) -> None:
        axis = arguments.axes(axis, "axis", "UnitNormalization")
        super().__init__(**kwargs)
        self.axis = axis
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        square_sum = torch.sum(inputs * inputs, dim=self.axis, keepdim=True)
        return inputs * torch.rsqrt(square_sum).clamp(max=1.0 / _UNIT_EPSILON)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        _check_axes(self, self.axis, input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}

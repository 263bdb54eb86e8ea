"""``RMSNormalization``: root-mean-square normalization over given axes, Keras 3's layer
(``LayerNormalization`` and ``BatchNormalization`` are in ``normalization.py``)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.normalization_axes import (
    axes_geometry,
    axis_argument,
    check_axis_range,
    normalized_axes,
)

Shape = tuple[int | None, ...]


class RMSNormalization(Layer):
    """Root-mean-square normalization (Zhang and Sennrich, 2019), Keras 3's:
    ``x * rsqrt(mean(x ** 2) + epsilon) * scale``, the mean taken per sample over ``axis``.

    Unlike ``LayerNormalization`` it does not centre the input and has no offset. As in
    Keras, it does not pass a mask on (``supports_masking`` is ``False``). Half-precision
    inputs are normalised in float32.

    Args:
        axis: An int or a list of ints: the axes to normalise over. Default: ``-1``.
            Once built, the config holds the sorted list (Keras's ``[-1]``).
        epsilon: Added to the mean square. Default: ``1e-6``.

    Weights: ``scale`` (trainable, initialised to ones), of the shape of the axes.

    Input shape:
        Any; the axes in ``axis`` must be known.

    Output shape:
        Same as the input.

    Example:
        >>> layer = RMSNormalization(epsilon=0.0)
        >>> [round(v, 4) for v in layer(torch.tensor([[3.0, 4.0]]))[0].tolist()]
        [0.8485, 1.1314]
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-6,
                 **kwargs: Any) -> None:
        axis = axis_argument(axis, "RMSNormalization")
        epsilon = arguments.number(epsilon, "epsilon", "RMSNormalization", minimum=0)
        super().__init__(**kwargs)
        self.axis, self.epsilon = axis, epsilon

    def build(self, input_shape: Shape) -> None:
        self._axes = normalized_axes(self, self.axis, input_shape)
        self.axis = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        shape, self._trailing, self._broadcast = axes_geometry(self._axes, input_shape)
        self._shape = shape
        self.scale = self.add_weight("scale", shape, initializer="ones")

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs.float() if inputs.dtype in (torch.float16, torch.bfloat16) else inputs
        scale = self.scale.to(x.dtype)
        if self._trailing:
            outputs = F.rms_norm(x, self._shape, scale, self.epsilon)
        else:
            square = torch.mean(x * x, dim=self._axes, keepdim=True)
            outputs = x * torch.rsqrt(square + self.epsilon) * scale.view(self._broadcast)
        return outputs.to(inputs.dtype)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        check_axis_range(self, self.axis, input_shape)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}

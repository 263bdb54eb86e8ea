"""Pooling layers: ``GlobalAveragePooling1D``."""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]


class GlobalAveragePooling1D(Layer):
    """Averages over the time axis, counting only unmasked steps when there is a mask.

    With a mask of shape ``(batch, steps)``, the output is Keras's
    ``sum(inputs * mask, steps) / sum(mask, steps)``: the mean over the steps the mask
    keeps. A sample whose steps are all masked has no mean (0 / 0 gives NaN, as in Keras).

    Args:
        data_format: ``"channels_last"`` (inputs ``(batch, steps, features)``) or
            ``"channels_first"`` (inputs ``(batch, features, steps)``).
            Default: ``"channels_last"``.
        keepdims: Whether to keep the time axis with size 1. Default: ``False``.

    Input shape:
        ``(batch, steps, features)`` (channels_last).

    Output shape:
        ``(batch, features)``, or ``(batch, 1, features)`` with ``keepdims=True``.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0], [100.0]]])
        >>> pool = GlobalAveragePooling1D()
        >>> pool(x).tolist(), pool(x, mask=torch.tensor([[True, True, False]])).tolist()
        ([[34.66666793823242]], [[2.0]])
    """

    # Keras's flag: the layer consumes a mask (its output, having no time axis, has none).
    supports_masking = True

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False,
                 **kwargs: Any) -> None:
        if data_format not in ("channels_last", "channels_first"):
            raise ArgumentError(
                "GlobalAveragePooling1D: data_format must be 'channels_last' or "
                f"'channels_first', received data_format={data_format!r}."
            )
        super().__init__(**kwargs)
        self.data_format = data_format
        self.keepdims = bool(keepdims)
        self._steps_axis = 1 if data_format == "channels_last" else 2

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != 3:
            layout = ("(batch, steps, features)" if self.data_format == "channels_last"
                      else "(batch, features, steps)")
            raise ShapeError(
                f"GlobalAveragePooling1D '{self.name}' expects inputs of shape {layout}, "
                f"received shape {tuple(shape)}."
            )

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dim() != 3:
            self._check_rank(inputs.shape)
        axis = self._steps_axis
        if mask is None:
            return torch.mean(inputs, dim=axis, keepdim=self.keepdims)
        # The mask has no feature axis; give it one where the features are.
        weights = mask.to(inputs.dtype).unsqueeze(3 - axis)
        total = torch.sum(inputs * weights, dim=axis, keepdim=self.keepdims)
        return total / torch.sum(weights, dim=axis, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        batch, features = input_shape[0], input_shape[3 - self._steps_axis]
        if not self.keepdims:
            return (batch, features)
        return (batch, 1, features) if self._steps_axis == 1 else (batch, features, 1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format,
                "keepdims": self.keepdims}

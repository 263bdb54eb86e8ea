"""Global pooling: ``GlobalAveragePooling1D/2D`` and ``GlobalMaxPooling1D/2D``.

The 1-D ones take a mask of shape ``(batch, steps)`` and leave the masked steps out; the 2-D
ones are the rank-2 cases of ``GlobalPooling`` (``global_pooling.py``, with the 3-D ones).
Window pooling (``MaxPooling2D``...) is in ``pooling_spatial.py``.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.global_pooling import GlobalPooling
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]


class _GlobalPooling1D(Layer):
    """What the 1-D global poolings share: data format, ``keepdims``, shapes and config."""

    # Keras's flag: the layer consumes a mask (its output, having no time axis, has none).
    supports_masking = True

    def __init__(self, data_format: str = "channels_last", keepdims: bool = False,
                 **kwargs: Any) -> None:
        if data_format not in ("channels_last", "channels_first"):
            raise ArgumentError(
                f"{type(self).__name__}: data_format must be 'channels_last' or "
                f"'channels_first', received data_format={data_format!r}."
            )
        super().__init__(**kwargs)
        self.data_format = data_format
        self.keepdims = bool(keepdims)
        self._steps_axis = 1 if data_format == "channels_last" else 2
        self._build_at_init()

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != 3:
            layout = ("(batch, steps, features)" if self.data_format == "channels_last"
                      else "(batch, features, steps)")
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of shape {layout}, "
                f"received shape {tuple(shape)}."
            )

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


class GlobalAveragePooling1D(_GlobalPooling1D):
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

    def call(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dim() != 3:
            self._check_rank(inputs.shape)
        axis = self._steps_axis
        if mask is None:
            return torch.mean(inputs, dim=axis, keepdim=self.keepdims)
        # The mask has no feature axis; give it one where the features are. Masked steps
        # are replaced by zeros (not multiplied by them), so their gradient is 0, as Keras's.
        keep = torch.as_tensor(mask, device=inputs.device).bool().unsqueeze(3 - axis)
        total = torch.sum(torch.where(keep, inputs, torch.zeros_like(inputs)), dim=axis,
                          keepdim=self.keepdims)
        return total / torch.sum(keep.to(inputs.dtype), dim=axis, keepdim=self.keepdims)


class GlobalMaxPooling1D(_GlobalPooling1D):
    """The maximum over the time axis.

    As Keras 3's, it does not support masking: a mask is not used (a masked step can be
    the maximum) and none is passed on. To leave padded steps out, set them to a very
    negative value first, or use ``GlobalAveragePooling1D``, which uses the mask.

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
        >>> GlobalMaxPooling1D()(x).tolist()
        [[100.0]]
    """

    supports_masking = False

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 3:
            self._check_rank(inputs.shape)
        return torch.amax(inputs, dim=self._steps_axis, keepdim=self.keepdims)


class GlobalAveragePooling2D(GlobalPooling):
    """The mean over the spatial axes of an image.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        keepdims: Whether to keep the spatial axes with size 1. Default: ``False``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, channels)``, or ``(batch, 1, 1, channels)`` with ``keepdims=True``.

    Example:
        >>> GlobalAveragePooling2D()(torch.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[3.0, 4.0]]
    """

    rank = 2
    _reduce = staticmethod(torch.mean)


class GlobalMaxPooling2D(GlobalPooling):
    """The maximum over the spatial axes of an image.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        keepdims: Whether to keep the spatial axes with size 1. Default: ``False``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, channels)``, or ``(batch, 1, 1, channels)`` with ``keepdims=True``.

    Example:
        >>> GlobalMaxPooling2D()(torch.arange(8.0).reshape(1, 2, 2, 2)).tolist()
        [[6.0, 7.0]]
    """

    rank = 2
    _reduce = staticmethod(torch.amax)

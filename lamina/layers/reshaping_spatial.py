"""Layers that resize the steps or pixels of a sample: up-sampling, zero-padding, cropping.

``UpSampling1D``/``2D`` repeat steps / rows and columns (or, in 2-D, interpolate),
``ZeroPadding1D``/``2D`` add zeros around them and ``Cropping1D``/``2D`` cut them off. None
has weights. They are the 1-D and 2-D cases of ``UpSampling``, ``ZeroPadding`` and ``Cropping``
(``spatial_resizing.py``); the 3-D ones are in ``reshaping_3d.py``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.arguments import is_int
from lamina.layers.spatial import check_choice, check_data_format, normalize_tuple
from lamina.layers.spatial_resizing import Cropping, UpSampling, ZeroPadding, padding_pairs

#: ``UpSampling2D``'s interpolations: Keras's on torch (``"lanczos3"`` and ``"lanczos5"``
#: exist only on Keras's other backends).
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


class UpSampling1D(UpSampling):
    """Repeats each time step ``size`` times.

    Args:
        size: The repeat factor, a positive int. Default: ``2``.

    Input shape:
        ``(batch, steps, features)``.

    Output shape:
        ``(batch, steps * size, features)``.

    Example:
        >>> UpSampling1D(2)(torch.tensor([[[1.0], [2.0]]])).flatten().tolist()
        [1.0, 1.0, 2.0, 2.0]
    """

    def __init__(self, size: int = 2, **kwargs: Any) -> None:
        if not is_int(size):
            raise ArgumentTypeError(f"UpSampling1D: size must be an int, received size={size!r}.")
        if size <= 0:
            raise ArgumentError(f"UpSampling1D: size must be a positive int, "
                                f"received size={size!r}.")
        super().__init__(**kwargs)
        self.size = size
        self._set_factors((size,), "channels_last")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size}


class UpSampling2D(UpSampling):
    """Scales images up by integer factors: ``size[0]`` for rows, ``size[1]`` for columns.

    ``"nearest"`` repeats rows and columns; ``"bilinear"`` and ``"bicubic"`` interpolate as
    Keras does on torch (``F.interpolate`` with ``align_corners=False``, no antialiasing).

    Args:
        size: An int or 2 ints: the row and column factors. Default: ``(2, 2)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        interpolation: ``"nearest"``, ``"bilinear"`` or ``"bicubic"``. Default:
            ``"nearest"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, height * size[0], width * size[1], channels)`` (channels_last).

    Example:
        >>> x = torch.tensor([[[[1.0], [2.0]]]])
        >>> UpSampling2D((1, 2))(x)[0, :, :, 0].tolist()
        [[1.0, 1.0, 2.0, 2.0]]
        >>> UpSampling2D((1, 2), interpolation="bilinear")(x)[0, :, :, 0].tolist()
        [[1.0, 1.25, 1.75, 2.0]]
    """

    rank = 2

    def __init__(self, size: Any = (2, 2), data_format: str | None = None,
                 interpolation: str = "nearest", **kwargs: Any) -> None:
        size = normalize_tuple(size, 2, "size", "UpSampling2D")
        data_format = check_data_format(data_format, "UpSampling2D")
        if not isinstance(interpolation, str):
            raise ArgumentTypeError("UpSampling2D: interpolation must be a string, received "
                                    f"interpolation={interpolation!r}.")
        interpolation = check_choice(interpolation, "interpolation", "UpSampling2D",
                                     INTERPOLATIONS)
        super().__init__(**kwargs)
        self.size, self.interpolation = size, interpolation
        self._set_factors(size, data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.interpolation == "nearest":
            return super().call(inputs)
        channels_last = self.data_format == "channels_last"
        x = inputs.permute(0, 3, 1, 2) if channels_last else inputs
        size = (x.shape[2] * self.size[0], x.shape[3] * self.size[1])
        outputs = F.interpolate(x, size=size, mode=self.interpolation, align_corners=False)
        return outputs.permute(0, 2, 3, 1) if channels_last else outputs

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size),
                "data_format": self.data_format, "interpolation": self.interpolation}


class ZeroPadding1D(ZeroPadding):
    """Adds zero steps at the start and the end of the time axis.

    Args:
        padding: An int (both ends) or ``(start, end)``. Default: ``1``.
        data_format: ``"channels_last"`` (inputs ``(batch, steps, features)``) or
            ``"channels_first"`` (inputs ``(batch, features, steps)``). Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, steps, features)`` (channels_last).

    Output shape:
        ``(batch, start + steps + end, features)`` (channels_last).

    Example:
        >>> ZeroPadding1D((1, 2))(torch.tensor([[[5.0]]])).flatten().tolist()
        [0.0, 5.0, 0.0, 0.0]
    """

    def __init__(self, padding: Any = 1, data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = padding_pairs(padding, 1, "padding", "ZeroPadding1D")
        data_format = check_data_format(data_format, "ZeroPadding1D")
        super().__init__(**kwargs)
        self.padding = pairs[0]
        self._set_pairs(pairs, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": list(self.padding),
                "data_format": self.data_format}


class ZeroPadding2D(ZeroPadding):
    """Adds rows and columns of zeros around each image.

    Args:
        padding: An int (all sides), 2 ints ``(rows, cols)`` (both ends of each) or
            ``((top, bottom), (left, right))``. Default: ``(1, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        ``(batch, top + height + bottom, left + width + right, channels)``.

    Example:
        >>> ZeroPadding2D(((0, 1), (1, 0)))(torch.ones(1, 1, 1, 1))[0, :, :, 0].tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """

    rank = 2

    def __init__(self, padding: Any = (1, 1), data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = padding_pairs(padding, 2, "padding", "ZeroPadding2D")
        data_format = check_data_format(data_format, "ZeroPadding2D")
        super().__init__(**kwargs)
        self.padding = pairs
        self._set_pairs(pairs, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(p) for p in self.padding],
                "data_format": self.data_format}


class Cropping1D(Cropping):
    """Cuts steps off the start and the end of the time axis.

    Args:
        cropping: An int (both ends) or ``(start, end)``. Default: ``(1, 1)``.

    Input shape:
        ``(batch, steps, features)``, with more than ``start + end`` steps.

    Output shape:
        ``(batch, steps - start - end, features)``.

    Example:
        >>> Cropping1D((1, 0))(torch.tensor([[[1.0], [2.0], [3.0]]])).flatten().tolist()
        [2.0, 3.0]
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        pairs = padding_pairs(cropping, 1, "cropping", "Cropping1D")
        super().__init__(**kwargs)
        self.cropping = pairs[0]
        self._set_pairs(pairs, "channels_last")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": list(self.cropping)}


class Cropping2D(Cropping):
    """Cuts rows and columns off the edges of each image.

    Args:
        cropping: An int (all sides), 2 ints ``(rows, cols)`` (both ends of each) or
            ``((top, bottom), (left, right))``. Default: ``((0, 0), (0, 0))``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last), larger than the cropping.

    Output shape:
        ``(batch, height - top - bottom, width - left - right, channels)``.

    Example:
        >>> x = torch.arange(9.0).reshape(1, 3, 3, 1)
        >>> Cropping2D(((1, 0), (0, 1)))(x)[0, :, :, 0].tolist()
        [[3.0, 4.0], [6.0, 7.0]]
    """

    rank = 2

    def __init__(self, cropping: Any = ((0, 0), (0, 0)), data_format: str | None = None,
                 **kwargs: Any) -> None:
        pairs = padding_pairs(cropping, 2, "cropping", "Cropping2D")
        data_format = check_data_format(data_format, "Cropping2D")
        super().__init__(**kwargs)
        self.cropping = pairs
        self._set_pairs(pairs, data_format)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping],
                "data_format": self.data_format}

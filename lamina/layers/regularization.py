"""Regularization layers: ``SpatialDropout1D``/``2D``, ``GaussianNoise``,
``ActivityRegularization``.

The first three act only in training (``training=True`` or ``model.train()``) and return
their input unchanged otherwise, like ``Dropout``. Their base ``SpatialDropout``,
``SpatialDropout3D``, ``GaussianDropout`` and ``AlphaDropout`` are in ``noise.py``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.layers.layer import Layer
from lamina.layers.noise import SpatialDropout
from lamina.regularizers import L1L2


class SpatialDropout1D(SpatialDropout):
    """Dropout of whole channels: each ``(sample, channel)`` is kept or zeroed at every step.

    Kept values are scaled by ``1 / (1 - rate)``, so the expected output equals the input.

    Args:
        rate: Fraction of the channels to drop, in ``[0, 1)``.
        seed: Seed for a private generator, for reproducible dropout. Default: ``None``.

    Input shape:
        ``(batch, steps, channels)``.

    Output shape:
        Same as the input.

    Example:
        >>> out = SpatialDropout1D(0.5, seed=1)(torch.ones(1, 3, 4), training=True)
        >>> all(len(set(out[0, :, c].tolist())) == 1 for c in range(4))  # whole channels
        True
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed, "channels_last", **kwargs)


class SpatialDropout2D(SpatialDropout):
    """Dropout of whole feature maps: each ``(sample, channel)`` image is kept or zeroed.

    Kept values are scaled by ``1 / (1 - rate)``.

    Args:
        rate: Fraction of the channels to drop, in ``[0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        seed: Seed for a private generator. Default: ``None``.

    Input shape:
        ``(batch, height, width, channels)`` (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> layer = SpatialDropout2D(0.5)
        >>> layer(torch.ones(1, 2, 2, 3)).sum().item()  # inference: the identity
        12.0
    """

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed, data_format, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


class GaussianNoise(Layer):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` in training.

    Args:
        stddev: Standard deviation of the noise, in ``[0, 1]`` (Keras's bounds).
        seed: Seed for a private generator, for reproducible noise. Default: ``None``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> layer = GaussianNoise(0.1, seed=0)
        >>> layer(torch.zeros(3)).tolist(), bool(layer(torch.zeros(3), training=True).any())
        ([0.0, 0.0, 0.0], True)
    """

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs: Any) -> None:
        if not isinstance(stddev, (int, float)) or isinstance(stddev, bool):
            raise ArgumentTypeError("GaussianNoise: stddev must be a number in [0, 1], "
                                    f"received stddev={stddev!r}.")
        if not 0 <= stddev <= 1:
            raise ArgumentError("GaussianNoise: stddev must be a number in [0, 1], "
                                f"received stddev={stddev!r}.")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise ArgumentError(f"GaussianNoise: seed must be an int or None, "
                                f"received seed={seed!r}.")
        super().__init__(**kwargs)
        self.stddev, self.seed = float(stddev), seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self._build_at_init()

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.stddev == 0:
            return inputs
        noise = torch.randn(inputs.shape, generator=self._generator, dtype=inputs.dtype)
        return inputs + noise.to(inputs.device) * self.stddev

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class ActivityRegularization(Layer):
    """Returns its input and records Keras's activity penalty in ``layer.losses``.

    The penalty of a call is ``(l1 * sum(|x|) + l2 * sum(x ** 2)) / batch_size``: summed
    over the whole batch, then divided by its size as Keras does, so that its weight
    against the loss does not change with the batch size. It is recorded in every call
    (training or not), replacing the previous call's.

    Args:
        l1: The L1 factor, ``>= 0``. Default: ``0.0``.
        l2: The L2 factor, ``>= 0``. Default: ``0.0``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> layer = ActivityRegularization(l1=0.5)
        >>> _ = layer(torch.tensor([[1.0, -2.0], [3.0, 0.0]]))
        >>> [float(loss) for loss in layer.losses]  # 0.5 * 6 / 2
        [1.5]
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs: Any) -> None:
        for name, value in (("l1", l1), ("l2", l2)):
            if (not isinstance(value, (int, float)) or isinstance(value, bool)
                    or not math.isfinite(value) or value < 0):
                raise ArgumentError(f"ActivityRegularization: {name} must be a finite number "
                                    f">= 0, received {name}={value!r}.")
        super().__init__(**kwargs)
        self.l1, self.l2 = float(l1), float(l2)
        self._penalty = L1L2(l1=self.l1, l2=self.l2)
        self._build_at_init()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        penalty = self._penalty(inputs)
        if inputs.dim() > 0 and inputs.shape[0] > 0:
            penalty = penalty / inputs.shape[0]
        self.add_loss(penalty)
        return inputs

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}

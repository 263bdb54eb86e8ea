"""Noise that acts only in training: ``GaussianDropout``, ``AlphaDropout``, and the spatial
dropouts' base ``SpatialDropout`` with ``SpatialDropout3D``.

Each returns its input unchanged outside training (``training=True`` or ``model.train()``
turn it on), like ``Dropout``. ``seed=`` gives the layer a private generator, so that its
noise repeats from one run to the next; the values are lamina's, not those of Keras's
random streams. ``SpatialDropout1D``/``2D`` and ``GaussianNoise`` are in
``regularization.py``.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format

#: SELU's constants (Keras's ``AlphaDropout``): the negative saturation is ``-ALPHA * SCALE``.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


class _TrainingNoise(Layer):
    """A rate in ``[0, 1)``, a seed and its generator; the identity outside training."""

    supports_masking = True

    def __init__(self, rate: float, seed: int | None, **kwargs: Any) -> None:
        owner = type(self).__name__
        rate = arguments.number(rate, "rate", owner, minimum=0, below=1)
        seed = arguments.seed(seed, owner)
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def _keep(self, shape: Any, like: torch.Tensor) -> torch.Tensor:
        """A boolean mask of ``shape`` on ``like``'s device: true with probability
        ``1 - rate``."""
        return (torch.rand(tuple(shape), generator=self._generator) >= self.rate).to(
            like.device)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class GaussianDropout(_TrainingNoise):
    """Multiplies the inputs by Gaussian noise of mean 1 in training.

    The noise has standard deviation ``sqrt(rate / (1 - rate))``, that of ``Dropout``'s
    scaled mask at the same rate, so the expected output equals the input.

    Args:
        rate: The drop probability it imitates, in ``[0, 1)`` (Keras also accepts 1, whose
            noise is infinite).
        seed: Seed for a private generator, for reproducible noise. Default: ``None``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> layer = GaussianDropout(0.5, seed=1)
        >>> layer(torch.ones(3)).tolist(), bool((layer(torch.ones(3), training=True) != 1).all())
        ([1.0, 1.0, 1.0], True)
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(rate, seed, **kwargs)
        self._build_at_init()

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        noise = torch.randn(inputs.shape, generator=self._generator).to(inputs.device,
                                                                        inputs.dtype)
        return inputs * (noise * math.sqrt(self.rate / (1.0 - self.rate)) + 1.0)


class AlphaDropout(_TrainingNoise):
    """Dropout for self-normalising (SELU) networks: keeps the mean and the variance.

    In training, each value is kept with probability ``1 - rate`` or replaced by SELU's
    negative saturation ``-alpha * scale``; then ``a * x + b`` restores the mean and the
    variance (Keras's ``a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5`` and
    ``b = -a * alpha_p * rate``, with ``alpha_p = -alpha * scale``).

    Args:
        rate: Fraction of the inputs to drop, in ``[0, 1)``.
        noise_shape: Shape of the keep/drop mask (``None`` axes take the input's size), to
            drop whole feature maps or time steps. Default: ``None`` (independent per value).
        seed: Seed for a private generator, for reproducible dropout. Default: ``None``.

    Input shape:
        Any.

    Output shape:
        Same as the input.

    Example:
        >>> layer = AlphaDropout(0.2, seed=0)
        >>> layer(torch.zeros(2)).tolist(), tuple(layer(torch.zeros(4, 5), training=True).shape)
        ([0.0, 0.0], (4, 5))
    """

    def __init__(self, rate: float, noise_shape: Any = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        if noise_shape is not None and (not isinstance(noise_shape, (tuple, list)) or not all(
                d is None or (arguments.is_int(d) and d > 0) for d in noise_shape)):
            raise ArgumentTypeError(
                "AlphaDropout: noise_shape must be None or a tuple of positive ints and "
                f"Nones, received noise_shape={noise_shape!r}."
            )
        super().__init__(rate, seed, **kwargs)
        self.noise_shape = tuple(noise_shape) if noise_shape is not None else None
        self._build_at_init()

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(inputs.shape[i] if d is None else d
                          for i, d in enumerate(self.noise_shape))
        keep = self._keep(shape, inputs).to(inputs.dtype)
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * keep + alpha_p * (1 - keep)) + b

    def get_config(self) -> dict[str, Any]:
        noise = list(self.noise_shape) if self.noise_shape is not None else None
        return {**super().get_config(), "noise_shape": noise}


class SpatialDropout(_TrainingNoise):
    """Dropout of whole channels, the base of ``SpatialDropout1D``/``2D``/``3D``.

    Each ``(sample, channel)`` is kept, scaled by ``1 / (1 - rate)``, or zeroed at every
    position of the ``rank`` spatial axes. Subclasses set ``rank``.
    """

    rank = 1

    def __init__(self, rate: float, seed: int | None = None, data_format: str | None = None,
                 **kwargs: Any) -> None:
        data_format = check_data_format(data_format, type(self).__name__)
        super().__init__(rate, seed, **kwargs)
        self.data_format = data_format
        self._mask_axes = (0, self.rank + 1) if data_format == "channels_last" else (0, 1)
        self._build_at_init()

    def call(self, inputs: torch.Tensor, training: bool = False) -> torch.Tensor:
        if not training or self.rate == 0:
            return inputs
        if inputs.dim() != self.rank + 2:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of rank "
                             f"{self.rank + 2}, received shape {tuple(inputs.shape)}.")
        shape = [d if axis in self._mask_axes else 1 for axis, d in enumerate(inputs.shape)]
        keep = self._keep(shape, inputs)
        return inputs * (keep.to(inputs.dtype) / (1.0 - self.rate))

    def get_config(self) -> dict[str, Any]:
        """Keras's keys: no ``trainable`` (Keras's spatial dropouts do not take one)."""
        config = super().get_config()
        config.pop("trainable", None)
        return config


class SpatialDropout3D(SpatialDropout):
    """Dropout of whole volumes: each ``(sample, channel)`` volume is kept or zeroed.

    Kept values are scaled by ``1 / (1 - rate)``.

    Args:
        rate: Fraction of the channels to drop, in ``[0, 1)``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default:
            ``"channels_last"``.
        seed: Seed for a private generator. Default: ``None``.

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels_last).

    Output shape:
        Same as the input.

    Example:
        >>> out = SpatialDropout3D(0.5, seed=2)(torch.ones(1, 2, 2, 2, 3), training=True)
        >>> sorted({round(v, 1) for v in out.flatten().tolist()})  # whole channels, x2
        [0.0, 2.0]
    """

    rank = 3

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None,
                 **kwargs: Any) -> None:
        super().__init__(rate, seed, data_format, **kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}

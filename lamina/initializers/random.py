"""Random initializers: normal, truncated normal, uniform, variance scaling, orthogonal."""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.initializers.base import Initializer, compute_fans, real, seed_argument


class RandomInitializer(Initializer):
    """Base of the random initializers: the ``seed`` argument and config."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed_argument(seed, type(self).__name__)

    def _generator(self) -> torch.Generator | None:
        """A new generator per call for an integer seed (the same values every call)."""
        return None if self.seed is None else torch.Generator().manual_seed(self.seed)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """Samples of a normal distribution.

    Args:
        mean: Default: ``0.0``.
        stddev: Default: ``0.05``.
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.

    Example:
        >>> init = RandomNormal(stddev=1.0, seed=3)
        >>> torch.equal(init((2, 3)), init((2, 3)))
        True
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None
                 ) -> None:
        self.mean = real(mean, "mean", "RandomNormal")
        self.stddev = real(stddev, "stddev", "RandomNormal", 0.0)
        super().__init__(seed)

    def _fill(self, tensor: torch.Tensor) -> None:
        tensor.normal_(self.mean, self.stddev, generator=self._generator())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomInitializer):
    """Samples of a normal distribution, redrawn beyond two standard deviations of the mean.

    Args:
        mean: Default: ``0.0``.
        stddev: The standard deviation before truncation. Default: ``0.05``.
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None
                 ) -> None:
        self.mean = real(mean, "mean", "TruncatedNormal")
        self.stddev = real(stddev, "stddev", "TruncatedNormal", 0.0)
        super().__init__(seed)

    def _fill(self, tensor: torch.Tensor) -> None:
        _truncated_normal(tensor, self.mean, self.stddev, self._generator())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


def _truncated_normal(tensor: torch.Tensor, mean: float, stddev: float,
                      generator: torch.Generator | None) -> None:
    torch.nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev,
                                generator=generator)


class RandomUniform(RandomInitializer):
    """Samples of a uniform distribution on ``[minval, maxval)``.

    Args:
        minval: Default: ``-0.05``.
        maxval: Default: ``0.05``.
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None
                 ) -> None:
        self.minval = real(minval, "minval", "RandomUniform")
        self.maxval = real(maxval, "maxval", "RandomUniform", self.minval)
        super().__init__(seed)

    def _fill(self, tensor: torch.Tensor) -> None:
        tensor.uniform_(self.minval, self.maxval, generator=self._generator())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


_MODES = ("fan_in", "fan_out", "fan_avg")
_DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


class VarianceScaling(RandomInitializer):
    """Samples whose variance is ``scale / n``, ``n`` the weight's fan (Keras's definition).

    ``"truncated_normal"`` draws with ``stddev = sqrt(scale / n) / 0.8796...`` truncated at
    two standard deviations (so the variance after truncation is ``scale / n``);
    ``"untruncated_normal"`` with ``stddev = sqrt(scale / n)``; ``"uniform"`` within
    ``[-limit, limit]``, ``limit = sqrt(3 * scale / n)``.

    Args:
        scale: A positive number. Default: ``1.0``.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``. Default: ``"fan_in"``.
        distribution: ``"truncated_normal"`` (also ``"normal"``), ``"untruncated_normal"``
            or ``"uniform"``. Default: ``"truncated_normal"``.
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
        input_axes, output_axes: The axes whose sizes multiply to the fans (both, or
            neither for the ``(..., in, out)`` layout). Default: ``None``.
    """

    def __init__(self, scale: float = 1.0, mode: str = "fan_in",
                 distribution: str = "truncated_normal", seed: int | None = None,
                 input_axes: Any = None, output_axes: Any = None) -> None:
        owner = type(self).__name__
        scale = real(scale, "scale", owner)
        if scale <= 0:
            raise ArgumentError(f"{owner}: scale must be positive. Received: scale={scale!r}")
        if mode not in _MODES:
            raise ArgumentError(f"{owner}: mode must be one of {_MODES}. Received: mode={mode!r}")
        if isinstance(distribution, str) and distribution.lower() == "normal":
            distribution = "truncated_normal"
        if not isinstance(distribution, str) or distribution.lower() not in _DISTRIBUTIONS:
            raise ArgumentError(f"{owner}: distribution must be one of {_DISTRIBUTIONS}. "
                                f"Received: distribution={distribution!r}")
        self.scale, self.mode, self.distribution = scale, mode, distribution.lower()
        for name, axes in (("input_axes", input_axes), ("output_axes", output_axes)):
            if axes is not None and not (isinstance(axes, (list, tuple)) and all(
                    isinstance(a, int) and not isinstance(a, bool) for a in axes)):
                raise ArgumentError(f"{owner}: {name} must be a list of ints or None. "
                                    f"Received: {name}={axes!r}")
        self.input_axes = None if input_axes is None else list(input_axes)
        self.output_axes = None if output_axes is None else list(output_axes)
        super().__init__(seed)

    def _fill(self, tensor: torch.Tensor) -> None:
        fan_in, fan_out = compute_fans(tuple(tensor.shape), self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}
        variance = self.scale / max(1.0, fan[self.mode])
        generator = self._generator()
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            tensor.uniform_(-limit, limit, generator=generator)
        elif self.distribution == "untruncated_normal":
            tensor.normal_(0.0, math.sqrt(variance), generator=generator)
        else:
            # The standard deviation of a unit normal truncated to [-2, 2] is 0.8796...
            _truncated_normal(tensor, 0.0, math.sqrt(variance) / 0.87962566103423978, generator)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling with fixed arguments: only the seed is an argument and config."""

    _arguments: tuple[float, str, str]

    def __init__(self, seed: int | None = None, input_axes: Any = None,
                 output_axes: Any = None) -> None:
        super().__init__(*self._arguments, seed=seed, input_axes=input_axes,
                         output_axes=output_axes)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed, "input_axes": self.input_axes,
                "output_axes": self.output_axes}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal of variance ``2 / (fan_in + fan_out)``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / fan_in)``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (2.0, "fan_in", "uniform")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal of variance ``2 / fan_in``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(3 / fan_in)``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (1.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal of variance ``1 / fan_in``.

    Args:
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.
    """

    _arguments = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """``gain`` times a random orthogonal matrix (QR of a normal sample, signs fixed).

    A weight of more than two axes is the matrix ``(prod(shape[:-1]), shape[-1])``
    reshaped. A wide matrix has orthonormal rows, a tall one orthonormal columns.

    Args:
        gain: Default: ``1.0``.
        seed: An integer for the same values at every call, or ``None``. Default: ``None``.

    Example:
        >>> w = Orthogonal(gain=2.0, seed=1)((3, 3))
        >>> torch.allclose(w @ w.T, 4 * torch.eye(3), atol=1e-5)
        True
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        self.gain = real(gain, "gain", "Orthogonal")
        super().__init__(seed)

    def _fill(self, tensor: torch.Tensor) -> None:
        if tensor.dim() < 2:
            raise ArgumentError("Orthogonal: the tensor to initialize must be at least "
                                f"two-dimensional. Received: shape={tuple(tensor.shape)} of "
                                f"rank {tensor.dim()}.")
        if tensor.numel() == 0:
            return
        rows, cols = math.prod(tensor.shape[:-1]), tensor.shape[-1]
        sample = torch.empty((rows, cols), dtype=tensor.dtype).normal_(
            0.0, 1.0, generator=self._generator())
        if rows < cols:
            sample = sample.T
        q, r = torch.linalg.qr(sample)
        q *= torch.diagonal(r).sign()
        if rows < cols:
            q = q.T
        tensor.copy_(q.reshape(tensor.shape))
        tensor.mul_(self.gain)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gain": self.gain}

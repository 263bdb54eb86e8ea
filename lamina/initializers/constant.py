"""Initializers without randomness: ``Constant``, ``Zeros``, ``Ones``, ``Identity``."""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.initializers.base import Initializer, real


class Constant(Initializer):
    """Every value ``value``.

    Args:
        value: A Python number. Default: ``0.0``.

    Example:
        >>> Constant(2.5)((2, 2)).tolist()
        [[2.5, 2.5], [2.5, 2.5]]
    """

    def __init__(self, value: float = 0.0) -> None:
        self.value = real(value, "value", "Constant")

    def _fill(self, tensor: torch.Tensor) -> None:
        tensor.fill_(self.value)

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class Zeros(Initializer):
    """Every value ``0``."""

    def _fill(self, tensor: torch.Tensor) -> None:
        tensor.zero_()


class Ones(Initializer):
    """Every value ``1``."""

    def _fill(self, tensor: torch.Tensor) -> None:
        tensor.fill_(1)


class Identity(Initializer):
    """``gain`` times the identity matrix (2-D weights only; a rectangle's main diagonal).

    Args:
        gain: Default: ``1.0``.
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = real(gain, "gain", "Identity")

    def _fill(self, tensor: torch.Tensor) -> None:
        if tensor.dim() != 2:
            raise ArgumentError("Identity matrix initializer can only be used for 2D matrices. "
                                f"Received: shape={tuple(tensor.shape)} of rank {tensor.dim()}.")
        torch.nn.init.eye_(tensor)
        tensor.mul_(self.gain)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain}

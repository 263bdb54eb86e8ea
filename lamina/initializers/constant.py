"""Initializers without randomness: ``Constant``, ``Zeros``, ``Ones``, ``Identity``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError
from lamina.initializers.base import Initializer, real


class Constant(Initializer):
    """Every value ``value``.

    Args:
        value: A Python number, or an array broadcast to the weight's shape (as Keras's
            code does). Default: ``0.0``.

    Example:
        >>> Constant(2.5)((2, 2)).tolist()
        [[2.5, 2.5], [2.5, 2.5]]
    """

    def __init__(self, value: Any = 0.0) -> None:
        if isinstance(value, (list, tuple, np.ndarray, torch.Tensor)):
            # Keras's code broadcasts an array value to the weight's shape (its docs say
            # scalar; programs pass identity matrices as bias initialisers).
            array = np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor)
                               else value, dtype=np.float64)
            if not np.isfinite(array).all():
                raise ArgumentError("Constant: every value must be finite. Received: "
                                    f"value={value!r}.")
            self.value: Any = array.tolist()
        else:
            self.value = real(value, "value", "Constant")

    def _fill(self, tensor: torch.Tensor) -> None:
        if isinstance(self.value, list):
            values = torch.tensor(self.value, dtype=tensor.dtype)
            try:
                tensor.copy_(torch.broadcast_to(values, tensor.shape))
            except RuntimeError:
                raise ArgumentError(
                    f"Constant: a value of shape {tuple(values.shape)} does not broadcast to "
                    f"the weight's shape {tuple(tensor.shape)}.") from None
            return
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

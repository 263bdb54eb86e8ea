"""``lamina.Variable``: a trainable value, i.e. a ``torch.nn.Parameter`` with a Keras name."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.utils.shapes import standardize_dtype


class Variable(nn.Parameter):
    """A Parameter made from any value, like ``keras.Variable`` / ``tf.Variable``.

    A Variable captured by a ``Lambda`` function is tracked as that layer's weight, so it
    is trained and saved (the Keras docs' warning about ``tf.Variable`` does not apply).

    Args:
        initial_value: A number, nested list, numpy array or tensor.
        trainable: Whether optimizers update it (``requires_grad``). Default: ``True``.
        name: A name for messages and summaries. Default: ``"variable"``.
        dtype: Default: ``"float32"`` for floating values, else the value's own dtype.

    Example:
        >>> scale = Variable(1.0)
        >>> (scale * 3).item(), scale.requires_grad
        (3.0, True)
    """

    def __new__(cls, initial_value: Any, trainable: bool = True, name: str | None = None,
                dtype: Any = None) -> Variable:
        value = torch.as_tensor(initial_value)
        if dtype is not None:
            value = value.to(standardize_dtype(dtype))
        elif value.is_floating_point():
            value = value.to(torch.float32)
        variable = super().__new__(cls, value.clone(), requires_grad=bool(trainable))
        variable.variable_name = name or "variable"
        return variable

    def __deepcopy__(self, memo: dict) -> Variable:
        if id(self) in memo:
            return memo[id(self)]
        copy = type(self)(self.data.clone(), trainable=self.requires_grad,
                          name=self.variable_name)
        memo[id(self)] = copy
        return copy

    def __repr__(self) -> str:
        return f"Variable({self.variable_name!r}, {self.data.tolist()!r})"

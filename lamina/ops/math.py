"""Elementwise arithmetic and math functions.

The binary ops are what the operators of symbolic tensors call (``a + b`` becomes
``add(a, b)``); they accept tensors, Python scalars and numpy arrays in either position,
with torch's broadcasting and type promotion.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor, binary, binary_tensors

_NUMBERS = (int, float)


@symbolic_op
def add(x: Any, y: Any) -> torch.Tensor:
    """``x + y``."""
    x, y = binary(x, y)
    return x + y


@symbolic_op
def subtract(x: Any, y: Any) -> torch.Tensor:
    """``x - y``."""
    x, y = binary(x, y)
    return x - y


@symbolic_op
def multiply(x: Any, y: Any) -> torch.Tensor:
    """``x * y``."""
    x, y = binary(x, y)
    return x * y


@symbolic_op
def divide(x: Any, y: Any) -> torch.Tensor:
    """True division ``x / y`` (integers divide to floats)."""
    x, y = binary(x, y)
    return x / y


@symbolic_op
def floor_divide(x: Any, y: Any) -> torch.Tensor:
    """Floor division ``x // y``, rounding towards minus infinity like Python."""
    x, y = binary(x, y)
    return x // y


@symbolic_op
def mod(x: Any, y: Any) -> torch.Tensor:
    """Remainder ``x % y`` with the sign of ``y``, like Python and numpy.

    Example:
        >>> mod(torch.tensor([7, -7]), 3).tolist()
        [1, 2]
    """
    x, y = binary(x, y)
    return x % y


@symbolic_op
def power(x: Any, y: Any) -> torch.Tensor:
    """``x ** y`` elementwise, both operands broadcast."""
    x, y = binary(x, y)
    return x**y


@symbolic_op
def pow(x: Any, a: Any) -> torch.Tensor:
    """Keras-2 ``K.pow``: ``x`` raised to the power ``a`` (the same as :func:`power`)."""
    x, a = binary(x, a)
    return x**a


@symbolic_op
def negative(x: Any) -> torch.Tensor:
    """``-x``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.neg(x)


@symbolic_op
def square(x: Any) -> torch.Tensor:
    """``x ** 2``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.square(x)


@symbolic_op
def sqrt(x: Any) -> torch.Tensor:
    """Square root."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sqrt(x)


@symbolic_op
def exp(x: Any) -> torch.Tensor:
    """``e ** x``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.exp(x)


@symbolic_op
def log(x: Any) -> torch.Tensor:
    """Natural logarithm."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.log(x)


@symbolic_op
def abs(x: Any) -> torch.Tensor:
    """Absolute value."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.abs(x)


@symbolic_op
def sign(x: Any) -> torch.Tensor:
    """-1, 0 or 1 by the sign of each element."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sign(x)


@symbolic_op
def round(x: Any) -> torch.Tensor:
    """Round to the nearest integer, halves to even (as Keras and numpy do).

    Example:
        >>> round(torch.tensor([0.5, 1.5, 2.5, -0.5])).tolist()
        [0.0, 2.0, 2.0, -0.0]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.round(x)


@symbolic_op
def floor(x: Any) -> torch.Tensor:
    """Largest integer not above each element."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.floor(x)


@symbolic_op
def ceil(x: Any) -> torch.Tensor:
    """Smallest integer not below each element."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.ceil(x)


@symbolic_op
def cos(x: Any) -> torch.Tensor:
    """Cosine."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.cos(x)


@symbolic_op
def sin(x: Any) -> torch.Tensor:
    """Sine."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sin(x)


@symbolic_op
def clip(x: Any, min_value: Any = None, max_value: Any = None) -> torch.Tensor:
    """Limit values to ``[min_value, max_value]``; either bound may be ``None``.

    As in Keras, a ``max_value`` below ``min_value`` is raised to ``min_value`` (torch's
    ``clamp`` would give ``max_value`` everywhere).

    Example:
        >>> clip(torch.tensor([-3.0, 0.5, 4.0]), -1.0, 2.0).tolist()
        [-1.0, 0.5, 2.0]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if min_value is None and max_value is None:
        return x.clone()
    if (min_value is None or isinstance(min_value, _NUMBERS)) and (
        max_value is None or isinstance(max_value, _NUMBERS)
    ):
        if min_value is not None and max_value is not None and max_value < min_value:
            max_value = min_value
        return torch.clamp(x, min_value, max_value)
    # torch.clamp takes numbers or tensors as bounds, never one of each.
    return torch.clamp(x, _tensor_bound(min_value, x), _tensor_bound(max_value, x))


def _tensor_bound(bound: Any, x: torch.Tensor) -> torch.Tensor | None:
    if bound is None or isinstance(bound, torch.Tensor):
        return bound
    dtype = torch.result_type(x, bound) if isinstance(bound, _NUMBERS) else None
    return torch.as_tensor(bound, dtype=dtype, device=x.device)


@symbolic_op
def maximum(x: Any, y: Any) -> torch.Tensor:
    """Elementwise maximum of ``x`` and ``y`` (broadcasting)."""
    x, y = binary_tensors(x, y)
    return torch.maximum(x, y)


@symbolic_op
def minimum(x: Any, y: Any) -> torch.Tensor:
    """Elementwise minimum of ``x`` and ``y`` (broadcasting)."""
    x, y = binary_tensors(x, y)
    return torch.minimum(x, y)


@symbolic_op
def equal(x: Any, y: Any) -> torch.Tensor:
    """``x == y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x == y


@symbolic_op
def not_equal(x: Any, y: Any) -> torch.Tensor:
    """``x != y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x != y


@symbolic_op
def greater(x: Any, y: Any) -> torch.Tensor:
    """``x > y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x > y


@symbolic_op
def greater_equal(x: Any, y: Any) -> torch.Tensor:
    """``x >= y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x >= y


@symbolic_op
def less(x: Any, y: Any) -> torch.Tensor:
    """``x < y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x < y


@symbolic_op
def less_equal(x: Any, y: Any) -> torch.Tensor:
    """``x <= y`` elementwise, as a bool tensor."""
    x, y = binary(x, y)
    return x <= y


@symbolic_op
def logical_and(x: Any, y: Any) -> torch.Tensor:
    """Elementwise AND of the truth values of ``x`` and ``y``."""
    x, y = binary_tensors(x, y)
    return torch.logical_and(x, y)


@symbolic_op
def logical_or(x: Any, y: Any) -> torch.Tensor:
    """Elementwise OR of the truth values of ``x`` and ``y``."""
    x, y = binary_tensors(x, y)
    return torch.logical_or(x, y)


@symbolic_op
def logical_xor(x: Any, y: Any) -> torch.Tensor:
    """Elementwise exclusive OR of the truth values of ``x`` and ``y``."""
    x, y = binary_tensors(x, y)
    return torch.logical_xor(x, y)


@symbolic_op
def logical_not(x: Any) -> torch.Tensor:
    """Elementwise NOT of the truth value of ``x``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.logical_not(x)

"""Keras's dtype rules for the ops that compute in floating point, shared by their modules.

Keras gives float results for integer or boolean inputs of functions such as ``log1p``,
``arctan2`` or ``median``: ``floatx`` (float32 by default), while float inputs keep
their own dtype.
Helpers of the op modules, not ops themselves (``lamina.ops`` does not export them).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.core import floatx
from lamina.ops.operands import as_tensor, binary_tensors, torch_dtype

#: Keras's index dtype: positions returned by ``argsort``, ``nonzero``, ``searchsorted``...
INDEX_DTYPE = torch.int32


def tensor(x: Any) -> torch.Tensor:
    """``x`` as a tensor, by the rule of ``operands.py``."""
    return x if isinstance(x, torch.Tensor) else as_tensor(x)


def inexact(x: Any) -> torch.Tensor:
    """``x`` as a float (or complex) tensor: integers and booleans become ``floatx``."""
    x = tensor(x)
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(torch_dtype(floatx()))


def inexact_pair(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two operands promoted together, then made float as :func:`inexact` does."""
    x, y = binary_tensors(x, y)
    dtype = torch.promote_types(x.dtype, y.dtype)
    if not (dtype.is_floating_point or dtype.is_complex):
        dtype = torch_dtype(floatx())
    return x.to(dtype), y.to(dtype)


def promoted_pair(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two operands as tensors of their common dtype (scalars weakly typed)."""
    x, y = binary_tensors(x, y)
    dtype = torch.promote_types(x.dtype, y.dtype)
    return x.to(dtype), y.to(dtype)


def axes_tuple(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (``None``, an int or a sequence) as a tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else 0 for a in axis)

"""Reductions, scans and sorting with Keras ``axis``/``keepdims`` semantics.

``axis`` is an int (negative counts from the end), a tuple or list of ints, or ``None``
for all axes. Mean, variance, standard deviation and norms of integer or bool tensors are
computed in float32, as Keras does, because torch refuses them.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor

Axis = int | tuple[int, ...] | list[int] | None


def _inexact(x: Any) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(torch.float32)


@symbolic_op
def mean(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Mean over ``axis``.

    Example:
        >>> mean(torch.tensor([[1, 2], [3, 6]]), axis=0).tolist()
        [2.0, 4.0]
    """
    return torch.mean(_inexact(x), dim=axis, keepdim=keepdims)


@symbolic_op
def sum(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Sum over ``axis``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sum(x, dim=axis, keepdim=keepdims)


@symbolic_op
def max(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Maximum over ``axis`` (ties share the gradient equally)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    # amax reads an empty dim tuple as "all axes"; it has no None.
    return torch.amax(x, dim=() if axis is None else axis, keepdim=keepdims)


@symbolic_op
def min(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Minimum over ``axis`` (ties share the gradient equally)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.amin(x, dim=() if axis is None else axis, keepdim=keepdims)


@symbolic_op
def prod(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Product over ``axis``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(axis, int):
        return torch.prod(x, dim=axis, keepdim=keepdims)
    if axis is None:
        out = torch.prod(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    # torch.prod takes one axis at a time; going from the highest keeps the rest in place.
    rank = x.ndim
    for dim in sorted((a + rank if a < 0 else a for a in axis), reverse=True):
        x = torch.prod(x, dim=dim, keepdim=keepdims)
    return x


@symbolic_op
def var(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Population variance (divides by N, as Keras does; torch defaults to N - 1)."""
    return torch.var(_inexact(x), dim=axis, correction=0, keepdim=keepdims)


@symbolic_op
def std(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Population standard deviation (divides by N, as Keras does)."""
    return torch.std(_inexact(x), dim=axis, correction=0, keepdim=keepdims)


@symbolic_op
def logsumexp(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """``log(sum(exp(x), axis))``, computed stably."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    dim = tuple(range(x.ndim)) if axis is None else axis
    return torch.logsumexp(x, dim=dim, keepdim=keepdims)


@symbolic_op
def norm(x: Any, ord: Any = None, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Vector or matrix norm, with numpy's ``ord`` and ``axis`` rules.

    With ``axis=None`` and ``ord=None`` it is the 2-norm of the flattened tensor; a 2-tuple
    ``axis`` gives a matrix norm (Frobenius by default).
    """
    return torch.linalg.norm(_inexact(x), ord=ord, dim=axis, keepdim=keepdims)


@symbolic_op
def any(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Whether any element along ``axis`` is true (non-zero)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.any(x, dim=axis, keepdim=keepdims)


@symbolic_op
def all(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Whether every element along ``axis`` is true (non-zero)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.all(x, dim=axis, keepdim=keepdims)


@symbolic_op
def argmax(x: Any, axis: int | None = -1, keepdims: bool = False) -> torch.Tensor:
    """Index of the maximum along ``axis`` (Keras-2 default: the last axis).

    ``axis=None`` gives the index into the flattened tensor.

    Example:
        >>> argmax(torch.tensor([[1, 9, 3], [7, 2, 5]])).tolist()
        [1, 0]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.argmax(x, dim=axis, keepdim=keepdims)


@symbolic_op
def argmin(x: Any, axis: int | None = -1, keepdims: bool = False) -> torch.Tensor:
    """Index of the minimum along ``axis`` (Keras-2 default: the last axis)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.argmin(x, dim=axis, keepdim=keepdims)


@symbolic_op
def cumsum(x: Any, axis: int = 0) -> torch.Tensor:
    """Cumulative sum along ``axis`` (Keras-2 default: the first axis)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.cumsum(x, dim=axis)


@symbolic_op
def cumprod(x: Any, axis: int = 0) -> torch.Tensor:
    """Cumulative product along ``axis`` (Keras-2 default: the first axis)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.cumprod(x, dim=axis)


@symbolic_op
def sort(x: Any, axis: int = -1) -> torch.Tensor:
    """The values of ``x`` sorted ascending along ``axis``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sort(x, dim=axis).values


@symbolic_op
def top_k(x: Any, k: int, sorted: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` largest values along the last axis and their indices, as ``(values, indices)``.

    Example:
        >>> values, indices = top_k(torch.tensor([4, 1, 7, 3]), 2)
        >>> values.tolist(), indices.tolist()
        ([7, 4], [2, 0])
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    values, indices = torch.topk(x, k, dim=-1, sorted=sorted)
    return values, indices

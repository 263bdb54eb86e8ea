"""Reading and writing parts of tensors: take, slices, scatters, diagonals, selections.

Indices may be negative (counted from the end, as in Keras); index outputs are int32.

Example:
    >>> import torch
    >>> take(torch.tensor([[1, 2], [3, 4]]), torch.tensor([1, -1]), axis=1).tolist()
    [[2, 2], [4, 4]]
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import INDEX_DTYPE, tensor


def _indices(indices: Any, size: int, device: torch.device) -> torch.Tensor:
    indices = torch.as_tensor(indices, device=device).long()
    return torch.where(indices < 0, indices + size, indices)


@symbolic_op
def take(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements of ``x`` at ``indices`` along ``axis`` (of the flattened ``x`` if ``None``);
    the indices' shape replaces that axis."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    axis %= x.ndim
    indices = _indices(indices, x.shape[axis], x.device)
    out = torch.index_select(x, axis, indices.reshape(-1))
    return out.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])


@symbolic_op
def take_along_axis(x: Any, indices: Any, axis: int | None = None) -> torch.Tensor:
    """Elements of ``x`` at ``indices`` matched along ``axis`` (``indices`` and ``x``
    broadcast on the other axes), as ``argsort``'s output picks sorted values."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    indices = _indices(indices, x.shape[axis], x.device)
    return torch.take_along_dim(x, indices, dim=axis)


@symbolic_op
def diag(x: Any, k: int = 0) -> torch.Tensor:
    """The ``k``-th diagonal of a matrix, or the matrix with a vector on its diagonal."""
    return torch.diag(tensor(x), k)


@symbolic_op
def diagflat(x: Any, k: int = 0) -> torch.Tensor:
    """A matrix with the flattened ``x`` on its ``k``-th diagonal."""
    return torch.diagflat(tensor(x), k)


@symbolic_op
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """The diagonal of the ``(axis1, axis2)`` planes, as the last axis."""
    return torch.diagonal(tensor(x), offset, axis1, axis2)


@symbolic_op
def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> torch.Tensor:
    """Sum of the diagonal of the ``(axis1, axis2)`` planes (small ints summed as int32)."""
    x = tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.int16,
                                       torch.uint8) else x.dtype
    return torch.sum(torch.diagonal(x, offset, axis1, axis2), dim=-1, dtype=dtype)


@symbolic_op
def size(x: Any) -> torch.Tensor:
    """The number of elements of ``x``, as a scalar int64 tensor."""
    return torch.tensor(tensor(x).numel())


@symbolic_op
def get_item(x: Any, key: Any) -> torch.Tensor:
    """``x[key]`` (Keras's name for indexing)."""
    return tensor(x)[key]


@symbolic_op
def slice(inputs: Any, start_indices: Sequence[int], shape: Sequence[int]) -> torch.Tensor:
    """The block of ``inputs`` of ``shape`` starting at ``start_indices``.

    Example:
        >>> slice(torch.arange(10).reshape(2, 5), (0, 1), (2, 2)).tolist()
        [[1, 2], [6, 7]]
    """
    out = tensor(inputs)
    for axis, (start, length) in enumerate(zip(start_indices, shape)):
        out = torch.narrow(out, axis, int(start), int(length))
    return out


@symbolic_op
def slice_update(inputs: Any, start_indices: Sequence[int], updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    out = tensor(inputs).clone()
    updates = tensor(updates)
    block = tuple(builtins.slice(int(s), int(s) + n)
                  for s, n in zip(start_indices, updates.shape))
    out[block] = updates.to(out.dtype)
    return out


def _index_tuple(indices: Any, device: torch.device) -> tuple[torch.Tensor, ...]:
    indices = torch.as_tensor(indices, device=device).long()
    return tuple(indices.reshape(-1, indices.shape[-1]).T)


@symbolic_op
def scatter(indices: Any, values: Any, shape: Sequence[int]) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates summed).

    ``indices`` has shape ``(..., k)``: each row addresses the first ``k`` axes.

    Example:
        >>> scatter(torch.tensor([[1], [3], [1]]), torch.tensor([1.0, 2.0, 3.0]), (4,)).tolist()
        [0.0, 4.0, 0.0, 2.0]
    """
    values = tensor(values)
    out = torch.zeros(tuple(shape), dtype=values.dtype, device=values.device)
    index = _index_tuple(indices, values.device)
    rows = index[0].shape[0]
    return out.index_put_(index, values.reshape((rows,) + out.shape[len(index):]),
                          accumulate=True)


@symbolic_op
def scatter_update(inputs: Any, indices: Any, updates: Any,
                   reduction: str | None = None) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at ``indices`` (rows of ``k`` indices
    into the first ``k`` axes); ``reduction`` ``"add"``, ``"max"``, ``"min"`` or ``"mul"``
    combines them with the old values instead of replacing them."""
    out = tensor(inputs).clone()
    index = _index_tuple(indices, out.device)
    updates = tensor(updates).to(out.dtype)
    if reduction is None:
        out[index] = updates
        return out
    if reduction == "add":
        return out.index_put_(index, updates, accumulate=True)
    combine = {"max": torch.maximum, "min": torch.minimum, "mul": torch.mul}.get(reduction)
    if combine is None:
        raise ValueError("reduction must be None, 'add', 'max', 'min' or 'mul'; "
                         f"received reduction={reduction!r}.")
    for row in range(index[0].shape[0]):
        at = tuple(i[row] for i in index)
        out[at] = combine(out[at], updates[row])
    return out


@symbolic_op
def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> torch.Tensor:
    """Where the first true condition of ``condlist`` holds, the matching choice; else
    ``default``.

    Example:
        >>> x = torch.arange(4)
        >>> select([x < 1, x > 2], [x, x * 10], default=-1).tolist()
        [0, -1, -1, 30]
    """
    out = tensor(default)
    for condition, choice in reversed(list(zip(condlist, choicelist))):
        out = torch.where(tensor(condition), tensor(choice), out)
    return out


@symbolic_op
def nonzero(x: Any) -> torch.Tensor:
    """The indices of the non-zero elements of ``x``: an int32 tensor of shape
    ``(x.ndim, count)`` whose rows index each axis (``x[tuple(nonzero(x))]`` picks them),
    as Keras's torch backend returns.

    Example:
        >>> nonzero(torch.tensor([[0, 1], [2, 0]])).tolist()
        [[0, 1], [1, 0]]
    """
    return torch.nonzero(tensor(x)).T.to(INDEX_DTYPE)


@symbolic_op
def unravel_index(indices: Any, shape: Sequence[int]) -> tuple[torch.Tensor, ...]:
    """Flat indices as a tuple of coordinate tensors into a tensor of ``shape`` (int32 for
    int64 indices, as Keras gives)."""
    indices = tensor(indices)
    dtype = INDEX_DTYPE if indices.dtype == torch.int64 else indices.dtype
    return tuple(i.to(dtype) for i in torch.unravel_index(indices, tuple(shape)))


@symbolic_op
def vander(x: Any, N: int | None = None, increasing: bool = False) -> torch.Tensor:
    """The Vandermonde matrix of the 1-D ``x``: columns ``x ** (N - 1)`` down to ``x ** 0``
    (or up, with ``increasing``)."""
    return torch.vander(tensor(x), N=N, increasing=increasing)

"""Sorting, searching, counting and grouping: argsort, unique, bincount, segments...

Positions are returned as int32 (Keras's index dtype).

Example:
    >>> import torch
    >>> argsort(torch.tensor([3.0, 1.0, 2.0])).tolist()
    [1, 2, 0]
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import INDEX_DTYPE, axes_tuple, inexact, tensor


@symbolic_op
def argsort(x: Any, axis: int | None = -1) -> torch.Tensor:
    """The indices that sort ``x`` along ``axis`` (the flattened ``x`` if ``None``); ties
    keep their order."""
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    return torch.argsort(x, dim=axis, stable=True).to(INDEX_DTYPE)


@symbolic_op
def argpartition(x: Any, kth: int, axis: int = -1) -> torch.Tensor:
    """Indices that put the ``kth`` smallest element in place along ``axis``, smaller ones
    before it and larger after (here: a full stable sort, which is one such order)."""
    return argsort(x, axis)


@symbolic_op
def searchsorted(sorted_sequence: Any, values: Any, side: str = "left") -> torch.Tensor:
    """Where ``values`` would go in the 1-D ``sorted_sequence`` to keep it sorted."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right'; received side={side!r}.")
    sequence, values = tensor(sorted_sequence), tensor(values)
    dtype = torch.promote_types(sequence.dtype, values.dtype)
    found = torch.searchsorted(sequence.to(dtype), values.to(dtype), side=side)
    return found.to(INDEX_DTYPE)


@symbolic_op
def digitize(x: Any, bins: Any) -> torch.Tensor:
    """The index ``i`` of the bin ``bins[i - 1] <= x < bins[i]`` of each element
    (increasing ``bins``).

    Example:
        >>> digitize(torch.tensor([0.5, 1.0, 2.5]), torch.tensor([1.0, 2.0])).tolist()
        [0, 1, 2]
    """
    x, bins = tensor(x), tensor(bins)
    dtype = torch.promote_types(x.dtype, bins.dtype)
    return torch.bucketize(x.to(dtype), bins.to(dtype), right=True).to(INDEX_DTYPE)


@symbolic_op
def bincount(x: Any, weights: Any = None, minlength: int = 0,
             sparse: bool = False) -> torch.Tensor:
    """How often each value ``0..max(x)`` occurs in the non-negative ints ``x`` (summed
    ``weights`` instead of counts, if given); a 2-D ``x`` is counted row by row."""
    if sparse:
        raise ValueError("bincount(sparse=True) is not supported: lamina has no sparse "
                         "tensors. Pass sparse=False.")
    x = tensor(x)
    w = None if weights is None else tensor(weights)
    length = builtins.max(minlength, int(x.max()) + 1 if x.numel() else 0)
    if x.ndim == 1:
        out = torch.bincount(x, weights=w, minlength=length)
    else:
        out = torch.stack([torch.bincount(row, weights=None if w is None else w[i],
                                          minlength=length) for i, row in enumerate(x)])
    if w is None:
        return out.to(INDEX_DTYPE)
    return out.to(torch.promote_types(x.dtype, w.dtype))


@symbolic_op
def count_nonzero(x: Any, axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """How many elements along ``axis`` are not zero, as int32."""
    x = tensor(x)
    return torch.count_nonzero(x, dim=axes_tuple(axis, x.ndim)).to(INDEX_DTYPE)


@symbolic_op
def unique(x: Any, sorted: bool = True, return_index: bool = False,
           return_inverse: bool = False, return_counts: bool = False,
           axis: int | None = None, size: int | None = None,
           fill_value: Any = None) -> Any:
    """The distinct values of ``x`` (of the flattened ``x``, or the distinct slices along
    ``axis``), with, on request, the index of each one's first occurrence, the inverse
    indices that rebuild ``x`` and the counts. ``size`` pads (with ``fill_value``, default 0)
    or truncates the result to that length.

    Example:
        >>> unique(torch.tensor([3, 1, 3, 2])).tolist()
        [1, 2, 3]
    """
    x = tensor(x)
    values, inverse, counts = torch.unique(x, sorted=True, return_inverse=True,
                                           return_counts=True, dim=axis)
    dim = 0 if axis is None else axis % x.ndim
    first = None
    if return_index:
        positions = torch.arange(inverse.numel(), device=x.device)
        first = torch.full((values.shape[dim],), inverse.numel(), device=x.device)
        first = first.scatter_reduce(0, inverse.reshape(-1), positions, reduce="amin")
    if size is not None:
        values = _resized(values, size, dim, 0 if fill_value is None else fill_value)
        counts = _resized(counts, size, 0, 0)
        first = None if first is None else _resized(first, size, 0, 0)
    extra = [t for t, wanted in ((first, return_index), (inverse, return_inverse),
                                 (counts, return_counts)) if wanted]
    return (values, *extra) if extra else values


def _resized(values: torch.Tensor, size: int, dim: int, fill: Any) -> torch.Tensor:
    have = values.shape[dim]
    if have >= size:
        return torch.narrow(values, dim, 0, size)
    shape = list(values.shape)
    shape[dim] = size - have
    padding = torch.full(shape, fill, dtype=values.dtype, device=values.device)
    return torch.cat([values, padding], dim=dim)


@symbolic_op
def isin(x1: Any, x2: Any, assume_unique: bool = False, invert: bool = False) -> torch.Tensor:
    """Where the elements of ``x1`` occur in ``x2`` (or do not, with ``invert``)."""
    x1, x2 = tensor(x1), tensor(x2)
    dtype = torch.promote_types(x1.dtype, x2.dtype)
    return torch.isin(x1.to(dtype), x2.to(dtype), assume_unique=assume_unique, invert=invert)


@symbolic_op
def histogram(x: Any, bins: int = 10,
              range: tuple[float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Counts of the 1-D ``x`` in ``bins`` equal bins over ``range`` (default: its min to
    max) as floats, and the ``bins + 1`` bin edges."""
    x = inexact(x)
    low, high = (x.min().item(), x.max().item()) if range is None else range
    counts = torch.histc(x, bins=bins, min=low, max=high)
    edges = torch.linspace(low, high, bins + 1, dtype=x.dtype, device=x.device)
    return counts, edges


@symbolic_op
def in_top_k(targets: Any, predictions: Any, k: int) -> torch.Tensor:
    """Whether each row's target class is among its ``k`` largest predictions (a target
    tied with the k-th value counts as in)."""
    predictions = tensor(predictions)
    targets = tensor(targets).long()
    target_score = torch.gather(predictions, 1, targets[:, None])
    better = (predictions > target_score).sum(dim=1)
    return (better < k) & torch.isfinite(target_score[:, 0])


def _segments(data: Any, segment_ids: Any, num_segments: int | None,
              reduce: str, empty: float) -> torch.Tensor:
    data, ids = tensor(data), tensor(segment_ids).long()
    count = int(ids.max()) + 1 if num_segments is None else num_segments
    keep = (ids >= 0) & (ids < count)
    data, ids = data[keep], ids[keep]
    out = torch.full((count,) + data.shape[1:], empty, dtype=data.dtype, device=data.device)
    index = ids.reshape((-1,) + (1,) * (data.ndim - 1)).expand_as(data)
    return out.scatter_reduce(0, index, data, reduce=reduce, include_self=False)


@symbolic_op
def segment_sum(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> torch.Tensor:
    """Sums of the rows of ``data`` that share a segment id (0 for empty segments)."""
    return _segments(data, segment_ids, num_segments, "sum", 0)


@symbolic_op
def segment_prod(data: Any, segment_ids: Any, num_segments: int | None = None,
                 sorted: bool = False) -> torch.Tensor:
    """Products of the rows of ``data`` that share a segment id (1 for empty segments)."""
    return _segments(data, segment_ids, num_segments, "prod", 1)


@symbolic_op
def segment_max(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> torch.Tensor:
    """Maxima of the rows of ``data`` that share a segment id (``-inf`` for empty segments,
    or an integer dtype's lowest value)."""
    data = tensor(data)
    low = -torch.inf if data.is_floating_point() else torch.iinfo(
        data.dtype).min
    return _segments(data, segment_ids, num_segments, "amax", low)


@symbolic_op
def segment_min(data: Any, segment_ids: Any, num_segments: int | None = None,
                sorted: bool = False) -> torch.Tensor:
    """Minima of the rows of ``data`` that share a segment id (``inf`` for empty segments,
    or an integer dtype's highest value)."""
    data = tensor(data)
    high = torch.inf if data.is_floating_point() else torch.iinfo(
        data.dtype).max
    return _segments(data, segment_ids, num_segments, "amin", high)

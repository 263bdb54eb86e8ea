"""Order statistics and NaN-ignoring reductions: median, quantiles, ``nan*``, ``ptp``.

``axis`` is ``None`` (every axis), an int or a sequence; results of order statistics of
integer inputs are float32, as in Keras.

Example:
    >>> import torch
    >>> median(torch.tensor([[1, 4], [2, 3]]), axis=0).tolist()
    [1.5, 3.5]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import torch_dtype
from lamina.ops.promotion import INDEX_DTYPE, axes_tuple, inexact, tensor

Axis = int | Sequence[int] | None
_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _reduce(fn: Any, x: torch.Tensor, axis: Axis, keepdims: bool) -> torch.Tensor:
    if x.ndim == 0:
        return fn(x)
    axes = axes_tuple(axis, x.ndim)
    out = fn(x, dim=axes, keepdim=keepdims)
    return out


@symbolic_op
def amax(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The largest element along ``axis``."""
    return _reduce(torch.amax, tensor(x), axis, keepdims)


@symbolic_op
def amin(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The smallest element along ``axis``."""
    return _reduce(torch.amin, tensor(x), axis, keepdims)


@symbolic_op
def ptp(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """Peak to peak: ``amax - amin`` along ``axis``."""
    x = tensor(x)
    return _reduce(torch.amax, x, axis, keepdims) - _reduce(torch.amin, x, axis, keepdims)


def _quantile(x: Any, q: Any, axis: Axis, method: str, keepdims: bool,
              nan: bool) -> torch.Tensor:
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}; received method={method!r}.")
    x = inexact(x)
    q = torch.as_tensor(q, dtype=x.dtype, device=x.device)
    axes = axes_tuple(axis, x.ndim)
    kept = [a for a in range(x.ndim) if a not in axes]
    flat = x.permute(*kept, *axes).reshape([x.shape[a] for a in kept] + [-1])
    compute = torch.nanquantile if nan else torch.quantile
    out = compute(flat, q, dim=-1, interpolation=method)
    if keepdims:
        shape = [1 if a in axes else x.shape[a] for a in range(x.ndim)]
        out = out.reshape(tuple(q.shape) + tuple(shape))
    return out


@symbolic_op
def quantile(x: Any, q: Any, axis: Axis = None, method: str = "linear",
             keepdims: bool = False) -> torch.Tensor:
    """The ``q``-th quantiles (``q`` in ``[0, 1]``, a number or a 1-D tensor placed first
    in the output) along ``axis``; ``method`` is how values between two elements are read."""
    return _quantile(x, q, axis, method, keepdims, nan=False)


@symbolic_op
def percentile(x: Any, q: Any, axis: Axis = None, method: str = "linear",
               keepdims: bool = False) -> torch.Tensor:
    """:func:`quantile` with ``q`` in percent (``[0, 100]``)."""
    return _quantile(x, torch.as_tensor(q) / 100, axis, method, keepdims, nan=False)


@symbolic_op
def median(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The median along ``axis`` (the mean of the two middle values for even counts)."""
    return _quantile(x, 0.5, axis, "linear", keepdims, nan=False)


@symbolic_op
def nanquantile(x: Any, q: Any, axis: Axis = None, method: str = "linear",
                keepdims: bool = False) -> torch.Tensor:
    """:func:`quantile` ignoring NaN."""
    return _quantile(x, q, axis, method, keepdims, nan=True)


@symbolic_op
def nanpercentile(x: Any, q: Any, axis: Axis = None, method: str = "linear",
                  keepdims: bool = False) -> torch.Tensor:
    """:func:`percentile` ignoring NaN."""
    return _quantile(x, torch.as_tensor(q) / 100, axis, method, keepdims, nan=True)


@symbolic_op
def nanmedian(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """:func:`median` ignoring NaN."""
    return _quantile(x, 0.5, axis, "linear", keepdims, nan=True)


def _filled(x: torch.Tensor, value: float) -> torch.Tensor:
    if not x.is_floating_point():
        return x
    return torch.where(torch.isnan(x), torch.as_tensor(value, dtype=x.dtype), x)


@symbolic_op
def nansum(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The sum along ``axis``, NaN counted as 0."""
    x = tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.int16,
                                       torch.uint8) else x.dtype
    out = _filled(x, 0.0)
    if out.ndim == 0:
        return out.to(dtype)
    return torch.sum(out, dim=axes_tuple(axis, x.ndim), keepdim=keepdims, dtype=dtype)


@symbolic_op
def nanprod(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The product along ``axis``, NaN counted as 1."""
    x = tensor(x)
    dtype = torch.int32 if x.dtype in (torch.bool, torch.int8, torch.int16,
                                       torch.uint8) else x.dtype
    out = _filled(x, 1.0)
    for a in sorted(axes_tuple(axis, x.ndim), reverse=True):
        out = torch.prod(out, dim=a, keepdim=keepdims, dtype=dtype)
    return out.to(dtype)


@symbolic_op
def nanmean(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The mean along ``axis`` of the values that are not NaN."""
    x = inexact(x)
    return _reduce(torch.nanmean, x, axis, keepdims) if x.ndim else torch.nanmean(x)


@symbolic_op
def nanvar(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The variance (no Bessel correction) along ``axis`` of the values that are not NaN."""
    x = inexact(x)
    mean = nanmean(x, axis, keepdims=True)
    squares = torch.where(torch.isnan(x), torch.nan, (x - mean) ** 2)
    return nanmean(squares, axis, keepdims)


@symbolic_op
def nanstd(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The square root of :func:`nanvar`."""
    return torch.sqrt(nanvar(x, axis, keepdims))


@symbolic_op
def nanmax(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The largest value along ``axis``, ignoring NaN (NaN where all are NaN)."""
    x = tensor(x)
    out = _reduce(torch.amax, _filled(x, -torch.inf), axis, keepdims)
    if x.is_floating_point():
        out = torch.where(_reduce(torch.all, torch.isnan(x), axis, keepdims), torch.nan, out)
    return out


@symbolic_op
def nanmin(x: Any, axis: Axis = None, keepdims: bool = False) -> torch.Tensor:
    """The smallest value along ``axis``, ignoring NaN (NaN where all are NaN)."""
    x = tensor(x)
    out = _reduce(torch.amin, _filled(x, torch.inf), axis, keepdims)
    if x.is_floating_point():
        out = torch.where(_reduce(torch.all, torch.isnan(x), axis, keepdims), torch.nan, out)
    return out


def _nan_arg(x: Any, axis: int | None, keepdims: bool, fill: float,
             pick: Any) -> torch.Tensor:
    x = tensor(x)
    filled = _filled(x, fill)
    if axis is None:
        out = pick(filled.reshape(-1))
        return out.reshape((1,) * x.ndim) if keepdims else out
    return pick(filled, dim=axis, keepdim=keepdims)


@symbolic_op
def nanargmax(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """The index of the largest value along ``axis``, ignoring NaN."""
    return _nan_arg(x, axis, keepdims, -torch.inf, torch.argmax).to(INDEX_DTYPE)


@symbolic_op
def nanargmin(x: Any, axis: int | None = None, keepdims: bool = False) -> torch.Tensor:
    """The index of the smallest value along ``axis``, ignoring NaN."""
    return _nan_arg(x, axis, keepdims, torch.inf, torch.argmin).to(INDEX_DTYPE)


def _cumulative(x: Any, axis: int | None, dtype: Any, fill: float, fn: Any) -> torch.Tensor:
    x = tensor(x)
    if axis is None:
        x, axis = x.reshape(-1), 0
    out = _filled(x, fill)
    if dtype is not None:
        out = out.to(torch_dtype(dtype))
    elif out.dtype in (torch.bool, torch.int8, torch.int16, torch.uint8):
        out = out.to(torch.int32)
    return fn(out, dim=axis)


@symbolic_op
def nancumsum(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """The running sum along ``axis`` (the flattened ``x`` if ``None``), NaN counted as 0."""
    return _cumulative(x, axis, dtype, 0.0, torch.cumsum)


@symbolic_op
def nancumprod(x: Any, axis: int | None = None, dtype: Any = None) -> torch.Tensor:
    """The running product along ``axis`` (the flattened ``x`` if ``None``), NaN as 1."""
    return _cumulative(x, axis, dtype, 1.0, torch.cumprod)

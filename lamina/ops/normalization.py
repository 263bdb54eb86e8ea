"""Normalisation functions as ops: moments, batch/layer/RMS normalisation, ``normalize``.

Statistics of half-precision inputs are computed in float32 and cast back, as in Keras.

Example:
    >>> import torch
    >>> mean, variance = moments(torch.tensor([[1.0, 3.0]]), axes=[1])
    >>> mean.tolist(), variance.tolist()
    ([2.0], [1.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.ops.core import epsilon as default_epsilon
from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import axes_tuple, inexact, tensor

Axis = int | Sequence[int]


def _at_least_float32(x: Any) -> tuple[torch.Tensor, torch.dtype]:
    x = inexact(x)
    compute = torch.promote_types(x.dtype, torch.float32)
    return x.to(compute), x.dtype


@symbolic_op
def moments(x: Any, axes: Axis, keepdims: bool = False,
            synchronized: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (biased) variance of ``x`` over ``axes``."""
    if synchronized:
        raise ValueError("moments(synchronized=True) is not supported; lamina computes "
                         "moments on the local batch. Pass synchronized=False.")
    x, original = _at_least_float32(x)
    dims = axes_tuple(axes, x.ndim)
    mean = torch.mean(x, dim=dims, keepdim=True)
    variance = torch.mean(torch.square(x), dim=dims, keepdim=True) - torch.square(mean)
    if not keepdims:
        mean, variance = mean.squeeze(dims), variance.squeeze(dims)
    return mean.to(original), variance.to(original)


@symbolic_op
def batch_normalization(x: Any, mean: Any, variance: Any, axis: int, offset: Any = None,
                        scale: Any = None, epsilon: float = 1e-3) -> torch.Tensor:
    """``(x - mean) / sqrt(variance + epsilon) * scale + offset``, the 1-D statistics laid
    along ``axis``."""
    x = inexact(x)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]

    def laid(value: Any) -> torch.Tensor:
        return tensor(value).to(x.dtype).reshape(shape)

    out = (x - laid(mean)) * torch.rsqrt(laid(variance) + epsilon)
    if scale is not None:
        out = out * laid(scale)
    if offset is not None:
        out = out + laid(offset)
    return out


@symbolic_op
def layer_normalization(x: Any, gamma: Any = None, beta: Any = None, axis: Axis = -1,
                        epsilon: float | None = None, **kwargs: Any) -> torch.Tensor:
    """``x`` normalised to zero mean, unit variance over ``axis``, then scaled by ``gamma``
    and shifted by ``beta`` (``rms_scaling=True`` divides by the standard deviation only,
    as Keras's option of that name does)."""
    rms_scaling = kwargs.pop("rms_scaling", False)
    if kwargs:
        raise TypeError(f"layer_normalization got unexpected arguments {sorted(kwargs)}.")
    epsilon = default_epsilon() if epsilon is None else epsilon
    x, original = _at_least_float32(x)
    dims = sorted(axes_tuple(axis, x.ndim))
    shape = [x.shape[d] if d in dims else 1 for d in range(x.ndim)]

    def laid(value: Any) -> torch.Tensor | None:
        return None if value is None else tensor(value).to(x.dtype).reshape(shape)

    gamma, beta = laid(gamma), laid(beta)
    if rms_scaling:
        out = x * torch.rsqrt(torch.var(x, dim=dims, keepdim=True, correction=0) + epsilon)
        return (out if gamma is None else out * gamma).to(original)
    mean, variance = moments(x, dims, keepdims=True)
    out = (x - mean) * torch.rsqrt(variance + epsilon)
    if gamma is not None:
        out = out * gamma
    if beta is not None:
        out = out + beta
    return out.to(original)


@symbolic_op
def rms_normalization(x: Any, scale: Any = None, axis: Axis = -1,
                      epsilon: float | None = None) -> torch.Tensor:
    """``x / sqrt(mean(x ** 2) + epsilon) * scale`` over ``axis``."""
    epsilon = default_epsilon() if epsilon is None else epsilon
    x, original = _at_least_float32(x)
    dims = axes_tuple(axis, x.ndim)
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=dims, keepdim=True) + epsilon)
    if scale is not None:
        out = out * tensor(scale).to(x.dtype)
    return out.to(original)


@symbolic_op
def normalize(x: Any, axis: int = -1, order: int = 2,
              epsilon: float | None = None) -> torch.Tensor:
    """``x`` divided by its ``order``-norm along ``axis`` (at least ``epsilon``).

    Example:
        >>> normalize(torch.tensor([3.0, 4.0])).tolist()
        [0.6000000238418579, 0.800000011920929]
    """
    if not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an int >= 1; received order={order!r}.")
    epsilon = default_epsilon() if epsilon is None else epsilon
    x = inexact(x)
    if x.ndim == 0:
        x = x[None]
    if order == 2:
        squares = torch.sum(torch.square(x), dim=axis, keepdim=True)
        return x * torch.rsqrt(torch.clamp(squares, min=epsilon * epsilon))
    norm = torch.linalg.vector_norm(x, ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=epsilon)


@symbolic_op
def average(x: Any, axis: int | None = None, weights: Any = None) -> torch.Tensor:
    """The mean of ``x`` along ``axis`` weighted by ``weights`` (of ``x``'s shape, or 1-D
    along ``axis``)."""
    x = inexact(x)
    if weights is None:
        return torch.mean(x) if axis is None else torch.mean(x, dim=axis)
    weights = tensor(weights).to(torch.promote_types(x.dtype, tensor(weights).dtype))
    if not weights.is_floating_point():
        weights = weights.to(x.dtype)
    x = x.to(torch.promote_types(x.dtype, weights.dtype))
    if weights.ndim == 1 and x.ndim > 1:
        if axis is None:
            raise ValueError("average needs an axis when weights are 1-D and x is not.")
        shape = [1] * x.ndim
        shape[axis] = -1
        weights = weights.reshape(shape)
    if axis is None:
        return torch.sum(x * weights) / torch.sum(weights)
    return torch.sum(x * weights, dim=axis) / torch.sum(weights.expand_as(x), dim=axis)

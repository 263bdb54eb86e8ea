"""Activations, normalisation and one-hot encoding, with Keras's arguments and defaults."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor, torch_dtype

Axis = int | tuple[int, ...] | list[int] | None


@symbolic_op
def relu(
    x: Any, alpha: float = 0.0, max_value: float | None = None, threshold: float = 0.0
) -> torch.Tensor:
    """Keras's rectified linear unit with a leak, a ceiling and a threshold.

    ``max_value`` for ``x >= max_value``, ``x`` for ``threshold < x < max_value`` and
    ``alpha * (x - threshold)`` otherwise; computed in the same steps as Keras (so a
    negative ``threshold`` together with ``max_value`` clips ``(threshold, 0)`` to 0).

    Args:
        x: Input tensor.
        alpha: Slope below the threshold. Default: ``0.0``.
        max_value: Saturation value, or ``None`` for none. Default: ``None``.
        threshold: Values at or below it are damped. Default: ``0.0``.

    Example:
        >>> relu(torch.tensor([-2.0, 1.0, 3.0, 8.0]), alpha=0.5, max_value=6.0).tolist()
        [-1.0, 1.0, 3.0, 6.0]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if alpha == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    if alpha != 0.0:
        if max_value is None and threshold == 0.0:
            return F.leaky_relu(x, alpha)
        negative_part = torch.relu(threshold - x)
    out = torch.where(x > threshold, x, 0.0) if threshold != 0.0 else torch.relu(x)
    if max_value is not None:
        out = torch.clamp(out, 0.0, max_value)
    if alpha != 0.0:
        out = out - alpha * negative_part
    return out


@symbolic_op
def elu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """Exponential linear unit: ``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return F.elu(x, alpha)


@symbolic_op
def gelu(x: Any, approximate: bool = False) -> torch.Tensor:
    """Gaussian error linear unit; ``approximate=True`` uses the tanh approximation."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return F.gelu(x, approximate="tanh" if approximate else "none")


@symbolic_op
def sigmoid(x: Any) -> torch.Tensor:
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.sigmoid(x)


@symbolic_op
def tanh(x: Any) -> torch.Tensor:
    """Hyperbolic tangent."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.tanh(x)


@symbolic_op
def softplus(x: Any) -> torch.Tensor:
    """``log(1 + exp(x))``, computed stably."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return F.softplus(x)


@symbolic_op
def softsign(x: Any) -> torch.Tensor:
    """``x / (1 + |x|)``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return F.softsign(x)


@symbolic_op
def silu(x: Any) -> torch.Tensor:
    """Sigmoid linear unit (swish): ``x * sigmoid(x)``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return F.silu(x)


@symbolic_op
def softmax(x: Any, axis: Axis = -1) -> torch.Tensor:
    """Softmax over ``axis`` (an int or a tuple of axes normalised together)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(axis, int):
        return torch.softmax(x, axis)
    return torch.exp(x - torch.logsumexp(x, _all_axes(x, axis), keepdim=True))


@symbolic_op
def log_softmax(x: Any, axis: Axis = -1) -> torch.Tensor:
    """Logarithm of :func:`softmax`, computed stably."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(axis, int):
        return torch.log_softmax(x, axis)
    return x - torch.logsumexp(x, _all_axes(x, axis), keepdim=True)


def _all_axes(x: torch.Tensor, axis: Axis) -> tuple[int, ...]:
    return tuple(range(x.ndim)) if axis is None else tuple(axis)


@symbolic_op
def l2_normalize(x: Any, axis: Axis = None) -> torch.Tensor:
    """Scale ``x`` to unit L2 norm along ``axis`` (all axes when ``None``).

    Computes ``x / sqrt(max(sum(x ** 2, axis, keepdims=True), 1e-12))`` as Keras does, so
    an all-zero slice stays zero instead of becoming NaN.

    Example:
        >>> l2_normalize(torch.tensor([[3.0, 4.0], [0.0, 0.0]]), axis=1).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(axis, int):
        # max(sum(x**2), 1e-12) under the root is max(norm, 1e-6): F.normalize's formula,
        # without its Python layers (torch.norm's dispatch, expand_as): 9 us, not 15.
        return x / torch.linalg.vector_norm(x, 2, axis, True).clamp_min(1e-6)
    square_sum = torch.sum(x * x, dim=axis, keepdim=True)
    return x * torch.rsqrt(torch.clamp_min(square_sum, 1e-12))


@symbolic_op
def one_hot(
    indices: Any, num_classes: int, axis: int = -1, dtype: str | torch.dtype = "float32"
) -> torch.Tensor:
    """One-hot encode integer ``indices`` into a new axis of size ``num_classes``.

    Indices outside ``[0, num_classes)`` (such as -1 for padding) give all-zero vectors,
    as in Keras, where torch's ``one_hot`` would raise.

    Args:
        indices: Integer tensor of any shape.
        num_classes: Size of the new axis.
        axis: Where the new axis goes. Default: ``-1`` (last).
        dtype: Output dtype. Default: ``"float32"``.

    Example:
        >>> one_hot(torch.tensor([2, 0, -1]), 3).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    if not isinstance(indices, torch.Tensor):
        indices = torch.as_tensor(indices)
    classes = torch.arange(num_classes, device=indices.device)
    out = (indices.unsqueeze(-1) == classes).to(torch_dtype(dtype))
    return out if axis == -1 else out.movedim(-1, axis)

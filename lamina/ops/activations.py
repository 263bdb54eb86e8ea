"""Keras's activation functions as ops, beyond the ones in ``nn.py``.

Each takes Keras's arguments and defaults; integer inputs compute in float32.

Example:
    >>> import torch
    >>> relu6(torch.tensor([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact


@symbolic_op
def relu6(x: Any) -> torch.Tensor:
    """``min(max(x, 0), 6)``."""
    return F.relu6(inexact(x))


@symbolic_op
def selu(x: Any) -> torch.Tensor:
    """Scaled exponential linear unit (``scale * elu(x, alpha)`` with the SELU constants)."""
    return F.selu(inexact(x))


@symbolic_op
def celu(x: Any, alpha: float = 1.0) -> torch.Tensor:
    """``max(x, 0) + min(alpha * (exp(x / alpha) - 1), 0)``."""
    return F.celu(inexact(x), alpha)


@symbolic_op
def swish(x: Any) -> torch.Tensor:
    """``x * sigmoid(x)`` (the same as ``silu``)."""
    return F.silu(inexact(x))


@symbolic_op
def hard_sigmoid(x: Any) -> torch.Tensor:
    """``relu6(x + 3) / 6``, the piecewise-linear sigmoid."""
    return F.hardsigmoid(inexact(x))


@symbolic_op
def hard_silu(x: Any) -> torch.Tensor:
    """``x * hard_sigmoid(x)``."""
    return F.hardswish(inexact(x))


@symbolic_op
def hard_swish(x: Any) -> torch.Tensor:
    """``x * hard_sigmoid(x)`` (the same as :func:`hard_silu`)."""
    return F.hardswish(inexact(x))


@symbolic_op
def leaky_relu(x: Any, negative_slope: float = 0.2) -> torch.Tensor:
    """``x`` for ``x >= 0``, ``negative_slope * x`` below.

    Example:
        >>> leaky_relu(torch.tensor([-1.0, 2.0])).tolist()
        [-0.20000000298023224, 2.0]
    """
    return F.leaky_relu(inexact(x), negative_slope)


@symbolic_op
def log_sigmoid(x: Any) -> torch.Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(inexact(x))


@symbolic_op
def glu(x: Any, axis: int = -1) -> torch.Tensor:
    """Gated linear unit: ``a * sigmoid(b)`` where ``a, b`` are the halves of ``axis``."""
    return F.glu(inexact(x), dim=axis)


@symbolic_op
def hard_tanh(x: Any) -> torch.Tensor:
    """``x`` clipped to ``[-1, 1]``."""
    return F.hardtanh(inexact(x))


@symbolic_op
def soft_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` above it, ``x + threshold`` below ``-threshold``, 0 between."""
    return F.softshrink(inexact(x), threshold)


@symbolic_op
def hard_shrink(x: Any, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, 0 elsewhere."""
    return F.hardshrink(inexact(x), threshold)


@symbolic_op
def tanh_shrink(x: Any) -> torch.Tensor:
    """``x - tanh(x)``."""
    return F.tanhshrink(inexact(x))


@symbolic_op
def threshold(x: Any, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, ``default_value`` elsewhere."""
    return F.threshold(inexact(x), threshold, default_value)


@symbolic_op
def sparse_plus(x: Any) -> torch.Tensor:
    """0 for ``x <= -1``, ``(x + 1) ** 2 / 4`` for ``-1 < x < 1``, ``x`` for ``x >= 1``."""
    x = inexact(x)
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x < 1, (x + 1) ** 2 / 4, x))


@symbolic_op
def sparse_sigmoid(x: Any) -> torch.Tensor:
    """0 for ``x <= -1``, ``(x + 1) / 2`` between, 1 for ``x >= 1``."""
    x = inexact(x)
    return torch.clamp((x + 1) / 2, 0.0, 1.0)


@symbolic_op
def squareplus(x: Any, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x ** 2 + b)) / 2``, a smooth ReLU."""
    x = inexact(x)
    return (x + torch.sqrt(x * x + b)) / 2


@symbolic_op
def sparsemax(x: Any, axis: int = -1) -> torch.Tensor:
    """Euclidean projection of ``x`` onto the probability simplex along ``axis``: like
    softmax, but with exact zeros.

    Example:
        >>> sparsemax(torch.tensor([2.0, 1.0, -3.0])).tolist()
        [1.0, 0.0, 0.0]
    """
    x = inexact(x)
    moved = torch.movedim(x, axis, -1)
    ranked, _ = torch.sort(moved, dim=-1, descending=True)
    cumulative = torch.cumsum(ranked, dim=-1)
    k = torch.arange(1, moved.shape[-1] + 1, dtype=x.dtype, device=x.device)
    support = (1 + k * ranked) > cumulative
    size = support.sum(dim=-1, keepdim=True)
    tau = (torch.gather(cumulative, -1, size - 1) - 1) / size.to(x.dtype)
    return torch.movedim(torch.clamp(moved - tau, min=0), -1, axis)

"""Vector products and related sums: outer, inner, kron, vdot, cross, distances, correlation.

Example:
    >>> import torch
    >>> outer(torch.tensor([1, 2]), torch.tensor([3, 4])).tolist()
    [[3, 4], [6, 8]]
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact, inexact_pair, promoted_pair, tensor


def _through_float(x1: Any, x2: Any, compute: Any) -> torch.Tensor:
    """``compute`` on float copies of the operands, cast back to their common dtype
    (torch's matrix products take no integers on some devices)."""
    x1, x2 = promoted_pair(x1, x2)
    a, b = inexact_pair(x1, x2)
    return compute(a, b).to(x1.dtype)


@symbolic_op
def outer(x1: Any, x2: Any) -> torch.Tensor:
    """``x1[i] * x2[j]`` for the flattened operands."""
    x1, x2 = promoted_pair(x1, x2)
    return torch.outer(x1.reshape(-1), x2.reshape(-1))


@symbolic_op
def inner(x1: Any, x2: Any) -> torch.Tensor:
    """Sum of products over the last axes of ``x1`` and ``x2``."""
    return _through_float(x1, x2, torch.inner)


@symbolic_op
def vdot(x1: Any, x2: Any) -> torch.Tensor:
    """The dot product of the flattened operands (conjugating ``x1``)."""
    return _through_float(x1, x2, lambda a, b: torch.vdot(a.reshape(-1), b.reshape(-1)))


@symbolic_op
def kron(x1: Any, x2: Any) -> torch.Tensor:
    """The Kronecker product: blocks ``x1[i, j] * x2``."""
    return torch.kron(*promoted_pair(x1, x2))


@symbolic_op
def cross(x1: Any, x2: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> torch.Tensor:
    """Cross product of 3-vectors along the last axis (or ``axis``, which sets all three).

    ``axisa``/``axisb``/``axisc`` (the vector axes of each operand and of the result) are
    honoured separately, as in numpy.
    """
    x1, x2 = promoted_pair(x1, x2)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = torch.movedim(x1, axisa, -1), torch.movedim(x2, axisb, -1)
    compute = torch.float32 if x1.dtype == torch.float16 else x1.dtype
    out = torch.linalg.cross(a.to(compute), b.to(compute), dim=-1).to(x1.dtype)
    return torch.movedim(out, -1, axisc)


@symbolic_op
def cdist(x: Any, y: Any) -> torch.Tensor:
    """Euclidean distances between the rows of ``x`` and of ``y`` (batch axes broadcast)."""
    x, y = inexact_pair(x, y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError("cdist needs two tensors of rank >= 2 with the same last axis; "
                         f"received shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    difference = x.unsqueeze(-2) - y.unsqueeze(-3)
    return torch.sqrt(torch.sum(difference * difference, dim=-1))


@symbolic_op
def correlate(x1: Any, x2: Any, mode: str = "valid") -> torch.Tensor:
    """Cross-correlation of two 1-D sequences; ``mode`` is ``"valid"``, ``"same"`` or
    ``"full"`` (numpy's meanings). Integer inputs give float32 (int64 ones float64)."""
    if mode not in ("valid", "same", "full"):
        raise ValueError(f"mode must be 'valid', 'same' or 'full'; received mode={mode!r}.")
    x1, x2 = promoted_pair(x1, x2)
    if not x1.is_floating_point():
        dtype = torch.float64 if x1.dtype == torch.int64 else torch.float32
        x1, x2 = x1.to(dtype), x2.to(dtype)
    full = torch.nn.functional.conv1d(x1[None, None], x2[None, None],
                                      padding=x2.shape[0] - 1)[0, 0]
    n1, n2 = x1.shape[0], x2.shape[0]
    if mode == "valid":
        length = abs(n1 - n2) + 1
    elif mode == "same":
        length = n1
    else:
        return full
    start = (full.shape[0] - length) // 2
    return full[start:start + length]


@symbolic_op
def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> torch.Tensor:
    """The integral of ``y`` along ``axis`` by the trapezoidal rule, at sample points ``x``
    or spaced ``dx``."""
    y = tensor(y)
    if y.dtype == torch.bool:
        y = y.to(torch.float32)
    if x is not None:
        return torch.trapezoid(y, x=tensor(x), dim=axis)
    return torch.trapezoid(y, dx=dx, dim=axis)


@symbolic_op
def corrcoef(x: Any) -> torch.Tensor:
    """Pearson correlation coefficients between the rows of ``x``."""
    x = tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float64 if x.dtype == torch.int64 else torch.float32)
    return torch.corrcoef(inexact(x))

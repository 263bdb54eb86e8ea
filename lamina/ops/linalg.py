"""Products of tensors: ``dot``, ``batch_dot``, ``matmul``, ``tensordot``, ``einsum``.

``dot`` and ``batch_dot`` keep their Keras-2 meanings, which are not torch's:

* ``dot(x, y)`` is numpy's ``dot``: for nD it contracts the last axis of ``x`` with the
  second-to-last axis of ``y``, and the result has shape
  ``x.shape[:-1] + y.shape[:-2] + y.shape[-1:]`` (no broadcasting of leading axes).
* ``batch_dot(x, y, axes)`` pairs the batch (first) axes, contracts ``x`` axis
  ``axes[0]`` with ``y`` axis ``axes[1]``, and keeps every other axis: the result has
  ``x``'s remaining axes followed by ``y``'s remaining non-batch axes. A result that would
  be 1-D, which happens only for two 2-D inputs, is given shape ``(batch, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import promoted_pair, tensor


@symbolic_op
def dot(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Keras/numpy ``dot``: contract the last axis of ``x`` with the second-to-last of ``y``.

    Example:
        >>> dot(torch.ones(2, 3, 4), torch.ones(5, 4, 6)).shape
        torch.Size([2, 3, 5, 6])
    """
    x, y = _operands(x, y)
    if y.ndim <= 2:
        # Here torch's matmul already is numpy's dot.
        return torch.matmul(x, y)
    return torch.tensordot(x, y, dims=([x.ndim - 1], [y.ndim - 2]))


@symbolic_op
def batch_dot(
    x: torch.Tensor, y: torch.Tensor, axes: int | Sequence[int] | None = None
) -> torch.Tensor:
    """Keras ``K.batch_dot``: per-sample dot product over a pair of axes.

    Args:
        x: Tensor with at least 2 axes, the first being the batch.
        y: Tensor with at least 2 axes and the same batch size.
        axes: The axis of ``x`` and the axis of ``y`` to contract, as a pair, or one int
            for both. Default: ``None``, which means the last axis of ``x`` and the
            second-to-last axis of ``y`` (its last axis when ``y`` is 2-D).

    Returns:
        ``x``'s shape without the contracted axis, followed by ``y``'s shape without its
        batch and contracted axes; ``(batch, 1)`` when both inputs are 2-D.

    Example:
        >>> x, y = torch.ones(32, 20, 1), torch.ones(32, 30, 20)
        >>> batch_dot(x, y, axes=(1, 2)).shape
        torch.Size([32, 1, 30])
        >>> batch_dot(torch.tensor([[1, 2], [3, 4]]), torch.tensor([[5, 6], [7, 8]])).tolist()
        [[17], [53]]
    """
    x_ndim, y_ndim = x.ndim, y.ndim
    if x_ndim < 2 or y_ndim < 2:
        raise ShapeError(
            "batch_dot needs inputs with at least 2 axes (batch first); received shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}."
        )
    if axes is None:
        x_axis, y_axis = x_ndim - 1, (y_ndim - 1 if y_ndim == 2 else y_ndim - 2)
    elif isinstance(axes, int):
        x_axis, y_axis = axes, axes
    else:
        x_axis, y_axis = axes
    if x_axis < 0:
        x_axis += x_ndim
    if y_axis < 0:
        y_axis += y_ndim
    if x_axis == 0 or y_axis == 0:
        raise ArgumentError(
            f"batch_dot cannot contract the batch axis 0; received axes={axes!r} for "
            f"shapes {tuple(x.shape)} and {tuple(y.shape)}."
        )
    if x.shape[0] != y.shape[0] or x.shape[x_axis] != y.shape[y_axis]:
        raise ShapeError(
            f"batch_dot needs equal batch sizes and equal sizes along the contracted axes; "
            f"received shapes {tuple(x.shape)} and {tuple(y.shape)} with axes "
            f"({x_axis}, {y_axis})."
        )
    if x_ndim == 2 and y_ndim == 2:  # axes can only be (1, 1) here
        return torch.sum(x * y, dim=1, keepdim=True)
    if x_ndim == 3 and y_ndim == 3 and x_axis == 2 and y_axis == 1:
        return torch.matmul(x, y)
    # Move the contracted axes next to each other, fold the kept axes of each input into
    # one, and let a batched matmul do the work.
    x = torch.movedim(x, x_axis, -1)
    y = torch.movedim(y, y_axis, 1)
    batch, depth = x.shape[0], x.shape[-1]
    x_kept, y_kept = x.shape[1:-1], y.shape[2:]
    out = torch.matmul(
        x.reshape(batch, math.prod(x_kept), depth), y.reshape(batch, depth, math.prod(y_kept))
    )
    out = out.reshape((batch, *x_kept, *y_kept))
    return out.reshape(batch, 1) if out.ndim == 1 else out


@symbolic_op
def matmul(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Matrix product with numpy ``matmul`` rules (leading axes broadcast)."""
    return torch.matmul(*_operands(x, y))


def _operands(x: Any, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Two operands as tensors of one dtype (numpy arrays and lists accepted, as Keras)."""
    if type(x) is torch.Tensor and type(y) is torch.Tensor and x.dtype == y.dtype:
        return x, y
    return promoted_pair(x, y)


@symbolic_op
def tensordot(x: torch.Tensor, y: torch.Tensor, axes: Any = 2) -> torch.Tensor:
    """Contract ``x`` and ``y`` over ``axes`` (an int N for the last N / first N axes, or
    a pair of axis lists), as numpy's ``tensordot``."""
    x, y = _operands(x, y)
    if isinstance(axes, (tuple, list)) and len(axes) == 2 and all(
            isinstance(a, int) for a in axes):
        axes = ([axes[0]], [axes[1]])  # Keras's (axis of x, axis of y)
    return torch.tensordot(x, y, dims=axes)


@symbolic_op
def einsum(subscripts: str, *operands: torch.Tensor) -> torch.Tensor:
    """Einstein summation, e.g. ``einsum("bij,bjk->bik", x, y)``."""
    tensors = [tensor(o) for o in operands]
    if not tensors:
        raise ArgumentError(f"einsum: {subscripts!r} needs at least one operand.")
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = torch.promote_types(common, t.dtype)
    return torch.einsum(subscripts, *(t.to(common) for t in tensors))

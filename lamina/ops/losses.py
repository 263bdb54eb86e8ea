"""Keras's loss and target functions as ops: cross-entropies, multi-hot targets, PSNR.

The cross-entropies are per example (no reduction), computed as Keras computes them:
probabilities are renormalised and clipped to ``[epsilon, 1 - epsilon]`` unless
``from_logits``.

Example:
    >>> import torch
    >>> target, output = torch.tensor([[0.0, 1.0]]), torch.tensor([[0.25, 0.75]])
    >>> round(categorical_crossentropy(target, output).item(), 4)
    0.2877
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ShapeError
from lamina.ops.core import epsilon
from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import torch_dtype
from lamina.ops.promotion import inexact, tensor


def _log_probabilities(output: torch.Tensor, from_logits: bool, axis: int) -> torch.Tensor:
    if from_logits:
        return F.log_softmax(output, dim=axis)
    output = output / torch.sum(output, dim=axis, keepdim=True)
    return torch.log(torch.clamp(output, epsilon(), 1.0 - epsilon()))


@symbolic_op
def binary_crossentropy(target: Any, output: Any, from_logits: bool = False) -> torch.Tensor:
    """Elementwise binary cross-entropy between targets and probabilities (or logits)."""
    target, output = inexact(target), inexact(output)
    if target.shape != output.shape:
        raise ShapeError("binary_crossentropy needs target and output of the same shape; "
                         f"received {tuple(target.shape)} and {tuple(output.shape)}.")
    target = target.to(output.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    output = torch.clamp(output, epsilon(), 1.0 - epsilon())
    return F.binary_cross_entropy(output, target, reduction="none")


@symbolic_op
def categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                             axis: int = -1) -> torch.Tensor:
    """Cross-entropy between one-hot (or soft) targets and a distribution along ``axis``."""
    target, output = inexact(target), inexact(output)
    if target.shape != output.shape or target.ndim < 1:
        raise ShapeError("categorical_crossentropy needs target and output of the same "
                         f"shape, rank >= 1; received {tuple(target.shape)} and "
                         f"{tuple(output.shape)}.")
    return -torch.sum(target * _log_probabilities(output, from_logits, axis), dim=axis)


@symbolic_op
def sparse_categorical_crossentropy(target: Any, output: Any, from_logits: bool = False,
                                    axis: int = -1) -> torch.Tensor:
    """Cross-entropy between integer class targets and a distribution along ``axis`` (the
    last); targets of shape ``(..., 1)`` are squeezed."""
    output = inexact(output)
    if axis not in (-1, output.ndim - 1):
        raise ShapeError("sparse_categorical_crossentropy takes the classes on the last "
                         f"axis; received axis={axis}.")
    target = tensor(target).long()
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = target.squeeze(-1)
    log_probabilities = _log_probabilities(output, from_logits, -1)
    return -torch.gather(log_probabilities, -1, target[..., None])[..., 0]


@symbolic_op
def multi_hot(inputs: Any, num_classes: int | None = None, axis: int = -1, dtype: Any = None,
              sparse: bool = False, **kwargs: Any) -> torch.Tensor:
    """Encode integer class lists as multi-hot vectors: 1 at every class present.

    A 2-D ``inputs`` gives one vector per row; ``num_tokens`` is accepted for
    ``num_classes``, as in Keras.

    Example:
        >>> multi_hot(torch.tensor([[0, 2], [1, 1]]), 3).tolist()
        [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    if sparse:
        raise ValueError("multi_hot(sparse=True) is not supported: lamina has no sparse "
                         "tensors. Pass sparse=False.")
    num_classes = kwargs.pop("num_tokens", num_classes)
    if kwargs or num_classes is None:
        raise TypeError(f"multi_hot needs num_classes; received extra arguments {kwargs}.")
    x = tensor(inputs).long()
    encoded = F.one_hot(x, num_classes)
    if axis != -1:
        encoded = torch.movedim(encoded, -1, axis)
    out = torch.amax(encoded, dim=1 if x.ndim > 1 else 0)
    return out.to(torch.float32 if dtype is None else torch_dtype(dtype))


@symbolic_op
def psnr(x1: Any, x2: Any, max_val: float) -> torch.Tensor:
    """Peak signal-to-noise ratio ``20 log10(max_val) - 10 log10(mse)`` of two signals."""
    x1, x2 = inexact(x1), inexact(x2)
    if x1.shape != x2.shape:
        raise ShapeError(f"psnr needs inputs of the same shape; received {tuple(x1.shape)} "
                         f"and {tuple(x2.shape)}.")
    mse = torch.mean((x1 - x2) ** 2)
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=x1.dtype)) - 10 * torch.log10(mse)

"""Keras's per-sample metric functions (accuracies, errors) and the accuracy that fits a
compiled loss (Keras's ``"accuracy"`` resolution).

Example:
    >>> import torch
    >>> sparse_categorical_accuracy(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8],
    ...                                                                  [0.3, 0.7]])).tolist()
    [1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import losses


def fit_rank(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Add or drop a trailing axis of size 1 on ``y_true`` so ranks match (as Keras does)."""
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1)
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1)
    return y_true


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                    threshold: float = 0.5) -> torch.Tensor:
    """Per sample: the fraction of ``(y_pred > threshold) == y_true`` over the last axis."""
    y_true = fit_rank(y_true, y_pred)
    return ((y_pred > threshold) == (y_true > 0.5)).float().mean(dim=-1)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: 1 where ``argmax(y_pred) == argmax(y_true)``."""
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: 1 where ``argmax(y_pred)`` equals the integer label."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true).float()


def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                                      k: int = 5) -> torch.Tensor:
    """Per sample: 1 where the label's score is among the ``k`` largest (ties count as in)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    k = min(k, y_pred.shape[-1])
    kth_largest = torch.topk(y_pred, k, dim=-1).values[..., -1]
    label_score = torch.gather(y_pred, -1, y_true.long().unsqueeze(-1)).squeeze(-1)
    return (label_score >= kth_largest).float()


def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                               k: int = 5) -> torch.Tensor:
    """Per sample: 1 where the true class (argmax of one-hot) is in the top ``k``."""
    return sparse_top_k_categorical_accuracy(y_true.argmax(dim=-1), y_pred, k)


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: ``mean(abs(y_true - y_pred), axis=-1)``."""
    return torch.abs(y_pred - fit_rank(y_true, y_pred)).mean(dim=-1)


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: ``mean((y_true - y_pred) ** 2, axis=-1)``."""
    return torch.square(y_pred - fit_rank(y_true, y_pred)).mean(dim=-1)


def accuracy_for(loss: losses.Loss | None, true_shape: tuple[int, ...] | None = None,
                 pred_shape: tuple[int, ...] | None = None) -> Callable[..., torch.Tensor]:
    """The accuracy that fits a loss (Keras's ``"accuracy"`` resolution), else the shapes.

    Binary crossentropy from logits thresholds at 0 instead of 0.5.

    Example:
        >>> accuracy_for(losses.get("sparse_categorical_crossentropy")).__name__
        'sparse_categorical_accuracy'
    """
    if isinstance(loss, losses.BinaryCrossentropy):
        if loss.from_logits:
            def binary_accuracy_logits(y_true: torch.Tensor, y_pred: torch.Tensor) -> Any:
                return binary_accuracy(y_true, y_pred, threshold=0.0)
            return binary_accuracy_logits
        return binary_accuracy
    if isinstance(loss, (losses.SparseCategoricalCrossentropy,
                         losses.CategoricalGeneralizedCrossEntropy)):
        return sparse_categorical_accuracy
    if isinstance(loss, losses.CategoricalCrossentropy):
        return categorical_accuracy
    if pred_shape is not None and pred_shape[-1] == 1:
        return binary_accuracy
    if true_shape is not None and pred_shape is not None and (
            len(true_shape) < len(pred_shape) or true_shape[-1] == 1):
        return sparse_categorical_accuracy
    return categorical_accuracy

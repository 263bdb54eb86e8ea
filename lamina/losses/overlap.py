"""Overlap losses for segmentation masks: Dice and Tversky.

By default (``axis=None``) the soft counts run over every axis, batch included, so the
loss is one value for the batch; pass the spatial axes (e.g. ``axis=(1, 2)``) for one
value per sample.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses import functions
from lamina.losses.base import Loss


class Dice(Loss):
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred))`` over ``axis``.

    Args:
        axis: Axes to reduce. Default: ``None`` (every axis).

    Example:
        >>> round(float(Dice()([[1.0, 0.0], [1.0, 1.0]], [[0.9, 0.2], [0.7, 0.8]])), 4)
        0.1429
    """

    name = "dice"
    _config_keys = ("axis",)

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 axis: int | tuple[int, ...] | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.axis = axis

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.dice(y_true, y_pred, self.axis)


class Tversky(Loss):
    """``1 - TP / (TP + alpha * FP + beta * FN)`` with soft counts over ``axis``.

    Args:
        alpha: Weight of false positives. Default: ``0.5``.
        beta: Weight of false negatives. Default: ``0.5`` (which makes it Dice).
        axis: Axes to reduce. Default: ``None`` (every axis).

    Example:
        >>> round(float(Tversky(alpha=0.3, beta=0.7)([[1.0, 0.0]], [[0.6, 0.2]])), 4)
        0.3617
    """

    name = "tversky"
    _config_keys = ("alpha", "beta", "axis")

    def __init__(self, alpha: float = 0.5, beta: float = 0.5,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 axis: int | tuple[int, ...] | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.tversky(y_true, y_pred, self.alpha, self.beta, self.axis)

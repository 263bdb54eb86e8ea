"""Margin (hinge) losses for classifiers that output scores: hinge, squared hinge,
categorical hinge.

Binary hinge losses take labels -1/1; labels that are all 0 or 1 are turned into -1/1.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses import functions
from lamina.losses.base import Loss


class Hinge(Loss):
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``.

    Example:
        >>> round(float(Hinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)
        0.9
    """

    name = "hinge"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.hinge(y_true, y_pred)


class SquaredHinge(Hinge):
    """``mean(max(1 - y_true * y_pred, 0) ** 2, axis=-1)``.

    Example:
        >>> round(float(SquaredHinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)
        1.06
    """

    name = "squared_hinge"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.squared_hinge(y_true, y_pred)


class CategoricalHinge(Hinge):
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` for one-hot labels.

    Example:
        >>> round(float(CategoricalHinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)
        0.8
    """

    name = "categorical_hinge"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.categorical_hinge(y_true, y_pred)

"""Sequence losses: connectionist temporal classification (CTC)."""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses import functions
from lamina.losses.base import Loss


class CTC(Loss):
    """CTC loss of logits ``(batch, time, classes)`` against padded integer labels.

    Labels are ``(batch, max_label_length)``; 0 is both the padding and the blank class,
    so real classes are ``1 .. classes - 1``. Every sequence uses all ``time`` steps.

    Example:
        >>> logits = torch.zeros(1, 3, 3)
        >>> round(float(CTC()([[1, 2]], logits)), 4)
        1.6864
    """

    name = "ctc"

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.ctc(y_true, y_pred)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        return y_true.long()

"""Losses on the pairs in a batch of embeddings: Circle (metric learning).

Targets are integer labels (one per sample, shape ``(batch,)``); predictions are
embeddings ``(batch, dim)``, expected L2-normalised (e.g. by
``UnitNormalization``). Samples with equal labels are pulled together, the rest pushed
apart.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ShapeError
from lamina.losses import functions
from lamina.losses.base import Loss, shape_text


class Circle(Loss):
    """Circle loss (Sun et al., 2020) over every pair in the batch.

    Args:
        gamma: The scale of the similarities. Default: ``80.0``.
        margin: The relaxation margin. Default: ``0.4``.
        remove_diagonal: Leave out each sample's pair with itself. Default: ``True``.

    The mean runs over the samples whose loss is above zero (Keras masks the others).

    Example:
        >>> embeddings = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
        >>> round(float(Circle()([0, 0, 1], embeddings)), 3)
        3.201
    """

    name = "circle"
    _config_keys = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.circle(y_true, y_pred, remove_diagonal=self.remove_diagonal,
                                gamma=self.gamma, margin=self.margin)

    def compute(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        values = self.call(y_true, y_pred)
        return self._reduce_masked(values, values > 0, sample_weight)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        if y_true.dim() == 2 and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        if y_true.dim() != 1 or len(pred_shape) != 2:
            raise ShapeError(
                f"Loss '{self.name}'{where} expects integer labels of shape (None,) and "
                f"embeddings of shape (None, dim); received labels of shape "
                f"{shape_text(tuple(y_true.shape))} and embeddings of shape "
                f"{shape_text(pred_shape)}.")
        return y_true.long()

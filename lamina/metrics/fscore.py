"""F-scores: ``F1Score`` and ``FBetaScore`` for multi-label or one-hot classification.

Predictions are binarised (``> threshold``, or the row's maximum when ``threshold`` is
None), counted per class, and the per-class scores averaged as ``average`` says.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.metrics.base import Metric
from lamina.utils.shapes import array_to_tensor

_EPSILON = 1e-7


class FBetaScore(Metric):
    """``(1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall)``.

    Args:
        average: ``None`` (one score per class), ``"micro"`` (counts pooled over
            classes), ``"macro"`` (mean of the class scores) or ``"weighted"`` (mean
            weighted by each class's number of true labels). Default: ``None``.
        beta: Weight of recall against precision (a float > 0). Default: ``1.0``.
        threshold: Predictions above it count as positive; ``None`` takes each row's
            largest prediction. Default: ``None``.

    Inputs are 2-D: ``(batch, classes)``.

    Example:
        >>> metric = FBetaScore(beta=2.0, average="macro", threshold=0.5)
        >>> round(float(metric([[1, 0], [1, 1]], [[0.9, 0.6], [0.3, 0.8]])), 4)
        0.6944
    """

    name = "fbeta_score"
    _config_keys = ("average", "beta", "threshold")

    def __init__(self, average: str | None = None, beta: float = 1.0,
                 threshold: float | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        if average not in (None, "micro", "macro", "weighted"):
            raise ArgumentError("Invalid `average` argument value. Expected one of: {None, "
                                f"'micro', 'macro', 'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ArgumentError("Invalid `beta` argument value. It should be a Python float. "
                                f"Received: beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ArgumentError(f"Invalid `beta` argument value. It should be > 0. "
                                f"Received: beta={beta}")
        if threshold is not None and (not isinstance(threshold, float)
                                      or not 0.0 < threshold <= 1.0):
            raise ArgumentError("Invalid `threshold` argument value. It should be a Python "
                                f"float with 0 < threshold <= 1. Received: threshold={threshold}")
        self.average, self.beta, self.threshold = average, beta, threshold
        super().__init__(name=name)

    def _reset_tensors(self) -> None:
        # Rows: true positives, false positives, false negatives, true-label weight.
        self.counts: torch.Tensor | None = None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = array_to_tensor(y_pred).detach().float()
        y_true = array_to_tensor(y_true).to(y_pred.device).float()
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ShapeError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, "
                             f"output_dim). Received input shapes: y_pred.shape="
                             f"{tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}.")
        if self.threshold is None:
            top = y_pred.amax(dim=-1, keepdim=True)
            predicted = ((y_pred >= top) & (y_pred.abs() > 1e-9)).float()
        else:
            predicted = (y_pred > self.threshold).float()
        values = torch.stack([predicted * y_true, predicted * (1 - y_true),
                              (1 - predicted) * y_true, y_true])
        if sample_weight is not None:
            weight = array_to_tensor(sample_weight).to(y_pred.device).float()
            values = values * weight.reshape(1, -1, *([1] * (y_pred.dim() - weight.dim())))
        batch = values.sum(dim=(1, 2)) if self.average == "micro" else values.sum(dim=1)
        self.counts = batch if self.counts is None else self.counts + batch

    def result(self) -> torch.Tensor:
        if self.counts is None:
            return torch.zeros(())
        true_pos, false_pos, false_neg, support = self.counts
        precision = true_pos / (true_pos + false_pos + _EPSILON)
        recall = true_pos / (true_pos + false_neg + _EPSILON)
        beta2 = self.beta ** 2
        score = (1 + beta2) * precision * recall / (beta2 * precision + recall + _EPSILON)
        if self.average == "weighted":
            return (score * support / (support.sum() + _EPSILON)).sum()
        if self.average is not None:
            return score.mean()
        return score


class F1Score(FBetaScore):
    """The harmonic mean of precision and recall (``FBetaScore`` with ``beta=1``).

    Example:
        >>> scores = F1Score(threshold=0.5)([[1, 0], [1, 1]], [[0.9, 0.6], [0.3, 0.8]])
        >>> [round(score, 4) for score in scores.tolist()]
        [0.6667, 0.6667]
    """

    name = "f1_score"
    _config_keys = ("average", "threshold")

    def __init__(self, average: str | None = None, threshold: float | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name)

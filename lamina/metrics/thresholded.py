"""Metrics over decision thresholds: ``Precision``, ``Recall`` (at one threshold) and
``AUC`` (over a grid of thresholds), from weighted confusion counts kept as tensors."""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.metrics.base import Metric
from lamina.metrics.functions import fit_rank
from lamina.utils.shapes import array_to_tensor


class _Thresholded(Metric):
    """Counts of true/false positives and false negatives at one decision threshold."""

    _config_keys = ("thresholds", "top_k", "class_id")

    def __init__(self, thresholds: float | None = None, top_k: int | None = None,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        if top_k is not None or isinstance(thresholds, (list, tuple)):
            raise ArgumentError(
                f"{type(self).__name__}: lamina supports one decision threshold and no top_k; "
                f"received thresholds={thresholds!r}, top_k={top_k!r}. Use one metric per "
                "threshold, or TruePositives(thresholds=[...]) for counts at many.")
        self.thresholds = thresholds
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        self.top_k = top_k
        self.class_id = class_id
        super().__init__(name=name)

    def _reset_tensors(self) -> None:
        self.counts = torch.zeros(3)  # true positives, false positives, false negatives

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = array_to_tensor(y_pred).detach()
        y_true = fit_rank(array_to_tensor(y_true), y_pred)
        if self.class_id is not None:
            y_true, y_pred = y_true[..., self.class_id], y_pred[..., self.class_id]
        predicted, actual = y_pred > self.threshold, y_true > 0.5
        weight = torch.ones_like(y_pred, dtype=torch.float32) if sample_weight is None else (
            torch.broadcast_to(array_to_tensor(sample_weight).float().reshape(
                -1, *([1] * (y_pred.dim() - 1))), y_pred.shape))
        if self.counts.device != y_pred.device:
            self.counts = self.counts.to(y_pred.device)
        self.counts.add_(torch.stack([
            (weight * (predicted & actual)).sum(),
            (weight * (predicted & ~actual)).sum(),
            (weight * (~predicted & actual)).sum(),
        ]))


class Precision(_Thresholded):
    """Weighted ``true_positives / (true_positives + false_positives)`` at ``y_pred > 0.5``.

    Args:
        thresholds: The decision threshold. Default: ``0.5``.

    Example:
        >>> float(Precision()([1, 0, 1, 1], [0.9, 0.7, 0.2, 0.6]))
        0.6666666865348816
    """

    name = "precision"

    def result(self) -> torch.Tensor:
        true_pos, false_pos, _ = self.counts
        return torch.where(true_pos + false_pos > 0, true_pos / (true_pos + false_pos), 0.0)


class Recall(_Thresholded):
    """Weighted ``true_positives / (true_positives + false_negatives)`` at ``y_pred > 0.5``.

    Args:
        thresholds: The decision threshold. Default: ``0.5``.

    Example:
        >>> float(Recall()([1, 0, 1, 1], [0.9, 0.7, 0.2, 0.6]))
        0.6666666865348816
    """

    name = "recall"

    def result(self) -> torch.Tensor:
        true_pos, _, false_neg = self.counts
        return torch.where(true_pos + false_neg > 0, true_pos / (true_pos + false_neg), 0.0)


class AUC(Metric):
    """Area under the ROC curve, as Keras computes it by default.

    Predictions are counted into ``num_thresholds - 1`` equal buckets of ``[0, 1]``; the
    curve through the thresholds ``(-eps, 1/(n-1), ..., (n-2)/(n-1), 1+eps)`` is
    integrated with the trapezoidal rule (Keras's ``summation_method="interpolation"``).
    Predictions in one bucket count as tied, so the result is the exact ROC AUC of the
    bucketed scores.

    Args:
        num_thresholds: Default: ``200``.
        from_logits: Apply a sigmoid to predictions first. Default: ``False``.

    Example:
        >>> round(float(AUC()([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])), 4)
        0.75
    """

    name = "auc"

    _config_keys = ("num_thresholds", "curve", "summation_method", "multi_label", "num_labels",
                    "label_weights", "from_logits")

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str | None = None,
                 dtype: Any = None, thresholds: Any = None, multi_label: bool = False,
                 num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False) -> None:
        if num_thresholds < 2:
            raise ArgumentError(f"AUC: num_thresholds must be > 1, received {num_thresholds}.")
        if (curve, summation_method, multi_label, thresholds, label_weights) != (
                "ROC", "interpolation", False, None, None):
            raise ArgumentError(
                "AUC: lamina computes the ROC curve's area by interpolation over evenly "
                f"spaced thresholds; received curve={curve!r}, summation_method="
                f"{summation_method!r}, multi_label={multi_label!r}, thresholds="
                f"{thresholds!r}, label_weights={label_weights!r}.")
        self.num_thresholds = int(num_thresholds)
        self.curve, self.summation_method = curve, summation_method
        self.multi_label, self.num_labels, self.label_weights = multi_label, num_labels, None
        self.from_logits = bool(from_logits)
        super().__init__(name=name)

    def _reset_tensors(self) -> None:
        # Per bucket: weight of positive labels, weight of negative labels.
        self.buckets = torch.zeros(2, self.num_thresholds)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = array_to_tensor(y_pred).detach()
        if self.from_logits:
            y_pred = torch.sigmoid(y_pred)
        y_true = fit_rank(array_to_tensor(y_true), y_pred).to(torch.float32).reshape(-1)
        weight = torch.ones(y_true.shape, device=y_pred.device) if sample_weight is None else (
            torch.broadcast_to(array_to_tensor(sample_weight).float().reshape(
                -1, *([1] * (y_pred.dim() - 1))), y_pred.shape).reshape(-1))
        # A score counts for threshold j when it is > j / (n - 1): bucket ceil(p * (n-1)) - 1.
        scaled = torch.ceil(y_pred.float().reshape(-1).clamp(0.0, 1.0) * (self.num_thresholds - 1))
        bucket = (scaled - 1).clamp(min=0).long()
        if self.buckets.device != y_pred.device:
            self.buckets = self.buckets.to(y_pred.device)
        self.buckets[0].add_(torch.bincount(bucket, weight * y_true, self.num_thresholds))
        self.buckets[1].add_(torch.bincount(bucket, weight * (1 - y_true), self.num_thresholds))

    def result(self) -> torch.Tensor:
        # Positives above threshold j are the weights in buckets >= j.
        true_pos = self.buckets[0].flip(0).cumsum(0).flip(0)
        false_pos = self.buckets[1].flip(0).cumsum(0).flip(0)
        positives, negatives = true_pos[0], false_pos[0]
        tp_rate = torch.where(positives > 0, true_pos / positives.clamp(min=1e-12), 0.0)
        fp_rate = torch.where(negatives > 0, false_pos / negatives.clamp(min=1e-12), 0.0)
        heights = (tp_rate[:-1] + tp_rate[1:]) / 2
        return ((fp_rate[:-1] - fp_rate[1:]) * heights).sum()

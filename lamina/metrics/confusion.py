"""Confusion-matrix counts at decision thresholds, and the metrics read off them.

``TruePositives`` and its siblings count (weighted) predictions ``> threshold`` against
labels ``!= 0``. ``SensitivityAtSpecificity`` and its siblings count at ``num_thresholds``
evenly spaced thresholds in ``[0, 1]`` and report the best value of one rate among the
thresholds where the other rate reaches its target, as Keras does.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.losses import functions as loss_functions
from lamina.metrics.base import Metric
from lamina.utils.shapes import array_to_tensor


def confusion_counts(y_true: Any, y_pred: Any, thresholds: torch.Tensor,
                     sample_weight: Any = None, class_id: int | None = None) -> torch.Tensor:
    """Weighted (true positives, false positives, true negatives, false negatives) at each
    threshold: a ``(4, len(thresholds))`` tensor."""
    y_true, y_pred = loss_functions.as_tensors(y_true, y_pred)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    if sample_weight is None:
        weight = torch.ones_like(y_pred)
    else:
        weight = array_to_tensor(sample_weight).to(y_pred.device, y_pred.dtype)
        if weight.dim() < y_pred.dim():
            weight = weight.reshape(*weight.shape, *([1] * (y_pred.dim() - weight.dim())))
        weight = torch.broadcast_to(weight, y_pred.shape)
    actual = (y_true != 0).reshape(-1, 1)
    predicted = y_pred.detach().reshape(-1, 1) > thresholds.to(y_pred.device).reshape(1, -1)
    weight = weight.reshape(-1, 1)
    return torch.stack([(weight * (predicted & actual)).sum(0),
                        (weight * (predicted & ~actual)).sum(0),
                        (weight * (~predicted & ~actual)).sum(0),
                        (weight * (~predicted & actual)).sum(0)])


class _Counts(Metric):
    """Confusion counts at fixed thresholds; subclasses pick what ``result`` reports."""

    def __init__(self, thresholds: torch.Tensor, class_id: int | None, name: str | None) -> None:
        self._thresholds = thresholds.float()
        self.class_id = class_id
        super().__init__(name=name)

    def _reset_tensors(self) -> None:
        self.counts = torch.zeros(4, len(self._thresholds))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        batch = confusion_counts(y_true, y_pred, self._thresholds, sample_weight, self.class_id)
        if self.counts.device != batch.device:
            self.counts = self.counts.to(batch.device)
        self.counts.add_(batch)


class _Count(_Counts):
    """One confusion count at one threshold (0.5 by default) or a list of thresholds."""

    _row = 0
    _config_keys = ("thresholds",)

    def __init__(self, thresholds: float | list[float] | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        self.thresholds = thresholds
        values = [0.5] if thresholds is None else (
            list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds])
        super().__init__(torch.tensor(values, dtype=torch.float32), None, name)

    def result(self) -> torch.Tensor:
        row = self.counts[self._row]
        return row if isinstance(self.thresholds, (list, tuple)) else row[0]


class TruePositives(_Count):
    """The weighted number of positive labels predicted ``> threshold``.

    Example:
        >>> float(TruePositives()([0, 1, 1, 1], [1.0, 0.0, 1.0, 1.0]))
        2.0
    """

    name = "true_positives"
    _row = 0


class FalsePositives(_Count):
    """The weighted number of negative labels predicted ``> threshold``.

    Example:
        >>> FalsePositives(thresholds=[0.0, 0.5])([0, 1, 0, 0], [0.3, 0.0, 0.6, 0.9]).tolist()
        [3.0, 2.0]
    """

    name = "false_positives"
    _row = 1


class TrueNegatives(_Count):
    """The weighted number of negative labels predicted ``<= threshold``.

    Example:
        >>> float(TrueNegatives()([0, 1, 0, 0], [0.0, 0.0, 1.0, 0.0]))
        2.0
    """

    name = "true_negatives"
    _row = 2


class FalseNegatives(_Count):
    """The weighted number of positive labels predicted ``<= threshold``.

    Example:
        >>> float(FalseNegatives()([0, 1, 1, 1], [0.0, 1.0, 0.0, 0.0]))
        2.0
    """

    name = "false_negatives"
    _row = 3


class _AtConstraint(_Counts):
    """The best ``dependent`` rate where the ``constrained`` rate reaches ``value``."""

    _target = "value"

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        if not 0 <= value <= 1:
            raise ArgumentError(f"Argument `{self._target}` must be in the range [0, 1]. "
                                f"Received: {self._target}={value}")
        if num_thresholds <= 0:
            raise ArgumentError("Argument `num_thresholds` must be an integer > 0. "
                                f"Received: num_thresholds={num_thresholds}")
        setattr(self, self._target, value)
        self.num_thresholds = num_thresholds
        thresholds = torch.tensor([0.5]) if num_thresholds == 1 else torch.tensor(
            [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0])
        super().__init__(thresholds, class_id, name)

    @property
    def _config_keys(self) -> tuple[str, ...]:  # type: ignore[override]
        return ("class_id", "num_thresholds", self._target)

    def rates(self) -> dict[str, torch.Tensor]:
        """Recall (sensitivity), precision and specificity at each threshold."""
        true_pos, false_pos, true_neg, false_neg = self.counts

        def ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
            return torch.where(den > 0, num / den.clamp(min=1e-12), 0.0)

        recall = ratio(true_pos, true_pos + false_neg)
        return {"recall": recall, "sensitivity": recall,
                "precision": ratio(true_pos, true_pos + false_pos),
                "specificity": ratio(true_neg, true_neg + false_pos)}

    def best(self, constrained: str, dependent: str) -> torch.Tensor:
        rates = self.rates()
        feasible = rates[constrained] >= getattr(self, self._target)
        return torch.where(feasible, rates[dependent], 0.0).max().clamp(min=0.0)


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) where specificity is at least ``specificity``.

    Example:
        >>> float(SensitivityAtSpecificity(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        0.5
    """

    name = "sensitivity_at_specificity"
    _target = "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(specificity, num_thresholds, class_id, name)

    def result(self) -> torch.Tensor:
        return self.best("specificity", "sensitivity")


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity where sensitivity (recall) is at least ``sensitivity``.

    Example:
        >>> round(float(SpecificityAtSensitivity(0.5)([0, 0, 0, 1, 1],
        ...                                           [0, 0.3, 0.8, 0.3, 0.8])), 4)
        0.6667
    """

    name = "specificity_at_sensitivity"
    _target = "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(sensitivity, num_thresholds, class_id, name)

    def result(self) -> torch.Tensor:
        return self.best("sensitivity", "specificity")


class PrecisionAtRecall(_AtConstraint):
    """The best precision where recall is at least ``recall``.

    Example:
        >>> float(PrecisionAtRecall(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        0.5
    """

    name = "precision_at_recall"
    _target = "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(recall, num_thresholds, class_id, name)

    def result(self) -> torch.Tensor:
        return self.best("recall", "precision")


class RecallAtPrecision(_AtConstraint):
    """The best recall where precision is at least ``precision``.

    Example:
        >>> float(RecallAtPrecision(0.5)([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]))
        1.0
    """

    name = "recall_at_precision"
    _target = "precision"

    def __init__(self, precision: float, num_thresholds: int = 200,
                 class_id: int | None = None, name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(precision, num_thresholds, class_id, name)

    def result(self) -> torch.Tensor:
        return self.best("precision", "recall")

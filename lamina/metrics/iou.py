"""Intersection-over-union metrics for segmentation and classification: ``IoU``,
``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``, ``OneHotMeanIoU``.

Each accumulates a ``(num_classes, num_classes)`` confusion matrix (rows: true class,
columns: predicted class) and reports ``TP / (TP + FP + FN)`` averaged over the target
classes that occurred. As in Keras, the default ``dtype`` is integer, so sample weights
are truncated to integers.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.metrics.base import Metric
from lamina.utils.shapes import array_to_tensor

_EPSILON = 1e-7


class IoU(Metric):
    """Mean intersection-over-union of the classes ``target_class_ids``.

    Args:
        num_classes: Number of classes.
        target_class_ids: The classes averaged over.
        ignore_class: A label whose samples are left out. Default: ``None``.
        sparse_y_true: Whether labels are class indices (else one-hot). Default: ``True``.
        sparse_y_pred: Whether predictions are class indices (else scores, arg-maxed over
            ``axis``). Default: ``True``.
        axis: The class axis of one-hot inputs. Default: ``-1``.

    Example:
        >>> metric = IoU(num_classes=2, target_class_ids=[0])
        >>> round(float(metric([0, 0, 1, 1], [0, 1, 0, 1])), 4)
        0.3333
    """

    name = "io_u"
    _config_keys = ("num_classes", "target_class_ids", "ignore_class", "sparse_y_true",
                    "sparse_y_pred", "axis")

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None,
                 dtype: Any = None, ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        self.num_classes = int(num_classes)
        if max(target_class_ids) >= num_classes:
            raise ArgumentError(f"Target class id {max(target_class_ids)} is out of range, "
                                f"which is [0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.axis = axis
        self.dtype = dtype or "int32"
        super().__init__(name=name)

    @property
    def _config_dtype(self) -> str:  # type: ignore[override]
        return str(self.dtype)

    def _reset_tensors(self) -> None:
        self.total_cm = torch.zeros(self.num_classes, self.num_classes)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = array_to_tensor(y_true), array_to_tensor(y_pred).detach()
        if not self.sparse_y_true:
            y_true = y_true.argmax(dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(dim=self.axis)
        y_true = y_true.to(y_pred.device).reshape(-1).long()
        y_pred = y_pred.reshape(-1).long()
        weight = torch.ones(y_true.shape, device=y_pred.device) if sample_weight is None else (
            torch.broadcast_to(array_to_tensor(sample_weight).to(y_pred.device).reshape(-1)
                               .float(), y_true.shape))
        if "int" in str(self.dtype):
            weight = weight.trunc()
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (
            y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        cells = torch.where(valid, y_true * self.num_classes + y_pred, 0)
        counts = torch.bincount(cells, torch.where(valid, weight, 0.0),
                                self.num_classes ** 2)
        if self.total_cm.device != counts.device:
            self.total_cm = self.total_cm.to(counts.device)
        self.total_cm.add_(counts.reshape(self.num_classes, self.num_classes).float())

    def result(self) -> torch.Tensor:
        true_pos = torch.diagonal(self.total_cm)
        denominator = self.total_cm.sum(0) + self.total_cm.sum(1) - true_pos
        ids = torch.tensor(self.target_class_ids, device=true_pos.device)
        true_pos, denominator = true_pos[ids], denominator[ids]
        valid = denominator > 1e-9
        iou = torch.where(valid, true_pos / (denominator + _EPSILON), 0.0)
        return iou.sum() / (valid.sum() + _EPSILON)


class BinaryIoU(IoU):
    """IoU of binary labels against predictions thresholded at ``threshold`` (``>=``).

    Example:
        >>> round(float(BinaryIoU()([0, 1, 0, 1], [0.1, 0.9, 0.6, 0.4])), 4)
        0.3333
    """

    name = "binary_io_u"
    _config_keys = ("target_class_ids", "threshold")

    def __init__(self, target_class_ids: Any = (0, 1), threshold: float = 0.5,
                 name: str | None = None, dtype: Any = None) -> None:
        self.threshold = threshold
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        predicted = (array_to_tensor(y_pred).float() >= self.threshold).long()
        super().update_state(array_to_tensor(y_true), predicted, sample_weight)


class MeanIoU(IoU):
    """IoU averaged over every class.

    Example:
        >>> round(float(MeanIoU(num_classes=2)([0, 0, 1, 1], [0, 1, 0, 1])), 4)
        0.3333
    """

    name = "mean_io_u"
    _config_keys = ("num_classes", "ignore_class", "sparse_y_true", "sparse_y_pred", "axis")

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True,
                 sparse_y_pred: bool = True, axis: int = -1) -> None:
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)


class OneHotIoU(IoU):
    """IoU of one-hot labels against class scores (arg-maxed).

    Example:
        >>> metric = OneHotIoU(num_classes=2, target_class_ids=[1])
        >>> round(float(metric([[1, 0], [0, 1]], [[0.2, 0.8], [0.3, 0.7]])), 4)
        0.5
    """

    name = "one_hot_io_u"
    _config_keys = ("num_classes", "target_class_ids", "ignore_class", "sparse_y_pred", "axis")

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None,
                 dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1) -> None:
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)


class OneHotMeanIoU(MeanIoU):
    """IoU averaged over every class, for one-hot labels and class scores.

    Example:
        >>> round(float(OneHotMeanIoU(num_classes=2)([[1, 0], [0, 1]],
        ...                                          [[0.2, 0.8], [0.3, 0.7]])), 4)
        0.25
    """

    name = "one_hot_mean_io_u"
    _config_keys = ("num_classes", "ignore_class", "sparse_y_pred", "axis")

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False,
                 axis: int = -1) -> None:
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

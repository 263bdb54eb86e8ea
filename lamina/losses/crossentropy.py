"""Crossentropy losses: binary, categorical, sparse, focal and generalized.

Crossentropies computed from probabilities clip them to ``[1e-7, 1 - 1e-7]`` like Keras;
the fused torch kernels are used where they give the same numbers (crossentropy from
logits, sparse crossentropy).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError
from lamina.losses import functions
from lamina.losses.base import Loss, check_sparse_targets


class BinaryCrossentropy(Loss):
    """Keras's binary crossentropy, averaged over the last axis.

    Args:
        from_logits: Whether predictions are logits rather than probabilities.
            Default: ``False``.
        label_smoothing: Moves targets towards 0.5 by this fraction. Default: ``0.0``.
        axis: The axis averaged over. Default: ``-1``.

    Example:
        >>> round(float(BinaryCrossentropy()([[1.0], [0.0]], [[0.8], [0.1]])), 4)
        0.1643
    """

    name = "binary_crossentropy"
    _bounded_targets = True
    _broadcast_targets = False
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = axis

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return functions.binary_elementwise(y_true, y_pred, self.from_logits).mean(dim=self.axis)


class BinaryFocalCrossentropy(BinaryCrossentropy):
    """Binary crossentropy scaled by ``(1 - p_t) ** gamma``, which down-weights easy examples.

    Args:
        apply_class_balancing: Weight positives by ``alpha`` and negatives by
            ``1 - alpha``. Default: ``False``.
        alpha: The class-balancing weight. Default: ``0.25``.
        gamma: The focusing exponent. Default: ``2.0``.
        from_logits, label_smoothing, axis: As for :class:`BinaryCrossentropy`.

    Example:
        >>> round(float(BinaryFocalCrossentropy()([[1.0], [0.0]], [[0.8], [0.1]])), 4)
        0.005
    """

    name = "binary_focal_crossentropy"
    _config_keys = ("from_logits", "label_smoothing", "axis", "apply_class_balancing",
                    "alpha", "gamma")

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25,
                 gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(from_logits, label_smoothing, axis, reduction=reduction, name=name)
        self.apply_class_balancing = bool(apply_class_balancing)
        self.alpha = alpha
        self.gamma = gamma

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.binary_focal_crossentropy(
            y_true, y_pred, self.apply_class_balancing, self.alpha, self.gamma,
            self.from_logits, self.label_smoothing, self.axis)


class CategoricalCrossentropy(Loss):
    """``-sum(y_true * log(y_pred), axis=-1)`` for one-hot (or soft) targets.

    From probabilities, predictions are divided by their sum and clipped to
    ``[1e-7, 1 - 1e-7]`` first, as in Keras.

    Args:
        from_logits: Whether predictions are logits. Default: ``False``.
        label_smoothing: Mixes targets with the uniform distribution. Default: ``0.0``.
        axis: The class axis. Default: ``-1``.

    Example:
        >>> round(float(CategoricalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])), 4)
        0.2231
    """

    name = "categorical_crossentropy"
    _bounded_targets = True
    _broadcast_targets = False
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)
        self.axis = functions.check_axis(axis)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.label_smoothing:
            classes = y_pred.shape[self.axis]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        log_probs = functions.log_probabilities(y_pred, self.from_logits, self.axis)
        return -(y_true * log_probs).sum(dim=self.axis)


class CategoricalFocalCrossentropy(CategoricalCrossentropy):
    """Categorical crossentropy scaled by ``alpha * (1 - p) ** gamma`` per class.

    Args:
        alpha: The weighting factor. Default: ``0.25``.
        gamma: The focusing exponent. Default: ``2.0``.
        from_logits, label_smoothing, axis: As for :class:`CategoricalCrossentropy`.

    Example:
        >>> round(float(CategoricalFocalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])), 5)
        0.00223
    """

    name = "categorical_focal_crossentropy"
    _config_keys = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        super().__init__(from_logits, label_smoothing, axis, reduction=reduction, name=name)
        self.alpha = alpha
        self.gamma = gamma

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.categorical_focal_crossentropy(
            y_true, y_pred, self.alpha, self.gamma, self.from_logits, self.label_smoothing,
            self.axis)


class SparseCategoricalCrossentropy(Loss):
    """Categorical crossentropy with integer class labels instead of one-hot targets.

    Targets have the predictions' shape without the class axis (or with a class axis of
    size 1) and hold class indices in ``[0, classes)``.

    Args:
        from_logits: Whether predictions are logits. Default: ``False``.
        ignore_class: A label whose samples count for nothing (left out of the mean).
            Default: ``None``.
        axis: The class axis. Default: ``-1``.

    Example:
        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.2, 0.8]])), 4)
        0.2231
    """

    name = "sparse_categorical_crossentropy"
    _config_keys = ("from_logits", "ignore_class")

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = "sum_over_batch_size", axis: int = -1,
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.from_logits = bool(from_logits)
        self.ignore_class = ignore_class
        self.axis = axis

    def _crossentropy(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                      reduction: str) -> torch.Tensor:
        classes = y_pred.shape[-1]
        flat_pred, flat_true = y_pred.reshape(-1, classes), y_true.reshape(-1)
        if self.from_logits:
            return F.cross_entropy(flat_pred, flat_true, reduction=reduction)
        return F.nll_loss(functions.log_probabilities(flat_pred, False), flat_true,
                          reduction=reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.ignore_class is not None or self.axis not in (-1, y_pred.dim() - 1):
            return functions.sparse_categorical_crossentropy(
                y_true, y_pred, self.from_logits, self.ignore_class, self.axis)
        return self._crossentropy(y_true, y_pred, "none").reshape(y_true.shape)

    def compute(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        if self.ignore_class is not None:
            values = self.call(y_true, y_pred)
            return self._reduce_masked(values, y_true != self.ignore_class, sample_weight)
        if sample_weight is None and self.reduction == "sum_over_batch_size" \
                and self.axis in (-1, y_pred.dim() - 1):
            # The fused mean is Keras's sum_over_batch_size without a per-sample temporary.
            return self._crossentropy(y_true, y_pred, "mean")
        return super().compute(y_true, y_pred, sample_weight)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        if self.ignore_class is not None:
            check_values = False  # the ignored label may lie outside [0, classes)
        return check_sparse_targets(self, y_true, pred_shape, where, check_values)


class CategoricalGeneralizedCrossEntropy(Loss):
    """Generalized crossentropy for noisy integer labels: ``(1 - p ** q) / q``.

    ``p`` is the predicted probability of the label; ``q`` moves the loss between
    crossentropy (``q -> 0``) and mean absolute error (``q = 1``).

    Args:
        q: In ``(0, 1)``. Default: ``0.5``.

    Example:
        >>> round(float(CategoricalGeneralizedCrossEntropy()([1], [[0.2, 0.8]])), 4)
        0.2111
    """

    name = "categorical_generalized_cross_entropy"
    _config_keys = ("q",)

    def __init__(self, q: float = 0.5, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        if not 0 < q < 1:
            raise ArgumentError(f"q must be in the interval (0, 1), received q={q!r}.")
        super().__init__(reduction=reduction, name=name)
        self.q = q

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.categorical_generalized_cross_entropy(y_true, y_pred, self.q)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        return check_sparse_targets(self, y_true, pred_shape, where, check_values)

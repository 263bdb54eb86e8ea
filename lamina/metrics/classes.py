"""Keras 3's metric classes: each a weighted mean of a per-sample function (or a sum).

``keras.metrics.SparseCategoricalAccuracy()`` and its siblings, with Keras's default names,
arguments and values, for ``compile(metrics=[...])`` and custom training loops
(``update_state`` / ``result`` / ``reset_state``).
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.metrics.base import (
    Mean,
    MeanMetricWrapper,
)
from lamina.metrics.functions import (
    binary_accuracy,
    categorical_accuracy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)


def _equal(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        y_true = y_true.unsqueeze(-1)
    return (y_true == y_pred).to(torch.float32)


class Accuracy(MeanMetricWrapper):
    """How often predictions equal the labels exactly.

    Example:
        >>> float(Accuracy()(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 4])))
        0.6666666865348816
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None) -> None:
        super().__init__(_equal, name=name)


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the binary labels.

    Example:
        >>> float(BinaryAccuracy()(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.7], [0.6]])))
        0.5
    """

    _config_keys = ("threshold",)

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None,
                 threshold: float = 0.5) -> None:
        self.threshold = float(threshold)
        super().__init__(binary_accuracy, name=name, threshold=self.threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of the prediction is the one-hot label's.

    Example:
        >>> metric = CategoricalAccuracy()
        >>> float(metric(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.3, 0.7]])))
        1.0
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(categorical_accuracy, name=name)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of the prediction is the integer label.

    Example:
        >>> metric = SparseCategoricalAccuracy()
        >>> float(metric(torch.tensor([1, 0]), torch.tensor([[0.3, 0.7], [0.2, 0.8]])))
        0.5
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None) -> None:
        super().__init__(sparse_categorical_accuracy, name=name)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the ``k`` highest predictions.

    Example:
        >>> metric = TopKCategoricalAccuracy(k=2)
        >>> float(metric(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.1, 0.4]])))
        1.0
    """

    _config_keys = ("k",)

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        self.k = int(k)
        super().__init__(top_k_categorical_accuracy, name=name, k=self.k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the ``k`` highest predictions.

    Example:
        >>> metric = SparseTopKCategoricalAccuracy(k=2)
        >>> float(metric(torch.tensor([2]), torch.tensor([[0.5, 0.1, 0.4]])))
        1.0
    """

    _config_keys = ("k",)

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy",
                 dtype: Any = None) -> None:
        self.k = int(k)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, k=self.k)


class MeanSquaredError(MeanMetricWrapper):
    """The mean of ``(y_true - y_pred) ** 2``.

    Example:
        >>> float(MeanSquaredError()(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 4.0]])))
        2.0
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None) -> None:
        super().__init__(mean_squared_error, name=name)


class MeanAbsoluteError(MeanMetricWrapper):
    """The mean of ``|y_true - y_pred|``.

    Example:
        >>> float(MeanAbsoluteError()(torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 4.0]])))
        1.0
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None) -> None:
        super().__init__(mean_absolute_error, name=name)


class RootMeanSquaredError(MeanSquaredError):
    """The square root of the (weighted) mean squared error over every batch.

    Example:
        >>> float(RootMeanSquaredError()(torch.tensor([[0.0, 0.0]]), torch.tensor([[3.0, 4.0]])))
        3.535533905029297
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None) -> None:
        super().__init__(name=name)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


class Sum(Mean):
    """The (weighted) sum of every value passed to ``update_state``.

    Example:
        >>> total = Sum()
        >>> total.update_state(torch.tensor([1.0, 2.0])); float(total.result())
        3.0
    """

    def __init__(self, name: str = "sum", dtype: Any = None) -> None:
        super().__init__(name=name)

    def result(self) -> torch.Tensor:
        return self.total.clone()

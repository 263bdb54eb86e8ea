"""Regression and distribution losses: squared, absolute, percentage, logarithmic, Huber,
log-cosh, cosine similarity, Poisson and Kullback-Leibler."""

from __future__ import annotations

from typing import Any

import torch

from lamina.losses import functions
from lamina.losses.base import EPSILON, Loss


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred) ** 2, axis=-1)``.

    Example:
        >>> float(MeanSquaredError()([[1.0, 2.0]], [[2.0, 4.0]]))
        2.5
    """

    name = "mean_squared_error"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return torch.square(y_pred - y_true).mean(dim=-1)


class MeanAbsoluteError(Loss):
    """``mean(abs(y_true - y_pred), axis=-1)``.

    Example:
        >>> float(MeanAbsoluteError()([[1.0, 2.0]], [[2.0, 4.0]]))
        1.5
    """

    name = "mean_absolute_error"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return torch.abs(y_pred - y_true).mean(dim=-1)


class MeanAbsolutePercentageError(Loss):
    """``100 * mean(abs((y_true - y_pred) / y_true), axis=-1)`` (``|y_true|`` at least 1e-7).

    Example:
        >>> float(MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 5.0]]))
        37.5
    """

    name = "mean_absolute_percentage_error"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.mean_absolute_percentage_error(y_true, y_pred)


class MeanSquaredLogarithmicError(Loss):
    """``mean((log(1 + y_pred) - log(1 + y_true)) ** 2, axis=-1)`` (values at least 1e-7).

    Example:
        >>> round(float(MeanSquaredLogarithmicError()([[0.0, 1.0]], [[1.0, 1.0]])), 4)
        0.2402
    """

    name = "mean_squared_logarithmic_error"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.mean_squared_logarithmic_error(y_true, y_pred)


class Huber(Loss):
    """``0.5 * e ** 2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta ** 2``.

    Args:
        delta: Where the loss turns from quadratic to linear. Default: ``1.0``.

    Example:
        >>> float(Huber()([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """

    name = "huber_loss"
    # Keras's config leaves delta out (so a round trip forgets it); lamina keeps it.
    _config_keys = ("delta",)

    def __init__(self, delta: float = 1.0, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.delta = float(delta)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        error = torch.abs(y_pred - y_true)
        quadratic = 0.5 * torch.square(error)
        linear = self.delta * error - 0.5 * self.delta ** 2
        return torch.where(error <= self.delta, quadratic, linear).mean(dim=-1)


class LogCosh(Loss):
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``: quadratic near 0, linear far out.

    Example:
        >>> round(float(LogCosh()([[0.0, 0.0]], [[1.0, 0.0]])), 4)
        0.2169
    """

    name = "log_cosh"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.log_cosh(y_true, y_pred)


class CosineSimilarity(Loss):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (-1 is best).

    Args:
        axis: The feature axis. Default: ``-1``.

    Example:
        >>> float(CosineSimilarity()([[0.0, 2.0]], [[0.0, 3.0]]))
        -1.0
    """

    name = "cosine_similarity"
    # Keras's config leaves axis out (so a round trip forgets it); lamina keeps it.
    _config_keys = ("axis",)

    def __init__(self, axis: int = -1, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None) -> None:
        super().__init__(reduction=reduction, name=name)
        self.axis = axis

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.cosine_similarity(y_true, y_pred, self.axis)


class Poisson(Loss):
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``.

    Example:
        >>> round(float(Poisson()([[1.0, 0.0]], [[1.0, 1.0]])), 4)
        1.0
    """

    name = "poisson"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return functions.poisson(y_true, y_pred)


class KLDivergence(Loss):
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[1e-7, 1]``.

    Example:
        >>> round(float(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
        0.1438
    """

    name = "kl_divergence"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        y_true = y_true.clamp(EPSILON, 1.0)
        y_pred = y_pred.clamp(EPSILON, 1.0)
        return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)

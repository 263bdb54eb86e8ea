"""Regression metrics: R² (``R2Score``) and the Pearson and concordance correlations.

``R2Score`` accumulates per-output sums over every batch; the correlations are computed
per sample over ``axis`` and averaged, as Keras does.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.losses import functions as loss_functions
from lamina.metrics.base import MeanMetricWrapper, Metric
from lamina.utils.shapes import array_to_tensor

_EPSILON = 1e-7


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Per sample: the Pearson correlation of ``y_true`` and ``y_pred`` along ``axis``.

    Example:
        >>> round(pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]]).item(), 4)
        0.9934
    """
    y_true, y_pred = loss_functions.as_tensors(y_true, y_pred)
    true_centred = y_true - y_true.mean(dim=axis, keepdim=True)
    pred_centred = y_pred - y_pred.mean(dim=axis, keepdim=True)
    true_centred = true_centred / true_centred.std(dim=axis, keepdim=True, correction=0)
    pred_centred = pred_centred / pred_centred.std(dim=axis, keepdim=True, correction=0)
    return (true_centred * pred_centred).mean(dim=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Per sample: Lin's concordance correlation along ``axis``, with Keras's covariance
    term ``(y_true - mean(y_pred)) * (y_pred - mean(y_pred))``.

    Example:
        >>> round(concordance_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.5]]).item(), 4)
        0.9524
    """
    y_true, y_pred = loss_functions.as_tensors(y_true, y_pred)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).var(dim=axis, keepdim=True, correction=0)
    pred_var = (y_pred - pred_mean).var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + torch.square(true_mean - pred_mean)
    return (2 * covariance / (norm + _EPSILON)).mean(dim=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """The mean over samples of :func:`pearson_correlation`.

    Example:
        >>> round(float(PearsonCorrelation()([[1.0, 2.0, 3.0]], [[2.0, 4.0, 7.0]])), 4)
        0.9934
    """

    _config_keys = ("axis",)

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None,
                 axis: int = -1) -> None:
        self.axis = axis
        super().__init__(pearson_correlation, name=name, axis=axis)


class ConcordanceCorrelation(MeanMetricWrapper):
    """The mean over samples of :func:`concordance_correlation`.

    Example:
        >>> round(float(ConcordanceCorrelation()([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.5]])), 4)
        0.9524
    """

    _config_keys = ("axis",)

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None,
                 axis: int = -1) -> None:
        self.axis = axis
        super().__init__(concordance_correlation, name=name, axis=axis)


class R2Score(Metric):
    """The coefficient of determination, ``1 - SS_residual / SS_total``, per output.

    Args:
        class_aggregation: ``"uniform_average"`` (mean over outputs),
            ``"variance_weighted_average"`` (weighted by each output's variance) or
            ``None`` (one score per output). Default: ``"uniform_average"``.
        num_regressors: Number of independent variables, for the adjusted R².
            Default: ``0`` (plain R²).

    Inputs are 2-D, ``(batch, outputs)``.

    Example:
        >>> round(float(R2Score()([[1.0], [2.0], [3.0]], [[1.1], [1.9], [3.2]])), 4)
        0.97
    """

    name = "r2_score"
    _config_keys = ("class_aggregation", "num_regressors")

    def __init__(self, class_aggregation: str | None = "uniform_average",
                 num_regressors: int = 0, name: str | None = None, dtype: Any = None) -> None:
        choices = (None, "uniform_average", "variance_weighted_average")
        if class_aggregation not in choices:
            raise ArgumentError("Invalid value for argument `class_aggregation`. Expected one "
                                f"of {choices}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ArgumentError("Invalid value for argument `num_regressors`. Expected a value "
                                f">= 0. Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        super().__init__(name=name)

    def _reset_tensors(self) -> None:
        # Rows: weighted sum, weighted squared sum, weighted squared error, weight.
        self.sums: torch.Tensor | None = None
        self.num_samples = 0

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = loss_functions.as_tensors(y_true, y_pred)
        y_pred = y_pred.detach()
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise ShapeError("R2Score expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={tuple(y_pred.shape)} and "
                             f"y_true.shape={tuple(y_true.shape)}.")
        weight = torch.ones((), device=y_pred.device) if sample_weight is None else (
            array_to_tensor(sample_weight).to(y_pred.device, y_pred.dtype))
        if weight.dim() == 1:
            weight = weight.unsqueeze(1)
        weight = torch.broadcast_to(weight, y_true.shape)
        weighted = y_true * weight
        batch = torch.stack([weighted.sum(0), (y_true * weighted).sum(0),
                             (torch.square(y_true - y_pred) * weight).sum(0), weight.sum(0)])
        self.sums = batch if self.sums is None else self.sums + batch
        self.num_samples += y_true.numel()

    def result(self) -> torch.Tensor:
        if self.sums is None:
            return torch.zeros(())
        total_sum, squared_sum, residual, count = self.sums
        mean = total_sum / count
        total = squared_sum - total_sum * mean
        raw = 1 - residual / total
        raw = torch.where(torch.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum() / total.sum()
        else:
            score = raw
        if self.num_regressors:
            samples, regressors = self.num_samples, self.num_regressors
            if regressors > samples - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif regressors == samples - 1:
                warnings.warn("Division by zero in Adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1 - (1 - score) * (samples - 1) / (samples - regressors - 1)
        return score

"""Metrics by name: ``get`` (what ``compile(metrics=[...])`` uses), ``serialize`` and
``deserialize``.

A string is ``"accuracy"`` (the variant that fits the loss), a Keras class name
(``"AUC"``, ``"F1Score"``), a Keras metric's snake-case name (``"auc"``,
``"binary_crossentropy"``) or a metric function's name (``"mae"``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import losses
from lamina.errors import ArgumentError
from lamina.metrics import classes, confusion, fscore, iou, probabilistic, regression
from lamina.metrics.base import (
    Mean,
    MeanMetricWrapper,
    Metric,
)
from lamina.metrics.functions import (
    accuracy_for,
    binary_accuracy,
    categorical_accuracy,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from lamina.metrics.thresholded import (
    AUC,
    Precision,
    Recall,
)

FUNCTIONS: dict[str, Callable[..., torch.Tensor]] = {fn.__name__: fn for fn in (
    binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_absolute_error,
    mean_squared_error, losses.binary_crossentropy, losses.binary_focal_crossentropy,
    losses.categorical_crossentropy, losses.categorical_focal_crossentropy,
    losses.sparse_categorical_crossentropy, losses.hinge, losses.squared_hinge,
    losses.categorical_hinge, losses.huber, losses.kl_divergence, losses.log_cosh,
    losses.mean_absolute_percentage_error, losses.mean_squared_logarithmic_error,
    losses.poisson, regression.pearson_correlation, regression.concordance_correlation)}
"""Keras's metric functions, by name."""

_ALIASES = {"mae": "mean_absolute_error", "mse": "mean_squared_error",
            "mape": "mean_absolute_percentage_error", "msle": "mean_squared_logarithmic_error",
            "kld": "kl_divergence", "logcosh": "log_cosh"}

CLASSES: dict[str, type[Metric]] = {cls.__name__: cls for cls in (
    Mean, MeanMetricWrapper, AUC, Precision, Recall, classes.Sum, classes.Accuracy,
    classes.BinaryAccuracy, classes.CategoricalAccuracy, classes.SparseCategoricalAccuracy,
    classes.TopKCategoricalAccuracy, classes.SparseTopKCategoricalAccuracy,
    classes.MeanSquaredError, classes.MeanAbsoluteError, classes.RootMeanSquaredError,
    probabilistic.BinaryCrossentropy, probabilistic.CategoricalCrossentropy,
    probabilistic.SparseCategoricalCrossentropy, probabilistic.KLDivergence,
    probabilistic.Poisson, probabilistic.Hinge, probabilistic.SquaredHinge,
    probabilistic.CategoricalHinge, probabilistic.LogCoshError,
    probabilistic.MeanAbsolutePercentageError, probabilistic.MeanSquaredLogarithmicError,
    probabilistic.CosineSimilarity, confusion.TruePositives, confusion.FalsePositives,
    confusion.TrueNegatives, confusion.FalseNegatives, confusion.PrecisionAtRecall,
    confusion.RecallAtPrecision, confusion.SensitivityAtSpecificity,
    confusion.SpecificityAtSensitivity, fscore.F1Score, fscore.FBetaScore,
    regression.R2Score, regression.PearsonCorrelation, regression.ConcordanceCorrelation,
    iou.IoU, iou.MeanIoU, iou.BinaryIoU, iou.OneHotIoU, iou.OneHotMeanIoU)}
"""Every Keras metric class lamina has, by class name."""

# Snake-case names that build a metric object (as Keras's ``metrics.get`` does).
_OBJECT_NAMES: dict[str, type[Metric]] = {
    "auc": AUC, "precision": Precision, "recall": Recall,
    "binary_crossentropy": probabilistic.BinaryCrossentropy,
    "categorical_crossentropy": probabilistic.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": probabilistic.SparseCategoricalCrossentropy,
    "kl_divergence": probabilistic.KLDivergence, "poisson": probabilistic.Poisson,
    "hinge": probabilistic.Hinge, "squared_hinge": probabilistic.SquaredHinge,
    "categorical_hinge": probabilistic.CategoricalHinge, "log_cosh": probabilistic.LogCoshError,
    "logcosh": probabilistic.LogCoshError,
    "mean_absolute_percentage_error": probabilistic.MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": probabilistic.MeanSquaredLogarithmicError,
    "cosine_similarity": probabilistic.CosineSimilarity,
    "root_mean_squared_error": classes.RootMeanSquaredError,
    "true_positives": confusion.TruePositives, "false_positives": confusion.FalsePositives,
    "true_negatives": confusion.TrueNegatives, "false_negatives": confusion.FalseNegatives,
    "f1_score": fscore.F1Score, "fbeta_score": fscore.FBetaScore,
    "r2_score": regression.R2Score, "pearson_correlation": regression.PearsonCorrelation,
    "concordance_correlation": regression.ConcordanceCorrelation,
}
_FUNCTION_ONLY = ("binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                  "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                  "mean_absolute_error", "mean_squared_error", "mae", "mse")


def _build(cls: type[Metric], name: str | None = None) -> Metric:
    try:
        return cls() if name is None else cls(name=name)
    except TypeError as error:
        raise ArgumentError(f"Metric {cls.__name__} needs arguments ({error}); pass "
                            f"lamina.metrics.{cls.__name__}(...) instead of its name.") from None


def get(identifier: Any, loss: losses.Loss | None = None,
        true_shape: tuple[int, ...] | None = None,
        pred_shape: tuple[int, ...] | None = None) -> Metric:
    """A metric from a Keras name, a :class:`Metric` (that object itself, as in Keras), a
    config or a function.

    ``"accuracy"`` (or ``"acc"``) becomes the variant that fits ``loss`` and the shapes.

    Example:
        >>> get("mae").name, type(get("auc")).__name__, type(get("F1Score")).__name__
        ('mae', 'AUC', 'F1Score')
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return MeanMetricWrapper(accuracy_for(loss, true_shape, pred_shape), name=identifier)
        if key in _FUNCTION_ONLY:
            return MeanMetricWrapper(FUNCTIONS[_ALIASES.get(key, key)], name=identifier)
        if identifier in CLASSES:
            return _build(CLASSES[identifier])
        key = _ALIASES.get(key, key)
        if key in _OBJECT_NAMES:
            return _build(_OBJECT_NAMES[key], identifier)
        if key in FUNCTIONS:
            return MeanMetricWrapper(FUNCTIONS[key], name=identifier)
    elif isinstance(identifier, dict):
        found = deserialize(identifier)
        return found if isinstance(found, Metric) else MeanMetricWrapper(found)
    elif isinstance(identifier, type) and issubclass(identifier, Metric):
        return _build(identifier)
    elif callable(identifier):
        return MeanMetricWrapper(identifier)
    raise ArgumentError(
        f"Unknown metric: received {identifier!r}. Use 'accuracy', a class name from "
        f"{sorted(CLASSES)}, or one of {sorted([*FUNCTIONS, *_OBJECT_NAMES, *_ALIASES])}, a "
        "lamina.metrics.Metric, or a function fn(y_true, y_pred) returning per-sample values."
    )


def serialize(metric: Metric | Any) -> dict[str, Any]:
    """Keras's serialized form of a metric object or metric function.

    Example:
        >>> serialize(get("auc"))["class_name"], serialize(mean_squared_error)["config"]
        ('AUC', 'mean_squared_error')
    """
    if isinstance(metric, Metric) and type(metric).__name__ in CLASSES:
        config = metric.get_config()
        if isinstance(config.get("fn"), str):
            config["fn"] = serialize(FUNCTIONS.get(config["fn"], metric.fn))
        return {"module": "keras.metrics", "class_name": type(metric).__name__,
                "config": config, "registered_name": None}
    if callable(metric) and FUNCTIONS.get(getattr(metric, "__name__", "")) is metric:
        return {"module": "builtins", "class_name": "function", "config": metric.__name__,
                "registered_name": "function"}
    raise ArgumentError(f"Cannot serialize {metric!r}: it is not one of Keras's metrics. "
                        "Store a custom metric's own config with its get_config().")


def deserialize(config: dict[str, Any] | str) -> Metric | Any:
    """The metric object or function a :func:`serialize` result (lamina's or Keras's)
    names; a string is a metric function's name (or a class name).

    Example:
        >>> deserialize({"class_name": "F1Score", "config": {"average": "macro"}}).average
        'macro'
    """
    if isinstance(config, str):
        key = _ALIASES.get(config, config)
        if key in FUNCTIONS:
            return FUNCTIONS[key]
        if config in CLASSES:
            return _build(CLASSES[config])
    elif isinstance(config, dict) and config.get("class_name") == "function":
        return deserialize(str(config.get("config")))
    elif isinstance(config, dict) and config.get("class_name") in CLASSES:
        arguments = dict(config.get("config") or {})
        if "fn" in arguments:
            arguments["fn"] = deserialize(arguments["fn"])
        return CLASSES[config["class_name"]].from_config(arguments)
    raise ArgumentError(f"Could not deserialize the metric {config!r}: expected a Keras "
                        f"metric class ({sorted(CLASSES)}) or function ({sorted(FUNCTIONS)}).")

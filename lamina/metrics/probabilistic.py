"""Keras 3's metrics that average a loss function: crossentropies, KL divergence, Poisson,
hinges, log-cosh, percentage and logarithmic errors, cosine similarity.

Each is the (weighted) mean over every sample seen of the matching Keras function; the
ranks of ``y_true`` and ``y_pred`` are fitted first, as Keras's ``MeanMetricWrapper`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.losses import functions as loss_functions
from lamina.metrics.base import MeanMetricWrapper


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Per sample: ``sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)`` (1 is best)."""
    return -loss_functions.cosine_similarity(y_true, y_pred, axis)


class _LossMean(MeanMetricWrapper):
    """The mean of a loss function; subclasses set ``_function`` and the config keys."""

    _function: Callable[..., torch.Tensor]

    def __init__(self, name: str, **fn_kwargs: Any) -> None:
        super().__init__(type(self)._function, name=name, **fn_kwargs)
        for key in self._config_keys:
            setattr(self, key, fn_kwargs.get(key))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true, y_pred = loss_functions.as_tensors(y_true, y_pred)
        super().update_state(y_true, y_pred.detach(), sample_weight)


class BinaryCrossentropy(_LossMean):
    """The mean binary crossentropy.

    Example:
        >>> round(float(BinaryCrossentropy()([[1.0], [0.0]], [[0.8], [0.1]])), 4)
        0.1643
    """

    _function = staticmethod(loss_functions.binary_crossentropy)
    _config_keys = ("from_logits", "label_smoothing")

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0) -> None:
        super().__init__(name, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_LossMean):
    """The mean categorical crossentropy of one-hot labels.

    Example:
        >>> round(float(CategoricalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])), 4)
        0.2231
    """

    _function = staticmethod(loss_functions.categorical_crossentropy)
    _config_keys = ("from_logits", "label_smoothing", "axis")

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, label_smoothing: float = 0,
                 axis: int = -1) -> None:
        super().__init__(name, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)


class SparseCategoricalCrossentropy(_LossMean):
    """The mean categorical crossentropy of integer labels.

    Example:
        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.2, 0.8]])), 4)
        0.2231
    """

    _function = staticmethod(loss_functions.sparse_categorical_crossentropy)
    _config_keys = ("from_logits", "ignore_class", "axis")

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None,
                 from_logits: bool = False, ignore_class: int | None = None,
                 axis: int = -1) -> None:
        super().__init__(name, from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        # Labels have no class axis: skip the rank fitting of the other wrappers.
        MeanMetricWrapper.update_state(self, y_true, y_pred, sample_weight)


def _simple(class_name: str, function: Callable[..., torch.Tensor], default_name: str,
            summary: str, example: str) -> type[_LossMean]:
    def __init__(self: _LossMean, name: str = default_name, dtype: Any = None) -> None:
        _LossMean.__init__(self, name)

    doc = f"{summary}\n\n    Example:\n        >>> {example}\n"
    return type(class_name, (_LossMean,), {
        "__init__": __init__, "_function": staticmethod(function), "__doc__": doc,
        "__module__": __name__, "__qualname__": class_name})


KLDivergence = _simple("KLDivergence", loss_functions.kl_divergence, "kl_divergence",
                       "The mean Kullback-Leibler divergence.",
                       "round(float(KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)"
                       "\n        0.1438")
Poisson = _simple("Poisson", loss_functions.poisson, "poisson", "The mean Poisson loss.",
                  "round(float(Poisson()([[1.0, 0.0]], [[1.0, 1.0]])), 4)\n        1.0")
Hinge = _simple("Hinge", loss_functions.hinge, "hinge", "The mean hinge loss.",
                "round(float(Hinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)\n        0.9")
SquaredHinge = _simple("SquaredHinge", loss_functions.squared_hinge, "squared_hinge",
                       "The mean squared hinge loss.",
                       "round(float(SquaredHinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)"
                       "\n        1.06")
CategoricalHinge = _simple("CategoricalHinge", loss_functions.categorical_hinge,
                           "categorical_hinge", "The mean categorical hinge loss.",
                           "round(float(CategoricalHinge()([[0.0, 1.0]], [[0.4, 0.6]])), 4)"
                           "\n        0.8")
LogCoshError = _simple("LogCoshError", loss_functions.log_cosh, "logcosh",
                       "The mean of ``log(cosh(y_pred - y_true))``.",
                       "round(float(LogCoshError()([[0.0, 0.0]], [[1.0, 0.0]])), 4)"
                       "\n        0.2169")
MeanAbsolutePercentageError = _simple(
    "MeanAbsolutePercentageError", loss_functions.mean_absolute_percentage_error,
    "mean_absolute_percentage_error", "The mean absolute percentage error.",
    "float(MeanAbsolutePercentageError()([[2.0, 4.0]], [[1.0, 5.0]]))\n        37.5")
MeanSquaredLogarithmicError = _simple(
    "MeanSquaredLogarithmicError", loss_functions.mean_squared_logarithmic_error,
    "mean_squared_logarithmic_error", "The mean squared logarithmic error.",
    "round(float(MeanSquaredLogarithmicError()([[0.0, 1.0]], [[1.0, 1.0]])), 4)"
    "\n        0.2402")


class CosineSimilarity(_LossMean):
    """The mean cosine similarity of ``y_true`` and ``y_pred`` (1 is best).

    Example:
        >>> float(CosineSimilarity()([[0.0, 2.0]], [[0.0, 3.0]]))
        1.0
    """

    _function = staticmethod(cosine_similarity)

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None,
                 axis: int = -1) -> None:
        super().__init__(name, axis=axis)
        self.axis = axis

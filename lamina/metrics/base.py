"""Metrics by their Keras names: stateful objects that accumulate over batches.

``update_state(y_true, y_pred, sample_weight=None)`` adds a batch, ``result()`` returns
the value so far, ``reset_state()`` starts over. State is kept in tensors on the
predictions' device and updated without reading values back to Python, so a training
loop pays for a host sync only when it asks for ``result()`` (when the progress bar
updates, and at the end of an epoch).

Example:
    >>> metric = MeanMetricWrapper(sparse_categorical_accuracy)
    >>> metric.update_state(torch.tensor([0, 1]), torch.tensor([[0.9, 0.1], [0.8, 0.2]]))
    >>> metric.update_state(torch.tensor([1]), torch.tensor([[0.3, 0.7]]))
    >>> round(float(metric.result()), 4)
    0.6667
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import initializers, losses
from lamina.errors import ArgumentError
from lamina.utils.shapes import array_to_tensor
from lamina.variables import Variable


class Metric:
    """Base class of stateful metrics.

    Args:
        name: Name in logs (``val_`` is prepended for validation). Default: the Keras name.
        dtype: Accepted for Keras compatibility (and kept in the config); state is float32.
    """

    name = "metric"
    #: Constructor arguments that ``get_config`` adds to ``name`` and ``dtype``.
    _config_keys: tuple[str, ...] = ()
    #: The ``dtype`` Keras reports in the config.
    _config_dtype = "float32"

    def __init__(self, name: str | None = None, dtype: Any = None) -> None:
        if name is not None:
            self.name = name
        self._state_variables: list[Variable] = []
        self._reset_tensors()

    # ------------------------------------------------------------------ Keras-style state
    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Variable:
        """A non-trainable state variable, reset to zeros by :meth:`reset_state` (as Keras).

        How a metric written for Keras keeps its state: create variables in ``__init__``,
        ``assign``/``assign_add`` them in ``update_state``, read them in ``result``.
        ``aggregation`` is accepted for Keras compatibility (one process sums nothing).

        Example:
            >>> class Total(Metric):
            ...     def __init__(self):
            ...         super().__init__(name="total")
            ...         self.total = self.add_variable(initializer="zeros", name="total")
            ...     def update_state(self, values, sample_weight=None):
            ...         self.total.assign_add(torch.as_tensor(values).sum())
            ...     def result(self):
            ...         return self.total
            >>> metric = Total()
            >>> metric.update_state([1.0, 2.0])
            >>> float(metric.result())
            3.0
            >>> metric.reset_state()
            >>> float(metric.result())
            0.0
        """
        if "_state_variables" not in self.__dict__:
            raise ArgumentError(
                f"{type(self).__name__}.add_variable() was called before Metric.__init__. Call "
                "super().__init__(name=...) first in your metric's __init__."
            )
        init = initializers.get(initializer if initializer is not None else "zeros")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        variable = Variable(init(shape, dtype=dtype or "float32"), trainable=False,
                            name=name or f"variable_{len(self._state_variables)}", dtype=dtype)
        self._state_variables.append(variable)
        return variable

    def add_weight(self, shape: Any = (), initializer: Any = None, dtype: Any = None,
                   name: str | None = None) -> Variable:
        """Keras's older name for :meth:`add_variable` (``initializer=None`` means zeros)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    @property
    def variables(self) -> list[Variable]:
        """The variables made with :meth:`add_variable` (lamina's own metrics keep plain
        tensors instead, which they replace when reset)."""
        return list(self.__dict__.get("_state_variables", ()))

    def _reset_tensors(self) -> None:
        """Create or zero the plain-tensor state of lamina's own metrics (none here)."""

    def get_config(self) -> dict[str, Any]:
        """Keras's config: ``name``, ``dtype`` and the metric's own arguments."""
        return {"name": self.name, "dtype": self._config_dtype,
                **{key: getattr(self, key) for key in self._config_keys}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Metric:
        """The metric a :meth:`get_config` (lamina's or Keras's) describes."""
        return cls(**config)

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add one batch."""
        raise NotImplementedError(f"{type(self).__name__} must define update_state().")

    def result(self) -> torch.Tensor:
        """The metric over every batch added since the last reset (a 0-d tensor)."""
        raise NotImplementedError(f"{type(self).__name__} must define result().")

    def reset_state(self) -> None:
        """Forget every batch: zero every variable (and lamina's own tensor state)."""
        self._reset_tensors()
        for variable in self.variables:
            variable.assign(torch.zeros_like(variable))

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Update with one batch and return the result, as a Keras metric does."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class Mean(Metric):
    """The (weighted) mean of every value passed to ``update_state(values, sample_weight)``.

    Example:
        >>> mean = Mean()
        >>> mean.update_state(torch.tensor([1.0, 3.0]))
        >>> mean.update_state(torch.tensor([5.0]), sample_weight=torch.tensor([2.0]))
        >>> float(mean.result())  # (1 + 3 + 2 * 5) / (1 + 1 + 2)
        3.5
    """

    name = "mean"

    def _reset_tensors(self) -> None:
        self.total = torch.zeros(())
        self.count = torch.zeros(())

    def update_state(self, values: Any, sample_weight: Any = None) -> None:  # type: ignore[override]
        values = array_to_tensor(values).detach()
        if self.total.device != values.device:
            self.total, self.count = self.total.to(values.device), self.count.to(values.device)
        if sample_weight is None:
            self.total.add_(values.sum())
            self.count.add_(values.numel())
            return
        weight = array_to_tensor(sample_weight).to(values.dtype)
        if weight.dim() > values.dim() and weight.numel() == 1:
            weight = weight.reshape(())  # one weight for a scalar value
        while weight.dim() > values.dim() and weight.shape[-1] == 1:
            weight = weight.squeeze(-1)  # (n, 1) weights for (n,) values, as Keras
        if weight.dim() < values.dim():
            weight = weight.reshape(*weight.shape, *([1] * (values.dim() - weight.dim())))
        weight = torch.broadcast_to(weight, values.shape)
        self.total.add_((values * weight).sum())
        self.count.add_(weight.sum())

    def result(self) -> torch.Tensor:
        return self.total / torch.clamp(self.count, min=1e-12)


class MeanMetricWrapper(Mean):
    """The weighted mean of ``fn(y_true, y_pred)``, a function giving per-sample values.

    Example:
        >>> metric = MeanMetricWrapper(lambda t, p: (t - p).abs(), name="abs_error")
        >>> float(metric(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.5])))
        0.5
    """

    def __init__(self, fn: Callable[..., torch.Tensor], name: str | None = None,
                 dtype: Any = None, **fn_kwargs: Any) -> None:
        self.fn = fn
        self.fn_kwargs = fn_kwargs
        super().__init__(name=name or getattr(fn, "__name__", "metric"))

    def get_config(self) -> dict[str, Any]:
        """As Keras: a bare wrapper names its function as ``fn``; subclasses do not."""
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return config

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = array_to_tensor(y_pred).detach()
        y_true = array_to_tensor(y_true)
        super().update_state(self.fn(y_true, y_pred, **self.fn_kwargs), sample_weight)


# ---------------------------------------------------------------- per-sample functions
def _fit_rank(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Add or drop a trailing axis of size 1 on ``y_true`` so ranks match (as Keras does)."""
    if y_true.dim() == y_pred.dim() - 1 and y_pred.shape[-1] == 1:
        return y_true.unsqueeze(-1)
    if y_true.dim() == y_pred.dim() + 1 and y_true.shape[-1] == 1:
        return y_true.squeeze(-1)
    return y_true


def binary_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                    threshold: float = 0.5) -> torch.Tensor:
    """Per sample: the fraction of ``(y_pred > threshold) == y_true`` over the last axis."""
    y_true = _fit_rank(y_true, y_pred)
    return ((y_pred > threshold) == (y_true > 0.5)).float().mean(dim=-1)


def categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: 1 where ``argmax(y_pred) == argmax(y_true)``."""
    return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: 1 where ``argmax(y_pred)`` equals the integer label."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return (y_pred.argmax(dim=-1) == y_true).float()


def sparse_top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                                      k: int = 5) -> torch.Tensor:
    """Per sample: 1 where the label's score is among the ``k`` largest (ties count as in)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    k = min(k, y_pred.shape[-1])
    kth_largest = torch.topk(y_pred, k, dim=-1).values[..., -1]
    label_score = torch.gather(y_pred, -1, y_true.long().unsqueeze(-1)).squeeze(-1)
    return (label_score >= kth_largest).float()


def top_k_categorical_accuracy(y_true: torch.Tensor, y_pred: torch.Tensor,
                               k: int = 5) -> torch.Tensor:
    """Per sample: 1 where the true class (argmax of one-hot) is in the top ``k``."""
    return sparse_top_k_categorical_accuracy(y_true.argmax(dim=-1), y_pred, k)


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: ``mean(abs(y_true - y_pred), axis=-1)``."""
    return torch.abs(y_pred - _fit_rank(y_true, y_pred)).mean(dim=-1)


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
    """Per sample: ``mean((y_true - y_pred) ** 2, axis=-1)``."""
    return torch.square(y_pred - _fit_rank(y_true, y_pred)).mean(dim=-1)


# ---------------------------------------------------------------- confusion-matrix metrics
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
        y_true = _fit_rank(array_to_tensor(y_true), y_pred)
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
        y_true = _fit_rank(array_to_tensor(y_true), y_pred).to(torch.float32).reshape(-1)
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


# ---------------------------------------------------------------- accuracy for a loss
def accuracy_for(loss: losses.Loss | None, true_shape: tuple[int, ...] | None = None,
                 pred_shape: tuple[int, ...] | None = None) -> Callable[..., torch.Tensor]:
    """The accuracy that fits a loss (Keras's ``"accuracy"`` resolution), else the shapes.

    Binary crossentropy from logits thresholds at 0 instead of 0.5.

    Example:
        >>> accuracy_for(losses.get("sparse_categorical_crossentropy")).__name__
        'sparse_categorical_accuracy'
    """
    if isinstance(loss, losses.BinaryCrossentropy):
        if loss.from_logits:
            def binary_accuracy_logits(y_true: torch.Tensor, y_pred: torch.Tensor) -> Any:
                return binary_accuracy(y_true, y_pred, threshold=0.0)
            return binary_accuracy_logits
        return binary_accuracy
    if isinstance(loss, (losses.SparseCategoricalCrossentropy,
                         losses.CategoricalGeneralizedCrossEntropy)):
        return sparse_categorical_accuracy
    if isinstance(loss, losses.CategoricalCrossentropy):
        return categorical_accuracy
    if pred_shape is not None and pred_shape[-1] == 1:
        return binary_accuracy
    if true_shape is not None and pred_shape is not None and (
            len(true_shape) < len(pred_shape) or true_shape[-1] == 1):
        return sparse_categorical_accuracy
    return categorical_accuracy

"""Losses by their Keras names, with Keras's formulas and reduction.

A loss maps ``(y_true, y_pred)`` to one value per sample (the class or feature axis is
reduced inside the loss, as in Keras), then multiplies by ``sample_weight`` and averages
over the batch: ``sum(weight * per_sample) / number_of_per_sample_values`` (Keras's
``"sum_over_batch_size"``). Crossentropies computed from probabilities clip them to
``[1e-7, 1 - 1e-7]`` like Keras; the fused torch kernels are used where they give the
same numbers (crossentropy from logits, sparse crossentropy). Training checks targets
once per data set (:meth:`Loss.check_targets`), then calls :meth:`Loss.compute` per batch.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, DataError, ShapeError
from lamina.keras_names import missing_name
from lamina.utils.shapes import array_to_tensor

EPSILON = 1e-7
_REDUCTIONS = ("sum_over_batch_size", "sum", "none")


def _shape_text(shape: tuple[int, ...]) -> str:
    return str((None, *shape[1:])) if shape else "()"


class Loss:
    """Base class: subclasses write :meth:`call`, which returns the per-sample losses.

    Args:
        reduction: ``"sum_over_batch_size"`` (mean over the per-sample values),
            ``"sum"`` or ``"none"``. Default: ``"sum_over_batch_size"``.
        name: Name used in logs. Default: the Keras name of the loss.

    Example:
        >>> mse = MeanSquaredError()
        >>> float(mse([[0.0, 1.0]], [[1.0, 1.0]]))
        0.5
    """

    name = "loss"
    #: Whether targets must lie in [0, 1] (checked once per data set).
    _bounded_targets = False

    def __init__(self, reduction: str = "sum_over_batch_size", name: str | None = None) -> None:
        if reduction not in _REDUCTIONS:
            raise ArgumentError(f"{type(self).__name__}: reduction must be one of "
                                f"{_REDUCTIONS}, received {reduction!r}.")
        self.reduction = reduction
        if name is not None:
            self.name = name

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Per-sample losses: the predictions' shape without the last axis."""
        raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred).")

    def compute(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The reduced loss for targets already passed through :meth:`check_targets`."""
        return self._reduce(self.call(y_true, y_pred), sample_weight)

    def _reduce(self, values: torch.Tensor, sample_weight: torch.Tensor | None) -> torch.Tensor:
        if sample_weight is not None:
            if sample_weight.dim() < values.dim():
                sample_weight = sample_weight.reshape(
                    *sample_weight.shape, *([1] * (values.dim() - sample_weight.dim())))
            values = values * sample_weight
        if self.reduction == "none":
            return values
        total = values.sum()
        return total if self.reduction == "sum" else total / max(values.numel(), 1)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        y_pred = array_to_tensor(y_pred)
        y_true = self.check_targets(array_to_tensor(y_true), tuple(y_pred.shape),
                                    check_values=False)
        weight = None if sample_weight is None else array_to_tensor(sample_weight).to(y_pred.dtype)
        return self.compute(y_true, y_pred, weight)

    # ------------------------------------------------------------------ checking targets
    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        """Targets fitted to predictions of ``pred_shape``, or a clear error.

        A trailing axis of size 1 is added or removed to match (Keras does the same);
        float targets become float32. ``check_values`` also checks that labels lie in the
        range the loss expects. Runs once per data set, never per batch of array data.
        """
        shape = tuple(y_true.shape)
        if len(shape) == len(pred_shape) + 1 and shape[-1] == 1:
            y_true, shape = y_true.squeeze(-1), shape[:-1]
        elif len(shape) + 1 == len(pred_shape) and pred_shape[-1] == 1:
            y_true, shape = y_true.unsqueeze(-1), (*shape, 1)
        if shape[1:] != tuple(pred_shape[1:]):
            hint = (" For integer class labels use loss='sparse_categorical_crossentropy'."
                    if len(shape) + 1 == len(pred_shape) else "")
            raise ShapeError(
                f"Loss '{self.name}'{where} expects targets shaped like the predictions, "
                f"{_shape_text(pred_shape)}; received targets of shape {_shape_text(shape)} "
                f"(full shape {shape}). Reshape the targets or pick a loss that fits.{hint}"
            )
        if not y_true.is_floating_point() or y_true.dtype == torch.float64:
            y_true = y_true.float()
        if check_values and self._bounded_targets and y_true.numel():
            low, high = float(y_true.min()), float(y_true.max())
            if low < 0.0 or high > 1.0:
                raise DataError(
                    f"Loss '{self.name}'{where} expects targets between 0 and 1, received "
                    f"values from {low:g} to {high:g}. Scale the targets, or for class "
                    "indices use loss='sparse_categorical_crossentropy'."
                )
        return y_true


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


class Huber(Loss):
    """``0.5 * e ** 2`` where ``|e| <= delta``, else ``delta * |e| - 0.5 * delta ** 2``.

    Args:
        delta: Where the loss turns from quadratic to linear. Default: ``1.0``.

    Example:
        >>> float(Huber()([[0.0, 0.0]], [[0.5, 3.0]]))
        1.3125
    """

    name = "huber_loss"

    def __init__(self, delta: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delta = float(delta)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        error = torch.abs(y_pred - y_true)
        quadratic = 0.5 * torch.square(error)
        linear = self.delta * error - 0.5 * self.delta ** 2
        return torch.where(error <= self.delta, quadratic, linear).mean(dim=-1)


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


class CosineSimilarity(Loss):
    """``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis=-1)`` (-1 is best).

    Example:
        >>> float(CosineSimilarity()([[0.0, 2.0]], [[0.0, 3.0]]))
        -1.0
    """

    name = "cosine_similarity"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        y_true = y_true * torch.rsqrt(torch.clamp((y_true * y_true).sum(-1, keepdim=True), 1e-12))
        y_pred = y_pred * torch.rsqrt(torch.clamp((y_pred * y_pred).sum(-1, keepdim=True), 1e-12))
        return -(y_true * y_pred).sum(dim=-1)


class _Crossentropy(Loss):
    """Shared arguments of the binary and categorical crossentropies."""

    _bounded_targets = True

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)


class BinaryCrossentropy(_Crossentropy):
    """Keras's binary crossentropy, averaged over the last axis.

    Args:
        from_logits: Whether predictions are logits rather than probabilities.
            Default: ``False``.
        label_smoothing: Moves targets towards 0.5 by this fraction. Default: ``0.0``.

    Example:
        >>> round(float(BinaryCrossentropy()([[1.0], [0.0]], [[0.8], [0.1]])), 4)
        0.1643
    """

    name = "binary_crossentropy"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        else:
            clipped = y_pred.clamp(EPSILON, 1.0 - EPSILON)
            values = F.binary_cross_entropy(clipped, y_true, reduction="none")
        return values.mean(dim=-1)


class CategoricalCrossentropy(_Crossentropy):
    """``-sum(y_true * log(y_pred), axis=-1)`` for one-hot (or soft) targets.

    From probabilities, predictions are divided by their sum and clipped to
    ``[1e-7, 1 - 1e-7]`` first, as in Keras.

    Args:
        from_logits: Whether predictions are logits. Default: ``False``.
        label_smoothing: Mixes targets with the uniform distribution. Default: ``0.0``.

    Example:
        >>> round(float(CategoricalCrossentropy()([[0.0, 1.0]], [[0.2, 0.8]])), 4)
        0.2231
    """

    name = "categorical_crossentropy"

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        if self.label_smoothing:
            classes = y_pred.shape[-1]
            y_true = y_true * (1.0 - self.label_smoothing) + self.label_smoothing / classes
        return -(y_true * _log_probabilities(y_pred, self.from_logits)).sum(dim=-1)


class SparseCategoricalCrossentropy(Loss):
    """Categorical crossentropy with integer class labels instead of one-hot targets.

    Targets have the predictions' shape without the class axis (or with a class axis of
    size 1) and hold class indices in ``[0, classes)``.

    Args:
        from_logits: Whether predictions are logits. Default: ``False``.

    Example:
        >>> round(float(SparseCategoricalCrossentropy()([1], [[0.2, 0.8]])), 4)
        0.2231
    """

    name = "sparse_categorical_crossentropy"

    def __init__(self, from_logits: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.from_logits = bool(from_logits)

    def _crossentropy(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                      reduction: str) -> torch.Tensor:
        classes = y_pred.shape[-1]
        flat_pred, flat_true = y_pred.reshape(-1, classes), y_true.reshape(-1)
        if self.from_logits:
            return F.cross_entropy(flat_pred, flat_true, reduction=reduction)
        return F.nll_loss(_log_probabilities(flat_pred, False), flat_true, reduction=reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self._crossentropy(y_true, y_pred, "none").reshape(y_true.shape)

    def compute(self, y_true: torch.Tensor, y_pred: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        if sample_weight is None and self.reduction == "sum_over_batch_size":
            # The fused mean is Keras's sum_over_batch_size without a per-sample temporary.
            return self._crossentropy(y_true, y_pred, "mean")
        return super().compute(y_true, y_pred, sample_weight)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        shape = tuple(y_true.shape)
        if len(shape) == len(pred_shape) and shape[-1] == 1:
            y_true, shape = y_true.squeeze(-1), shape[:-1]
        if shape[1:] != tuple(pred_shape[1:-1]):
            hint = (" For one-hot targets use loss='categorical_crossentropy'."
                    if shape[1:] == tuple(pred_shape[1:]) else "")
            raise ShapeError(
                f"Loss '{self.name}'{where} expects integer labels of shape "
                f"{_shape_text(pred_shape[:-1])} for predictions of shape "
                f"{_shape_text(pred_shape)}; received targets of shape {_shape_text(shape)} "
                f"(full shape {shape}).{hint}"
            )
        classes = pred_shape[-1]
        if not check_values or not y_true.numel():
            return y_true.long()
        if y_true.is_floating_point() and not bool((y_true == y_true.round()).all()):
            raise DataError(f"Loss '{self.name}'{where} expects integer class labels, received "
                            "fractional values. Pass class indices, or use "
                            "loss='categorical_crossentropy' for soft targets.")
        low, high = int(y_true.min()), int(y_true.max())
        if low < 0 or high >= classes:
            raise DataError(
                f"Loss '{self.name}'{where} expects class labels in [0, {classes}) for "
                f"predictions with {classes} classes, received labels from {low} to {high}. "
                "Fix the labels, or give the last layer as many units as there are classes."
            )
        return y_true.long()


def _log_probabilities(y_pred: torch.Tensor, from_logits: bool) -> torch.Tensor:
    if from_logits:
        return torch.log_softmax(y_pred, dim=-1)
    y_pred = y_pred / y_pred.sum(dim=-1, keepdim=True)
    return torch.log(y_pred.clamp(EPSILON, 1.0 - EPSILON))


_BY_NAME: dict[str, type[Loss]] = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "huber": Huber, "huber_loss": Huber, "cosine_similarity": CosineSimilarity,
    "kl_divergence": KLDivergence, "kld": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
}


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred)`` returning per-sample values.

    Example:
        >>> squared_log = LossFunctionWrapper(lambda t, p: torch.log1p((t - p) ** 2).sum(-1))
        >>> round(float(squared_log([[0.0]], [[1.0]])), 4)
        0.6931
    """

    def __init__(self, fn: Any, name: str | None = None, **kwargs: Any) -> None:
        super().__init__(name=name or getattr(fn, "__name__", "loss"), **kwargs)
        self.fn = fn

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred)

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        # A custom function decides its own target layout; only make floats float32.
        return y_true.float() if y_true.dtype == torch.float64 else y_true


def get(identifier: str | Loss | Any) -> Loss:
    """A loss from a Keras name, a :class:`Loss` (returned as is) or a function.

    Example:
        >>> type(get("sparse_categorical_crossentropy")).__name__
        'SparseCategoricalCrossentropy'
    """
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() in _BY_NAME:
            return _BY_NAME[identifier.lower()](name=identifier)
    elif isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    elif callable(identifier):
        return LossFunctionWrapper(identifier)
    raise ArgumentError(
        f"Unknown loss: received {identifier!r}. Use one of {sorted(_BY_NAME)}, a "
        "lamina.losses.Loss, or a function fn(y_true, y_pred) returning per-sample losses."
    )


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('losses', name, globals())

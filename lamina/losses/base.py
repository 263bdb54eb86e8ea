"""The :class:`Loss` base class: reduction, sample weights, target checks and configs.

A loss maps ``(y_true, y_pred)`` to one value per sample (the class or feature axis is
reduced inside the loss, as in Keras), then multiplies by ``sample_weight`` and averages
over the batch: ``sum(weight * per_sample) / number_of_per_sample_values`` (Keras's
``"sum_over_batch_size"``). Training checks targets once per data set
(:meth:`Loss.check_targets`), then calls :meth:`Loss.compute` per batch.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError, DataError, ShapeError
from lamina.utils.shapes import array_to_tensor

#: Keras's ``backend.epsilon()``: the clip used by crossentropies and ratios.
EPSILON = 1e-7
REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape as an error message shows it: the batch axis as ``None``."""
    return str((None, *shape[1:])) if shape else "()"


class Loss:
    """Base class: subclasses write :meth:`call`, which returns the per-sample losses.

    Args:
        reduction: ``"sum_over_batch_size"`` or ``"mean"`` (the mean over the values),
            ``"mean_with_sample_weight"`` (divided by the sum of
            the weights), ``"sum"``, or ``"none"`` / ``None``.
            Default: ``"sum_over_batch_size"``.
        name: Name used in logs. Default: the Keras name of the loss.
        dtype: Accepted for Keras compatibility; losses compute in the predictions' dtype.

    Example:
        >>> class AbsoluteSum(Loss):
        ...     name = "absolute_sum"
        ...     def call(self, y_true, y_pred):
        ...         return (y_true - y_pred).abs().sum(dim=-1)
        >>> float(AbsoluteSum()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 3.0], [0.0, 0.0]]))
        1.5
        >>> AbsoluteSum.from_config(AbsoluteSum(reduction="sum").get_config()).reduction
        'sum'
    """

    name = "loss"
    #: Whether targets must lie in [0, 1] (checked once per data set).
    _bounded_targets = False
    #: Whether targets may broadcast against the predictions (Keras's elementwise losses
    #: compute ``y_true - y_pred``; its crossentropies need equal shapes).
    _broadcast_targets = True
    #: Constructor arguments that ``get_config`` adds to ``name`` and ``reduction``.
    _config_keys: tuple[str, ...] = ()

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None) -> None:
        if reduction not in REDUCTIONS:
            raise ArgumentError(f"{type(self).__name__}: reduction must be one of "
                                f"{REDUCTIONS}, received {reduction!r}.")
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
            elif sample_weight.dim() == values.dim() + 1 and sample_weight.shape[-1] == 1:
                sample_weight = sample_weight.squeeze(-1)
            values = values * sample_weight
        if self.reduction in ("none", None) or values.dim() == 0:
            return values
        total = values.sum()
        if self.reduction == "sum":
            return total
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            divisor = torch.broadcast_to(sample_weight, values.shape).sum()
            return torch.where(divisor != 0, total / divisor, torch.zeros_like(total))
        return total / max(values.numel(), 1)

    def _reduce_masked(self, values: torch.Tensor, mask: torch.Tensor,
                       sample_weight: torch.Tensor | None) -> torch.Tensor:
        """Keras's reduction of values carrying a mask: with a mean, the masked-out values
        are left out of the count as well as the sum."""
        mask = mask.to(values.dtype)
        if self.reduction in ("sum_over_batch_size", "mean"):
            valid = mask.sum()
            mask = mask * torch.where(valid > 0, mask.numel() / valid.clamp(min=1e-12), 0.0)
        if sample_weight is not None:
            if sample_weight.dim() < values.dim():
                sample_weight = sample_weight.reshape(
                    *sample_weight.shape, *([1] * (values.dim() - sample_weight.dim())))
            mask = mask * sample_weight
        return self._reduce(values, mask)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        y_pred = array_to_tensor(y_pred)
        y_true = self.check_targets(array_to_tensor(y_true), tuple(y_pred.shape),
                                    check_values=False)
        weight = None if sample_weight is None else array_to_tensor(sample_weight).to(y_pred.dtype)
        return self.compute(y_true, y_pred, weight)

    # ------------------------------------------------------------------ configs
    def get_config(self) -> dict[str, Any]:
        """Keras's config: ``name``, ``reduction`` and the loss's own arguments."""
        return {"name": self.name, "reduction": self.reduction,
                **{key: getattr(self, key) for key in self._config_keys}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """The loss a :meth:`get_config` (lamina's or Keras's) describes."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"

    # ------------------------------------------------------------------ checking targets
    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        """Targets fitted to predictions of ``pred_shape``, or a clear error.

        A trailing axis of size 1 is added or removed to match (Keras does the same), and
        shapes that broadcast against each other are accepted, as Keras computes with
        broadcasting; float targets become float32. ``check_values`` also checks that
        labels lie in the range the loss expects. Runs once per data set, never per batch
        of array data.
        """
        if not type(self).__module__.startswith("lamina."):
            # A subclass of the user's decides its own target layout (Keras checks none):
            # sparse labels against class scores, say. Only float64 becomes float32.
            return y_true.float() if y_true.dtype == torch.float64 else y_true
        shape = tuple(y_true.shape)
        if len(shape) == len(pred_shape) + 1 and shape[-1] == 1:
            y_true, shape = y_true.squeeze(-1), shape[:-1]
        elif len(shape) + 1 == len(pred_shape) and pred_shape[-1] == 1:
            y_true, shape = y_true.unsqueeze(-1), (*shape, 1)
        if shape[1:] != tuple(pred_shape[1:]) and not (
                self._broadcast_targets and _broadcastable(shape[1:], tuple(pred_shape[1:]))):
            hint = (" For integer class labels use loss='sparse_categorical_crossentropy'."
                    if len(shape) + 1 == len(pred_shape) else "")
            raise ShapeError(
                f"Loss '{self.name}'{where} expects targets shaped like the predictions, "
                f"{shape_text(pred_shape)}; received targets of shape {shape_text(shape)} "
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


def _broadcastable(target: tuple, prediction: tuple) -> bool:
    """Whether targets and predictions of the same rank broadcast against each other (Keras
    computes ``y_true - y_pred`` and the like with broadcasting: targets (n, 10) against
    predictions (n, 1) give a loss per sample over 10 values)."""
    if len(target) != len(prediction):
        return False
    return all(t == p or t == 1 or p == 1 or p is None or t is None
               for t, p in zip(target, prediction))


def check_sparse_targets(loss: Loss, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                         where: str = "", check_values: bool = True) -> torch.Tensor:
    """Integer class labels for predictions of ``pred_shape`` (classes on the last axis).

    Targets have the predictions' shape without the class axis (or with a class axis of
    size 1) and hold class indices in ``[0, classes)``.
    """
    shape = tuple(y_true.shape)
    if len(shape) == len(pred_shape) and shape[-1] == 1:
        y_true, shape = y_true.squeeze(-1), shape[:-1]
    if shape[1:] != tuple(pred_shape[1:-1]):
        hint = (" For one-hot targets use loss='categorical_crossentropy'."
                if shape[1:] == tuple(pred_shape[1:]) else "")
        raise ShapeError(
            f"Loss '{loss.name}'{where} expects integer labels of shape "
            f"{shape_text(pred_shape[:-1])} for predictions of shape "
            f"{shape_text(pred_shape)}; received targets of shape {shape_text(shape)} "
            f"(full shape {shape}).{hint}"
        )
    classes = pred_shape[-1]
    if not check_values or not y_true.numel():
        return y_true.long()
    if y_true.is_floating_point() and not bool((y_true == y_true.round()).all()):
        raise DataError(f"Loss '{loss.name}'{where} expects integer class labels, received "
                        "fractional values. Pass class indices, or use "
                        "loss='categorical_crossentropy' for soft targets.")
    low, high = int(y_true.min()), int(y_true.max())
    if low < 0 or high >= classes:
        raise DataError(
            f"Loss '{loss.name}'{where} expects class labels in [0, {classes}) for "
            f"predictions with {classes} classes, received labels from {low} to {high}. "
            "Fix the labels, or give the last layer as many units as there are classes."
        )
    return y_true.long()


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` returning per-sample values.

    Args:
        fn: The per-sample function.
        reduction: As for :class:`Loss`. Default: ``"sum_over_batch_size"``.
        name: Default: the function's name.
        **kwargs: Passed to ``fn`` on every call.

    Example:
        >>> squared_log = LossFunctionWrapper(lambda t, p: torch.log1p((t - p) ** 2).sum(-1))
        >>> round(float(squared_log([[0.0]], [[1.0]])), 4)
        0.6931
    """

    def __init__(self, fn: Any, reduction: str | None = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self.fn_kwargs = kwargs

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        """``name``, ``reduction``, the function's name as ``fn`` and its arguments."""
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)),
                **self.fn_kwargs}

    def check_targets(self, y_true: torch.Tensor, pred_shape: tuple[int, ...],
                      where: str = "", check_values: bool = True) -> torch.Tensor:
        # A custom function decides its own target layout; only make floats float32.
        return y_true.float() if y_true.dtype == torch.float64 else y_true


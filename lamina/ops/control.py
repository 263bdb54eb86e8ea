"""Choosing between values: ``where``, ``switch`` and the learning phase.

Conditions that are tensors stay in the graph (``torch.where``) rather than being turned
into a Python ``bool``: that would force a device sync and break tracing, at the cost
of computing both branches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor, binary

Branch = Any | Callable[[], Any]

_learning_phase = False


@symbolic_op
def learning_phase() -> bool:
    """The global learning phase: ``True`` while training; ``False`` unless set."""
    return _learning_phase


@symbolic_op
def set_learning_phase(value: bool | int) -> None:
    """Set the global learning phase read by :func:`in_train_phase` and friends.

    Args:
        value: ``True``/``1`` for training, ``False``/``0`` for inference.
    """
    global _learning_phase
    if value not in (0, 1):
        raise ArgumentError(f"set_learning_phase expects True/False or 1/0, received {value!r}.")
    _learning_phase = bool(value)


def _evaluate(branch: Branch) -> Any:
    return branch() if callable(branch) else branch


@symbolic_op
def in_train_phase(x: Branch, alt: Branch, training: bool | torch.Tensor | None = None) -> Any:
    """``x`` in the training phase, ``alt`` otherwise.

    Args:
        x: A value, or a function of no arguments returning it, used when training.
        alt: Likewise, used when not training.
        training: A bool, 0/1, or a 0-dim bool tensor. Default: ``None``, which reads
            :func:`learning_phase`. With a tensor both branches are computed and the
            result selected elementwise.

    Example:
        >>> in_train_phase(lambda: torch.tensor(1), torch.tensor(0), training=True).item()
        1
    """
    if training is None:
        training = _learning_phase
    if isinstance(training, torch.Tensor):
        if training.dtype is not torch.bool:
            training = training.bool()
        return torch.where(training, _evaluate(x), _evaluate(alt))
    return _evaluate(x) if training else _evaluate(alt)


@symbolic_op
def in_test_phase(x: Branch, alt: Branch, training: bool | torch.Tensor | None = None) -> Any:
    """``x`` when not training, ``alt`` when training: the mirror of :func:`in_train_phase`."""
    return in_train_phase(alt, x, training=training)


@symbolic_op
def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """Elementwise ``x`` where ``condition`` holds, else ``y`` (broadcasting).

    With neither ``x`` nor ``y``, returns the indices where ``condition`` is true, as a
    tuple of 1-D index tensors, one per axis (numpy semantics).
    """
    if not isinstance(condition, torch.Tensor):
        condition = as_tensor(condition)
    if condition.dtype is not torch.bool:
        condition = condition.bool()
    if x is None and y is None:
        return torch.where(condition)
    if x is None or y is None:
        raise ArgumentError(
            "where needs both x and y, or neither (to get indices); "
            f"received x={'None' if x is None else 'a value'}, "
            f"y={'None' if y is None else 'a value'}."
        )
    x, y = binary(x, y)
    return torch.where(condition, x, y)


@symbolic_op
def switch(condition: Any, then_expression: Branch, else_expression: Branch) -> Any:
    """Keras-2 ``K.switch``: choose between two values by a condition.

    Unlike :func:`where`, a condition of lower rank than the expressions is aligned with
    their *leading* axes (a ``(batch,)`` condition selects whole rows), as in Keras.
    The expressions may be functions of no arguments.
    """
    if not isinstance(condition, torch.Tensor):
        return _evaluate(then_expression) if condition else _evaluate(else_expression)
    if condition.dtype is not torch.bool:
        condition = condition.bool()
    then_value, else_value = binary(_evaluate(then_expression), _evaluate(else_expression))
    value_ndim = then_value.ndim if isinstance(then_value, torch.Tensor) else else_value.ndim
    missing = value_ndim - condition.ndim
    if missing < 0:
        raise ShapeError(
            f"switch: the condition has rank {condition.ndim}, more than the rank "
            f"{value_ndim} of the expressions; it must not have more axes than they do."
        )
    if missing and condition.ndim:
        condition = condition.reshape(condition.shape + (1,) * missing)
    return torch.where(condition, then_value, else_value)

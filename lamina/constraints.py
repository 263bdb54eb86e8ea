"""Weight constraints by their Keras names: ``MaxNorm``, ``MinMaxNorm``, ``NonNeg``, ``UnitNorm``.

A constraint is a callable ``weight -> constrained weight``. Pass one as
``kernel_constraint=`` / ``bias_constraint=`` (and the like) to a layer: the weight keeps
it as ``weight.constraint``, and training applies it after every optimizer step, as Keras
does (``fit`` and ``train_on_batch``; a hand-written torch loop calls
:func:`apply_constraints` after ``optimizer.step()``). Configs store a constraint as
``{"class_name", "config"}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.keras_names import missing_name
from lamina.utils.config_equality import ConfigEquality

#: Keras's epsilon in the norm constraints (``backend.epsilon()``).
EPSILON = 1e-7


def _number(value: Any, name: str, owner: str, low: float = -math.inf) -> float:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value < low):
        raise ArgumentError(f"{owner}: {name} must be a finite number >= {low}, "
                            f"received {name}={value!r}.")
    return float(value)


def _axes(axis: Any, owner: str) -> int | list[int]:
    if isinstance(axis, int) and not isinstance(axis, bool):
        return axis
    if isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
        return list(axis)
    raise ArgumentError(f"{owner}: axis must be an int or a list of ints, received "
                        f"axis={axis!r}.")


def _norms(w: torch.Tensor, axis: int | list[int]) -> torch.Tensor:
    return torch.sqrt(torch.sum(torch.square(w), dim=axis, keepdim=True))


class Constraint(ConfigEquality):
    """Base class: a callable ``weight -> weight`` with a JSON-safe config."""

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale each slice along ``axis`` whose L2 norm is above ``max_value`` to that norm.

    Args:
        max_value: The largest norm. Default: ``2``.
        axis: The axis (or axes) the norms are taken over: ``0`` for a ``Dense`` kernel
            (each unit's incoming weights). Default: ``0``.

    Example:
        >>> [round(v, 4) for v in MaxNorm(1.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, max_value: float = 2, axis: int | list[int] = 0) -> None:
        self.max_value = _number(max_value, "max_value", "MaxNorm", 0.0)
        self.axis = _axes(axis, "MaxNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Keep the L2 norm of each slice along ``axis`` between ``min_value`` and
    ``max_value``, moving it ``rate`` of the way there per step.

    Example:
        >>> w = MinMaxNorm(1.0, 2.0)(torch.tensor([[0.3], [0.4]]))
        >>> [round(v, 4) for v in w.flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, min_value: float = 0.0, max_value: float = 1.0, rate: float = 1.0,
                 axis: int | list[int] = 0) -> None:
        self.min_value = _number(min_value, "min_value", "MinMaxNorm", 0.0)
        self.max_value = _number(max_value, "max_value", "MinMaxNorm", self.min_value)
        self.rate = _number(rate, "rate", "MinMaxNorm", 0.0)
        self.axis = _axes(axis, "MinMaxNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        norms = _norms(w, self.axis)
        desired = (self.rate * torch.clamp(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (EPSILON + norms))

    def get_config(self) -> dict[str, Any]:
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class NonNeg(Constraint):
    """Negative entries become zero.

    Example:
        >>> NonNeg()(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
        True
    """

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w * (w >= 0).to(w.dtype)


class UnitNorm(Constraint):
    """Each slice along ``axis`` is scaled to L2 norm 1.

    Example:
        >>> [round(v, 4) for v in UnitNorm()(torch.tensor([[3.0], [4.0]])).flatten().tolist()]
        [0.6, 0.8]
    """

    def __init__(self, axis: int | list[int] = 0) -> None:
        self.axis = _axes(axis, "UnitNorm")

    def __call__(self, w: torch.Tensor) -> torch.Tensor:
        return w / (EPSILON + _norms(w, self.axis))

    def get_config(self) -> dict[str, Any]:
        return {"axis": self.axis}


max_norm, min_max_norm, non_neg, unit_norm = MaxNorm, MinMaxNorm, NonNeg, UnitNorm

_CLASSES: dict[str, type[Constraint]] = {
    "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm}
_NAMES: dict[str, type[Constraint]] = {
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
    "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm}


def get(identifier: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The constraint for a name, a config, a constraint or any ``tensor -> tensor`` callable.

    Example:
        >>> get("non_neg"), get({"class_name": "MaxNorm", "config": {"max_value": 3}})
        (NonNeg(), MaxNorm(max_value=3.0, axis=0))
    """
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        found = _NAMES.get(identifier.lower()) or _CLASSES.get(identifier)
        if found is not None:
            return found()
    elif isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        config = identifier.get("config", {})
        if cls is not None and isinstance(config, dict):
            try:
                return cls.from_config(config)
            except TypeError as error:
                raise ArgumentError(f"Constraint config {identifier!r} does not fit "
                                    f"{cls.__name__}: {error}.") from error
    elif callable(identifier):
        return identifier
    raise ArgumentError(
        f"Unknown constraint: received {identifier!r}. Use one of {sorted(_CLASSES)} (or "
        "their snake-case names), a {'class_name', 'config'} dict, or a callable "
        "tensor -> tensor.")


def serialize(constraint: Any) -> dict[str, Any] | None:
    """A JSON-safe ``{"class_name", "config"}`` for a constraint (``None`` stays ``None``).

    Example:
        >>> serialize(MaxNorm(3))
        {'class_name': 'MaxNorm', 'config': {'max_value': 3.0, 'axis': 0}}
    """
    if constraint is None:
        return None
    if isinstance(constraint, Constraint) and type(constraint).__name__ in _CLASSES:
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    raise ArgumentError(
        f"Constraint {constraint!r} has no Keras name, so it cannot be stored in a config; "
        "use lamina.constraints.MaxNorm, MinMaxNorm, NonNeg or UnitNorm.")


def deserialize(config: dict[str, Any] | str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The constraint a :func:`serialize` result (or a Keras name) describes.

    Example:
        >>> deserialize({"class_name": "UnitNorm", "config": {"axis": 1}})
        UnitNorm(axis=1)
    """
    return get(config)


def constrained(weights: Iterable[torch.Tensor]) -> list[tuple[torch.Tensor, Any]]:
    """``(weight, constraint)`` for the weights that have one (``weight.constraint``)."""
    return [(w, w.constraint) for w in weights if getattr(w, "constraint", None) is not None]


def apply_constraints(pairs: Iterable[tuple[torch.Tensor, Any]]) -> None:
    """Replace each weight's value by its constraint's output, in place (no gradient)."""
    with torch.no_grad():
        for weight, constraint in pairs:
            weight.copy_(constraint(weight))


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('constraints', name, globals())

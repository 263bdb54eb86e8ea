"""Weight and activity penalties by their Keras names: ``L1``, ``L2``, ``L1L2``,
``OrthogonalRegularizer``.

A regularizer is a callable ``penalty(tensor) -> scalar tensor``. Pass one as
``kernel_regularizer=`` / ``bias_regularizer=`` to a layer and its penalty, computed from
the current weights, appears in ``layer.losses`` (and ``model.losses``), for the training
loop to add to its loss. Configs store a regularizer as ``{"class_name", "config"}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.keras_names import missing_name
from lamina.utils.config_equality import ConfigEquality


def _factor(value: Any, name: str, owner: str) -> float:
    """A finite, non-negative penalty factor, or an error quoting the value."""
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not math.isfinite(value) or value < 0):
        raise ArgumentError(f"{owner}: {name} must be a finite number >= 0, "
                            f"received {name}={value!r}.")
    return float(value)


class Regularizer(ConfigEquality):
    """Base class: a callable penalty with a JSON-safe config.

    Subclasses implement ``__call__(x)`` and ``get_config()``; ``from_config`` passes the
    config back to the constructor.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(())

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``.

    Args:
        l1: The L1 factor. Default: ``0.0``.
        l2: The L2 factor. Default: ``0.0``.

    Example:
        >>> float(L1L2(l1=0.5, l2=0.25)(torch.tensor([1.0, -2.0])))
        2.75
    """

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = _factor(0.0 if l1 is None else l1, "l1", "L1L2")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2", "L1L2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        penalty = x.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(x))
        return penalty

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """``l1 * sum(|x|)``.

    Args:
        l1: The factor. Default: ``0.01`` (as for the name ``"l1"``).

    Example:
        >>> float(L1(0.5)(torch.tensor([1.0, -2.0])))
        1.5
    """

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = _factor(0.01 if l1 is None else l1, "l1", "L1")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l1 * torch.sum(torch.abs(x))

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


class L2(Regularizer):
    """``l2 * sum(x ** 2)``.

    Args:
        l2: The factor. Default: ``0.01`` (as for the name ``"l2"``).

    Example:
        >>> float(L2(0.5)(torch.tensor([1.0, -2.0])))
        2.5
    """

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = _factor(0.01 if l2 is None else l2, "l2", "L2")

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2 * torch.sum(torch.square(x))

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2-D weight towards orthogonality: ``factor`` times
    the mean absolute cosine similarity over distinct pairs of L2-normalised rows, halved.

    Args:
        factor: The factor. Default: ``0.01``.
        mode: ``"rows"`` or ``"columns"``. Default: ``"rows"``.

    Example:
        >>> round(float(OrthogonalRegularizer(1.0)(torch.tensor([[1.0, 0.0], [1.0, 1.0]]))), 4)
        0.7071
    """

    def __init__(self, factor: float = 0.01, mode: str = "rows") -> None:
        self.factor = _factor(factor, "factor", "OrthogonalRegularizer")
        if mode not in ("rows", "columns"):
            raise ArgumentError('Invalid value for argument `mode`. Expected one of {"rows", '
                                f'"columns"}}. Received: mode={mode}')
        self.mode = mode

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2:
            raise ArgumentError("Inputs to OrthogonalRegularizer must have rank 2. Received: "
                                f"inputs.shape={tuple(x.shape)}")
        vectors = x if self.mode == "rows" else x.T
        vectors = vectors * torch.rsqrt(torch.clamp(
            (vectors * vectors).sum(dim=1, keepdim=True), min=1e-12))
        product = vectors @ vectors.T
        size = product.shape[0]
        off_diagonal = product * (1.0 - torch.eye(size, dtype=x.dtype, device=x.device))
        pairs = size * (size - 1.0) / 2.0
        return self.factor * 0.5 * off_diagonal.abs().sum() / pairs

    def get_config(self) -> dict[str, Any]:
        return {"factor": self.factor, "mode": self.mode}


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:
    """Keras's ``l1_l2`` shortcut: an ``L1L2`` whose factors default to ``0.01`` each.

    Example:
        >>> l1_l2()
        L1L2(l1=0.01, l2=0.01)
    """
    return L1L2(l1=l1, l2=l2)


l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

_CLASSES: dict[str, type[Regularizer]] = {"L1": L1, "L2": L2, "L1L2": L1L2,
                                          "OrthogonalRegularizer": OrthogonalRegularizer}
_NAMES: dict[str, Callable[[], Regularizer]] = {
    "l1": L1, "l2": L2, "l1_l2": l1_l2, "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier: Any) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The regularizer for a name, a config, a regularizer or any penalty callable.

    Names are Keras's (``"l1"``, ``"l2"``, ``"l1_l2"``, with factors ``0.01``); a config is
    what :func:`serialize` returns. ``None`` gives ``None`` (no penalty).

    Example:
        >>> get("l2"), get({"class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.0}})
        (L2(l2=0.01), L1L2(l1=0.1, l2=0.0))
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _NAMES:
            return _NAMES[key]()
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
    elif isinstance(identifier, dict):
        cls = _CLASSES.get(identifier.get("class_name"))
        config = identifier.get("config", {})
        if cls is not None and isinstance(config, dict):
            try:
                return cls.from_config(config)
            except TypeError as error:
                raise ArgumentError(f"Regularizer config {identifier!r} does not fit "
                                    f"{cls.__name__}: {error}.") from error
    elif callable(identifier):
        return identifier
    raise ArgumentError(
        f"Unknown regularizer: received {identifier!r}. Use one of {sorted(_NAMES)}, an "
        "L1/L2/L1L2/OrthogonalRegularizer object, a {'class_name', 'config'} dict, or a "
        "callable tensor -> scalar."
    )


def serialize(regularizer: Any) -> dict[str, Any] | None:
    """A JSON-safe ``{"class_name", "config"}`` for a regularizer (``None`` stays ``None``).

    Example:
        >>> serialize(L2(0.5))
        {'class_name': 'L2', 'config': {'l2': 0.5}}
    """
    if regularizer is None:
        return None
    if isinstance(regularizer, Regularizer) and type(regularizer).__name__ in _CLASSES:
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    raise ArgumentError(
        f"Regularizer {regularizer!r} has no Keras name, so it cannot be stored in a config; "
        "use lamina.regularizers.L1, L2, L1L2 or OrthogonalRegularizer."
    )


def deserialize(config: dict[str, Any] | str) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """The regularizer a :func:`serialize` result (or a Keras name) describes.

    Example:
        >>> deserialize({"class_name": "OrthogonalRegularizer", "config": {"factor": 0.1}})
        OrthogonalRegularizer(factor=0.1, mode='rows')
    """
    return get(config)


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('regularizers', name, globals())

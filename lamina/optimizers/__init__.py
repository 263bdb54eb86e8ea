"""Optimizers by their Keras names and defaults, each a ``torch.optim`` optimizer.

``compile(optimizer="adam")`` gives :class:`Adam`, which is a ``torch.optim.Adam`` with
Keras's defaults (``learning_rate=0.001``, ``epsilon=1e-7``) and Keras's optimizer API
(``learning_rate`` to read and assign, ``iterations``, ``apply``, clipping, weight decay,
moving averages: see :mod:`lamina.optimizers.base`). A ``torch.optim.Optimizer`` built on
``model.parameters()`` is used as it is.

Example:
    >>> import torch
    >>> from lamina import optimizers
    >>> weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    >>> sgd = optimizers.SGD(learning_rate=0.1)
    >>> sgd.apply([torch.tensor([1.0, 1.0])], [weight])
    >>> weight.detach().tolist(), int(sgd.iterations)
    ([0.8999999761581421, -2.0999999046325684], 1)
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import optimizer_schedules as schedules
from lamina.errors import ArgumentError, ArgumentTypeError
from lamina.keras_names import missing_name
from lamina.optimizers.base import Optimizer
from lamina.optimizers.classes import (
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Nadam,
    RMSprop,
)
from lamina.optimizers.lion import Lion

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Lion", "Nadam", "Optimizer",
           "RMSprop", "deserialize", "get", "get_learning_rate", "schedules", "serialize",
           "set_learning_rate"]

_BY_NAME: dict[str, type[Optimizer]] = {
    cls.__name__.lower(): cls for cls in (Adam, AdamW, SGD, RMSprop, Adagrad, Adadelta,
                                          Adamax, Nadam, Lion)}


def get(identifier: Any) -> Optimizer | torch.optim.Optimizer:
    """An optimizer from a Keras name, a class, a Keras config dict, or the given optimizer.

    Example:
        >>> get("sgd")
        SGD(learning_rate=0.01)
    """
    if isinstance(identifier, torch.optim.Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    if isinstance(identifier, dict) and str(identifier.get("class_name", "")).lower() \
            in _BY_NAME:
        return deserialize(identifier)
    raise (ArgumentError if isinstance(identifier, (str, dict)) else ArgumentTypeError)(
        f"Unknown optimizer: received {identifier!r}. Use one of {sorted(_BY_NAME)}, a "
        "lamina.optimizers.Optimizer such as Adam(learning_rate=1e-3), or a "
        "torch.optim.Optimizer built on model.parameters()."
    )


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{"class_name", "config"}`` for an optimizer (Keras's ``optimizers.serialize``)."""
    if not isinstance(optimizer, Optimizer):
        raise ArgumentTypeError(f"serialize: expected a lamina.optimizers.Optimizer, "
                                f"received {type(optimizer).__name__}.")
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config: dict[str, Any], custom_objects: Any = None) -> Optimizer:
    """The optimizer for a :func:`serialize` dict; classes come from lamina's own table
    (or ``custom_objects``), never from a name read elsewhere."""
    name = str(config.get("class_name", "")) if isinstance(config, dict) else ""
    cls = (custom_objects or {}).get(name) or _BY_NAME.get(name.lower())
    if cls is None or not isinstance(config.get("config", {}), dict):
        raise ArgumentError(f"deserialize: unknown optimizer {name!r}; lamina has "
                            f"{sorted(c.__name__ for c in _BY_NAME.values())}.")
    return cls.from_config(dict(config.get("config", {})))


def get_learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group.

    Example:
        >>> get_learning_rate(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5))
        0.5
    """
    if isinstance(optimizer, Optimizer) and not optimizer.built:
        return float(optimizer.learning_rate)
    return float(optimizer.param_groups[0]["lr"])


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set the learning rate of every parameter group (what Keras callbacks change)."""
    if isinstance(optimizer, Optimizer):
        optimizer.learning_rate = value
        return
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(value)
        else:
            group["lr"] = float(value)


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('optimizers', name, globals())

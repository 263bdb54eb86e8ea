"""Optimizers by their Keras names and defaults, built on ``torch.optim``.

``compile(optimizer="adam")`` gives ``torch.optim.Adam`` with Keras's defaults
(``learning_rate=0.001``, ``epsilon=1e-7``); ``lamina.optimizers.Adam(learning_rate=...)``
takes Keras's argument names; a ``torch.optim.Optimizer`` instance is used as it is.
The update rules are torch's: where Keras places ``epsilon`` differently (Adam adds it
after bias correction in torch, RMSprop outside the square root), results differ only
in that term.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from lamina import optimizer_schedules as schedules
from lamina.errors import ArgumentError, ArgumentTypeError


class Optimizer:
    """An optimizer recipe: Keras arguments now, a ``torch.optim`` optimizer once the
    model's parameters exist (:meth:`build`).

    Example:
        >>> weight = torch.nn.Parameter(torch.ones(2))
        >>> built = Adam(learning_rate=0.01).build([weight])
        >>> type(built).__name__, built.param_groups[0]["lr"], built.param_groups[0]["eps"]
        ('Adam', 0.01, 1e-07)
    """

    torch_class: type[torch.optim.Optimizer] = torch.optim.Optimizer
    name = "optimizer"

    def __init__(self, learning_rate: Any, **torch_kwargs: Any) -> None:
        if isinstance(learning_rate, dict):  # a schedule's config, from a saved file
            learning_rate = _schedule_from_config(learning_rate, type(self).__name__)
        #: A ``lamina.optimizers.schedules`` schedule, applied by ``fit`` before each
        #: step, or ``None`` for a constant rate.
        self.schedule = (learning_rate if isinstance(
            learning_rate, schedules.LearningRateSchedule) else None)
        if self.schedule is not None:
            learning_rate = self.schedule(0)
        if not isinstance(learning_rate, (int, float)) or learning_rate <= 0:
            raise ArgumentError(
                f"{type(self).__name__}: learning_rate must be a positive number or a "
                f"learning-rate schedule, received {learning_rate!r}."
            )
        self.learning_rate = float(learning_rate)
        self.torch_kwargs = torch_kwargs

    def build(self, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The torch optimizer over ``parameters``."""
        return self.torch_class(list(parameters), lr=self.learning_rate, **self.torch_kwargs)

    def get_config(self) -> dict[str, Any]:
        rate: Any = self.learning_rate
        if self.schedule is not None:
            rate = {"class_name": type(self.schedule).__name__,
                    "config": self.schedule.get_config()}
        return {"name": self.name, "learning_rate": rate, **self.torch_kwargs}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(learning_rate={self.learning_rate})"


def _schedule_from_config(config: dict[str, Any], owner: str) -> Any:
    found = getattr(schedules, str(config.get("class_name")), None)
    if not (isinstance(found, type) and issubclass(found, schedules.LearningRateSchedule)
            and isinstance(config.get("config"), dict)):
        raise ArgumentError(f"{owner}: learning_rate {config!r} is not a learning-rate "
                            "schedule's config.")
    return found.from_config(config["config"])


class Adam(Optimizer):
    """Adam (``torch.optim.Adam``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        beta_1: Decay of the first-moment average. Default: ``0.9``.
        beta_2: Decay of the second-moment average. Default: ``0.999``.
        epsilon: Default: ``1e-7`` (Keras's, not torch's ``1e-8``).
        amsgrad: Default: ``False``.
    """

    torch_class = torch.optim.Adam
    name = "adam"

    def __init__(self, learning_rate: float = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon, amsgrad=amsgrad)


class AdamW(Optimizer):
    """AdamW (``torch.optim.AdamW``, decoupled weight decay) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        weight_decay: Default: ``0.004`` (Keras's, not torch's ``0.01``).
        beta_1: Default: ``0.9``.
        beta_2: Default: ``0.999``.
        epsilon: Default: ``1e-7``.
        amsgrad: Default: ``False``.
    """

    torch_class = torch.optim.AdamW
    name = "adamw"

    def __init__(self, learning_rate: float = 0.001, weight_decay: float = 0.004,
                 beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-7,
                 amsgrad: bool = False) -> None:
        super().__init__(learning_rate, betas=(beta_1, beta_2), eps=epsilon,
                         weight_decay=weight_decay, amsgrad=amsgrad)


class SGD(Optimizer):
    """Stochastic gradient descent (``torch.optim.SGD``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.01``.
        momentum: Default: ``0.0``.
        nesterov: Default: ``False``.
    """

    torch_class = torch.optim.SGD
    name = "sgd"

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(learning_rate, momentum=momentum, nesterov=nesterov)


class RMSprop(Optimizer):
    """RMSprop (``torch.optim.RMSprop``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        rho: Decay of the squared-gradient average (torch's ``alpha``). Default: ``0.9``.
        momentum: Default: ``0.0``.
        epsilon: Default: ``1e-7``.
        centered: Default: ``False``.
    """

    torch_class = torch.optim.RMSprop
    name = "rmsprop"

    def __init__(self, learning_rate: float = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False) -> None:
        super().__init__(learning_rate, alpha=rho, momentum=momentum, eps=epsilon,
                         centered=centered)


class Adagrad(Optimizer):
    """Adagrad (``torch.optim.Adagrad``) with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        initial_accumulator_value: Default: ``0.1``.
        epsilon: Default: ``1e-7``.
    """

    torch_class = torch.optim.Adagrad
    name = "adagrad"

    def __init__(self, learning_rate: float = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate, initial_accumulator_value=initial_accumulator_value,
                         eps=epsilon)


_BY_NAME: dict[str, type[Optimizer]] = {
    "adam": Adam, "adamw": AdamW, "sgd": SGD, "rmsprop": RMSprop, "adagrad": Adagrad,
}


def get(identifier: str | Optimizer | torch.optim.Optimizer) -> Optimizer | torch.optim.Optimizer:
    """An :class:`Optimizer` recipe from a Keras name, or the given recipe or torch optimizer.

    Example:
        >>> get("sgd")
        SGD(learning_rate=0.01)
    """
    if isinstance(identifier, (Optimizer, torch.optim.Optimizer)):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, type) and issubclass(identifier, Optimizer):
        return identifier()
    raise (ArgumentError if isinstance(identifier, str) else ArgumentTypeError)(
        f"Unknown optimizer: received {identifier!r}. Use one of {sorted(_BY_NAME)}, a "
        "lamina.optimizers.Optimizer such as Adam(learning_rate=1e-3), or a "
        "torch.optim.Optimizer built on model.parameters()."
    )


def get_learning_rate(optimizer: torch.optim.Optimizer) -> float:
    """The learning rate of the first parameter group.

    Example:
        >>> get_learning_rate(torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.5))
        0.5
    """
    return float(optimizer.param_groups[0]["lr"])


def set_learning_rate(optimizer: torch.optim.Optimizer, value: float) -> None:
    """Set the learning rate of every parameter group (what Keras callbacks change)."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(value)
        else:
            group["lr"] = float(value)

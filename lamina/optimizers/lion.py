"""Keras's ``Lion`` optimizer: its update rule as a ``torch.optim`` optimizer (torch has
none), with the Keras arguments every lamina optimizer takes.

Each step, for a weight ``w`` with gradient ``g`` and moment ``m``:
``w -= learning_rate * sign(beta_1 * m + (1 - beta_1) * g)``, then
``m = beta_2 * m + (1 - beta_2) * g`` (Chen et al., 2023).

Example:
    >>> import torch
    >>> weight = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    >>> lion = Lion(learning_rate=0.1).build([weight])
    >>> weight.grad = torch.tensor([0.5, -2.0])
    >>> lion.step()
    >>> weight.detach().tolist()  # each weight moves by the learning rate, against its sign
    [0.8999999761581421, -0.8999999761581421]
"""

from __future__ import annotations

from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.optimizers.base import Optimizer


class LionUpdate(torch.optim.Optimizer):
    """The Lion rule over torch parameter groups (``lr``, ``betas``)."""

    def __init__(self, params: Any, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.99)) -> None:
        super().__init__(params, {"lr": lr, "betas": betas})

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            beta_1, beta_2 = group["betas"]
            for weight in group["params"]:
                if weight.grad is None:
                    continue
                gradient = weight.grad
                state = self.state[weight]
                if not state:
                    state["momentum"] = torch.zeros_like(weight)
                momentum = state["momentum"]
                update = (momentum * beta_1 + gradient * (1 - beta_1)).sign_()
                weight.add_(update, alpha=-group["lr"])
                momentum.mul_(beta_2).add_(gradient, alpha=1 - beta_2)
        return loss


class Lion(Optimizer, LionUpdate):
    """Lion with Keras's defaults.

    Args:
        learning_rate: Default: ``0.001``.
        beta_1: Weight of the moment in the update's sign. Default: ``0.9``.
        beta_2: Decay of the moment. Default: ``0.99``.
    """

    keras_name = "lion"

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99,
                 **kwargs: Any) -> None:
        if not 0 < beta_1 <= 1:
            raise ArgumentError(f"Lion: beta_1 must be in (0, 1], received {beta_1!r}.")
        super().__init__(learning_rate, torch_arguments={"betas": (beta_1, beta_2)},
                         keras_arguments={"beta_1": beta_1, "beta_2": beta_2}, **kwargs)

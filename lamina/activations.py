"""Activation functions by their Keras names."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    """The identity: ``linear(x) == x``."""
    return x


def softmax(x: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis (Keras's default axis)."""
    return torch.softmax(x, dim=-1)


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    """Log-softmax over the last axis."""
    return torch.log_softmax(x, dim=-1)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """GELU with Keras 3's default tanh approximation."""
    return F.gelu(x, approximate="tanh")


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Keras 3's hard sigmoid: ``relu6(x + 3) / 6``."""
    return F.relu6(x + 3.0) / 6.0


def exponential(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)``."""
    return torch.exp(x)


_BY_NAME: dict[str, Activation] = {
    "linear": linear,
    "relu": torch.relu,
    "relu6": F.relu6,
    "elu": F.elu,
    "selu": F.selu,
    "gelu": gelu,
    "silu": F.silu,
    "swish": F.silu,
    "sigmoid": torch.sigmoid,
    "hard_sigmoid": hard_sigmoid,
    "tanh": torch.tanh,
    "softmax": softmax,
    "log_softmax": log_softmax,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "exponential": exponential,
    "leaky_relu": F.leaky_relu,
    "mish": F.mish,
}


def get(identifier: str | Activation | None) -> Activation:
    """The activation for a Keras name, ``None`` (linear) or a callable as is.

    Example:
        >>> get("relu")(torch.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]
    elif callable(identifier):
        return identifier
    raise ArgumentError(
        f"Unknown activation: received {identifier!r}. Use one of {sorted(_BY_NAME)} or a callable."
    )


def serialize(activation: Activation) -> str:
    """The Keras name of an activation, for a config."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    raise ArgumentError(
        f"Activation {activation!r} has no Keras name, so it cannot be stored in a config; "
        "pass it by name (e.g. 'relu') or wrap it in a Lambda layer."
    )

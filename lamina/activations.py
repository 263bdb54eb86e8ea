"""Activation functions by their Keras names."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError
from lamina.keras_names import missing_name
from lamina.utils.object_registry import find_object, registered_name

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
    """GELU, exact (``x * Phi(x)`` with the normal CDF), Keras 3's default
    (``approximate=False``)."""
    return F.gelu(x)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU with Keras 3's negative slope, ``0.2`` (torch's default is ``0.01``)."""
    return F.leaky_relu(x, negative_slope=0.2)


def glu(x: torch.Tensor) -> torch.Tensor:
    """Gated linear unit over the last axis: ``a * sigmoid(b)`` of its two halves."""
    return F.glu(x, dim=-1)


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, ``x`` above 1, ``(x + 1) ** 2 / 4`` between."""
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, torch.ones_like(x), 0.5 * (x + 1)))


def squareplus(x: torch.Tensor) -> torch.Tensor:
    """``(x + sqrt(x ** 2 + 4)) / 2`` (Keras's default ``b=4``)."""
    return (x + torch.sqrt(x * x + 4.0)) / 2


def sparsemax(x: torch.Tensor) -> torch.Tensor:
    """Sparsemax over the last axis as Keras 3 computes it on every backend: the threshold
    is ``(sum of the sorted cumulative sums within the support - 1) / k``, which is the
    paper's ``(cumsum[k] - 1) / k`` only when the support has one element (Keras's values
    kept, so that models ported from Keras compute what they did there)."""
    ordered, _ = torch.sort(x, dim=-1, descending=True)
    ranks = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
    cumulative = torch.cumsum(ordered, dim=-1)
    support = ordered - (cumulative - 1) / ranks > 0
    size = support.sum(dim=-1, keepdim=True).to(x.dtype)
    tau = (torch.where(support, cumulative, torch.zeros_like(cumulative)).sum(
        dim=-1, keepdim=True) - 1) / size
    return torch.clamp(x - tau, min=0)


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
    "leaky_relu": leaky_relu,
    "mish": F.mish,
    "celu": F.celu,
    "glu": glu,
    "hard_shrink": F.hardshrink,
    "hard_silu": F.hardswish,
    "hard_swish": F.hardswish,
    "hard_tanh": F.hardtanh,
    "log_sigmoid": F.logsigmoid,
    "soft_shrink": F.softshrink,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "sparsemax": sparsemax,
    "squareplus": squareplus,
    "tanh_shrink": F.tanhshrink,
}


def names() -> list[str]:
    """The Keras names lamina's activations go by.

    Example:
        >>> "gelu" in names() and "hard_silu" in names()
        True
    """
    return sorted(_BY_NAME)


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
        registered = find_object(identifier)  # a function registered as serializable
        if callable(registered):
            return registered
    elif callable(identifier):
        return identifier
    raise ArgumentError(
        f"Unknown activation: received {identifier!r}. Use one of {sorted(_BY_NAME)} or a callable."
    )


def serialize(activation: Activation) -> str:
    """The Keras name of an activation, or the ``"package>name"`` it is registered under
    (``lamina.register_serializable``), for a config."""
    for name, fn in _BY_NAME.items():
        if fn is activation:
            return name
    registered = registered_name(activation)
    if registered is not None:
        return registered
    raise ArgumentError(
        f"Activation {activation!r} has no Keras name, so it cannot be stored in a config; "
        "pass it by name (e.g. 'relu'), register it with "
        "@lamina.register_serializable('package'), or wrap it in a Lambda layer."
    )


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('activations', name, globals())

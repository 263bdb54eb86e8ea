"""Activation functions by their Keras names, with Keras's signatures.

``get(name)`` returns the fastest function with Keras's default behaviour (often the torch
builtin itself, e.g. ``torch.relu`` for ``"relu"``); the module-level functions take
Keras's optional arguments (``relu(x, negative_slope, max_value, threshold)``, ...).

Example:
    >>> relu(torch.tensor([-2.0, 1.0, 8.0]), negative_slope=0.1, max_value=6.0).tolist()
    [-0.20000000298023224, 1.0, 6.0]
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from lamina import ops
from lamina.errors import ArgumentError
from lamina.keras_names import missing_name
from lamina.ops.dispatch import symbolic_op
from lamina.utils.object_registry import find_object, registered_name

Activation = Callable[[torch.Tensor], torch.Tensor]


def linear(x: torch.Tensor) -> torch.Tensor:
    """The identity: ``linear(x) == x``."""
    return x


def relu(x: torch.Tensor, negative_slope: float = 0.0, max_value: float | None = None,
         threshold: float = 0.0) -> torch.Tensor:
    """``max(x, 0)``; below ``threshold`` it is 0 (or ``negative_slope * (x - threshold)``),
    and it is capped at ``max_value``."""
    if not isinstance(x, torch.Tensor) and hasattr(x, "node"):  # a symbolic tensor
        return ops.relu(x, alpha=negative_slope, max_value=max_value, threshold=threshold)
    if negative_slope == 0.0 and max_value is None and threshold == 0.0:
        return torch.relu(x)
    if negative_slope != 0.0 and max_value is None and threshold == 0:
        return F.leaky_relu(x, negative_slope=negative_slope)
    negative_part = torch.relu(threshold - x) if negative_slope != 0.0 else None
    if threshold != 0:
        x = torch.where(x > threshold, x, torch.zeros((), dtype=x.dtype, device=x.device))
    else:
        x = torch.relu(x)
    if max_value is not None:
        x = torch.clamp(x, 0.0, max_value)
    if negative_part is not None:
        x = x - negative_slope * negative_part
    return x


def relu6(x: torch.Tensor) -> torch.Tensor:
    """``min(max(x, 0), 6)``."""
    return F.relu6(x)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``x`` above 0, ``alpha * (exp(x) - 1)`` below."""
    return F.elu(x, alpha=alpha)


def selu(x: torch.Tensor) -> torch.Tensor:
    """Scaled ELU with the self-normalising constants."""
    return F.selu(x)


def celu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """``max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))``."""
    return F.celu(x, alpha=alpha)


def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``1 / (1 + exp(-x))``."""
    return torch.sigmoid(x)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """Hyperbolic tangent."""
    return torch.tanh(x)


def softplus(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + exp(x))``."""
    return F.softplus(x)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """``x / (1 + |x|)``."""
    return F.softsign(x)


def silu(x: torch.Tensor) -> torch.Tensor:
    """``x * sigmoid(x)`` (also called swish)."""
    return F.silu(x)


swish = silu


def mish(x: torch.Tensor) -> torch.Tensor:
    """``x * tanh(softplus(x))``."""
    return F.mish(x)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    """``x * relu6(x + 3) / 6`` (also called hard swish)."""
    return F.hardswish(x)


hard_swish = hard_silu


def hard_tanh(x: torch.Tensor) -> torch.Tensor:
    """``x`` clipped to ``[-1, 1]``."""
    return F.hardtanh(x)


def hard_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``x`` where ``|x| > threshold``, else 0."""
    return F.hardshrink(x, lambd=threshold)


def soft_shrink(x: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``x - threshold`` above ``threshold``, ``x + threshold`` below ``-threshold``, else 0."""
    return F.softshrink(x, lambd=threshold)


def tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    """``x - tanh(x)``."""
    return F.tanhshrink(x)


def log_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``log(sigmoid(x))``, computed stably."""
    return F.logsigmoid(x)


def threshold(x: torch.Tensor, threshold: float, default_value: float) -> torch.Tensor:
    """``x`` where ``x > threshold``, else ``default_value``."""
    return torch.where(x > threshold, x, torch.full((), default_value, dtype=x.dtype,
                                                    device=x.device))


def softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Softmax over ``axis`` (default: the last)."""
    return torch.softmax(x, dim=axis)


def log_softmax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Log-softmax over ``axis`` (default: the last)."""
    return torch.log_softmax(x, dim=axis)


def gelu(x: torch.Tensor, approximate: bool = False) -> torch.Tensor:
    """GELU, exact (``x * Phi(x)`` with the normal CDF) by default as in Keras 3, or the
    tanh approximation."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.2) -> torch.Tensor:
    """Leaky ReLU with Keras 3's negative slope, ``0.2`` (torch's default is ``0.01``)."""
    return F.leaky_relu(x, negative_slope=negative_slope)


def glu(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Gated linear unit over ``axis``: ``a * sigmoid(b)`` of its two halves."""
    return F.glu(x, dim=axis)


def sparse_plus(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, ``x`` above 1, ``(x + 1) ** 2 / 4`` between."""
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, x, (x + 1) ** 2 / 4))


def sparse_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """0 below -1, 1 above 1, ``(x + 1) / 2`` between."""
    return torch.where(x <= -1, torch.zeros_like(x),
                       torch.where(x >= 1, torch.ones_like(x), 0.5 * (x + 1)))


def squareplus(x: torch.Tensor, b: float = 4) -> torch.Tensor:
    """``(x + sqrt(x ** 2 + b)) / 2`` (Keras's default ``b=4``)."""
    return (x + torch.sqrt(x * x + b)) / 2


def sparsemax(x: torch.Tensor, axis: int = -1) -> torch.Tensor:
    """Sparsemax over the last axis as Keras 3 computes it on every backend: the threshold
    is ``(sum of the sorted cumulative sums within the support - 1) / k``, which is the
    paper's ``(cumsum[k] - 1) / k`` only when the support has one element (Keras's values
    kept, so that models ported from Keras compute what they did there)."""
    if axis not in (-1, x.dim() - 1):
        return sparsemax(x.movedim(axis, -1)).movedim(-1, axis)
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


# Called on symbolic tensors (keras.activations.sigmoid(keras.Input(...))), each function
# adds a graph node, as Keras's activations (which call keras.ops) do; on tensors the
# wrapper costs one type check. (relu, whose arguments differ from ops.relu's, builds an
# ops.relu node itself.)
_PUBLIC = ("linear", "relu6", "elu", "selu", "celu", "sigmoid", "tanh", "softplus",
           "softsign", "silu", "mish", "hard_silu", "hard_tanh", "hard_shrink", "soft_shrink",
           "tanh_shrink", "log_sigmoid", "threshold", "softmax", "log_softmax", "gelu",
           "leaky_relu", "glu", "sparse_plus", "sparse_sigmoid", "squareplus", "sparsemax",
           "hard_sigmoid", "exponential")
for _name in _PUBLIC:
    globals()[_name] = symbolic_op(globals()[_name])
del _name
swish = silu  # Keras's other names, bound to the wrapped functions
hard_swish = hard_silu

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


_FUNCTIONS: dict[str, Activation] = {fn.__name__: fn for fn in (
    linear, relu, relu6, elu, selu, celu, gelu, silu, sigmoid, hard_sigmoid, tanh, softmax,
    log_softmax, softplus, softsign, exponential, leaky_relu, mish, glu, hard_shrink, hard_silu,
    hard_tanh, log_sigmoid, soft_shrink, sparse_plus, sparse_sigmoid, sparsemax, squareplus,
    tanh_shrink, threshold)}
_FUNCTIONS.update(swish=silu, hard_swish=hard_silu)


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
    for table in (_FUNCTIONS, _BY_NAME):
        for name, fn in table.items():
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


def deserialize(config: str | dict) -> Activation:
    """The activation function a Keras name (or a serialized ``{"config": name}``) names,
    with Keras's signature.

    Example:
        >>> deserialize("relu") is relu, deserialize(serialize(torch.tanh)) is tanh
        (True, True)
    """
    name = config.get("config") if isinstance(config, dict) else config
    if isinstance(name, str) and name in _FUNCTIONS:
        return _FUNCTIONS[name]
    if isinstance(name, str):
        registered = find_object(name)
        if callable(registered):
            return registered
    raise ArgumentError(f"Unknown activation: received {config!r}. Use one of "
                        f"{sorted(_FUNCTIONS)}.")


def __getattr__(name: str) -> object:
    """A clear ``AttributeError`` for a Keras name lamina lacks (see ``keras_names.py``)."""
    raise missing_name('activations', name, globals())

"""Weight initializers by their Keras names.

Each initializer is a callable ``init(tensor) -> None`` that fills a tensor in place,
with Keras's definitions (fan-in/fan-out for a Keras kernel of shape ``(in, out)``, or
for a convolution kernel ``(*spatial, in, out)``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch

from lamina.errors import ArgumentError

Initializer = Callable[[torch.Tensor], None]

#: While loading: [skip initialisation?, bytes of weights that may still be created].
_SKIP: list[Any] = [False, None]


@contextlib.contextmanager
def skipped(budget_bytes: int | None = None) -> Iterator[None]:
    """Create weights without initialising them (their values are about to be loaded).

    With ``budget_bytes``, creating more bytes of weights than that raises (a loaded file
    may not make lamina allocate more than the weights it holds).
    """
    previous = list(_SKIP)
    _SKIP[:] = [True, budget_bytes]
    try:
        yield
    finally:
        _SKIP[:] = previous


def skipping() -> bool:
    """Whether weights are being created only to be overwritten (see :func:`skipped`)."""
    return _SKIP[0]


def charge(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    """Count a weight about to be created against the loading budget, if there is one."""
    if _SKIP[1] is None:
        return
    count = math.prod(shape)
    if any(d < 0 for d in shape):
        raise ArgumentError(f"A weight shape must not be negative, received {shape}.")
    size = count * torch.empty((), dtype=dtype).element_size()
    if size > _SKIP[1]:
        raise ArgumentError(
            f"The config asks for a weight of shape {shape} ({size} bytes), more than the "
            "file's weights hold; the file is inconsistent."
        )
    _SKIP[1] -= size


def compute_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras fan-in and fan-out of a weight shape (the kernel layout ``(..., in, out)``).

    Example:
        >>> compute_fans((3, 3, 16, 32))
        (144, 288)
    """
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class _Named:
    """A named built-in initializer; pickles by its name (``torch.save(model)`` works and a
    loaded copy is the same object, so :func:`serialize` still finds its name)."""

    name = ""

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return get, (self.name,)

    def __repr__(self) -> str:
        return f"<initializer {self.name!r}>"


class _VarianceScaling(_Named):
    def __init__(self, name: str, scale: float, mode: str, distribution: str) -> None:
        self.name, self.scale, self.mode, self.distribution = name, scale, mode, distribution

    def __call__(self, tensor: torch.Tensor) -> None:
        fan_in, fan_out = compute_fans(tuple(tensor.shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out,
               "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, fan)
        with torch.no_grad():
            if self.distribution == "uniform":
                limit = math.sqrt(3.0 * variance)
                tensor.uniform_(-limit, limit)
            else:
                # Keras truncates at two standard deviations and rescales to keep the variance.
                std = math.sqrt(variance) / 0.87962566103423978
                torch.nn.init.trunc_normal_(tensor, 0.0, std, -2 * std, 2 * std)


class _Constant(_Named):
    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    def __call__(self, tensor: torch.Tensor) -> None:
        with torch.no_grad():
            tensor.fill_(self.value)


def _random_uniform(tensor: torch.Tensor) -> None:
    with torch.no_grad():
        tensor.uniform_(-0.05, 0.05)


def _random_normal(tensor: torch.Tensor) -> None:
    with torch.no_grad():
        tensor.normal_(0.0, 0.05)


def _orthogonal(tensor: torch.Tensor) -> None:
    with torch.no_grad():
        torch.nn.init.orthogonal_(tensor)


def _identity(tensor: torch.Tensor) -> None:
    with torch.no_grad():
        torch.nn.init.eye_(tensor)


_BY_NAME: dict[str, Initializer] = {
    "zeros": _Constant("zeros", 0.0),
    "ones": _Constant("ones", 1.0),
    "glorot_uniform": _VarianceScaling("glorot_uniform", 1.0, "fan_avg", "uniform"),
    "glorot_normal": _VarianceScaling("glorot_normal", 1.0, "fan_avg", "normal"),
    "he_uniform": _VarianceScaling("he_uniform", 2.0, "fan_in", "uniform"),
    "he_normal": _VarianceScaling("he_normal", 2.0, "fan_in", "normal"),
    "lecun_uniform": _VarianceScaling("lecun_uniform", 1.0, "fan_in", "uniform"),
    "lecun_normal": _VarianceScaling("lecun_normal", 1.0, "fan_in", "normal"),
    "random_uniform": _random_uniform,
    "random_normal": _random_normal,
    "orthogonal": _orthogonal,
    "identity": _identity,
}


def get(identifier: str | Initializer | None) -> Initializer:
    """The initializer for a Keras name (``"glorot_uniform"``...) or a callable as is.

    Example:
        >>> t = torch.empty(2, 2); get("ones")(t); t.tolist()
        [[1.0, 1.0], [1.0, 1.0]]
    """
    if identifier is None:
        return _BY_NAME["zeros"]
    if callable(identifier):
        return identifier
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in _BY_NAME:
            return _BY_NAME[key]
    raise ArgumentError(
        f"Unknown initializer: received {identifier!r}. "
        f"Use one of {sorted(_BY_NAME)} or a callable that fills a tensor in place."
    )


def serialize(identifier: str | Initializer | None) -> str | None:
    """The name to store in a config for an initializer given by name."""
    if identifier is None or isinstance(identifier, str):
        return identifier
    for name, init in _BY_NAME.items():
        if init is identifier:
            return name
    raise ArgumentError(
        f"Initializer {identifier!r} has no Keras name, so it cannot be stored in a config; "
        "pass it by name (e.g. 'glorot_uniform')."
    )

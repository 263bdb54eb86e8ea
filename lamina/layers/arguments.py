"""Checks of constructor arguments that several layers share.

A value of the wrong type is an :class:`~lamina.errors.ArgumentTypeError` (a ``TypeError``),
a value of the right type outside its range an :class:`~lamina.errors.ArgumentError` (a
``ValueError``), as Keras raises them; each message names the layer and quotes the value.
"""

from __future__ import annotations

import math
from typing import Any

from lamina.errors import ArgumentError, ArgumentTypeError


def is_int(value: Any) -> bool:
    """Whether ``value`` is an int (a bool is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def number(value: Any, name: str, owner: str, minimum: float | None = None,
           maximum: float | None = None, below: float | None = None) -> float:
    """``value`` as a float: a finite number ``>= minimum``, ``<= maximum`` and ``< below``
    (each bound optional).

    Example:
        >>> number(0.5, "rate", "GaussianDropout", minimum=0, below=1)
        0.5
        >>> number("0.5", "rate", "GaussianDropout")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lamina.errors.ArgumentTypeError: GaussianDropout: rate must be a number, received ...
    """
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise ArgumentTypeError(f"{owner}: {name} must be a number, received {name}={value!r}.")
    if (not math.isfinite(value) or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
            or (below is not None and value >= below)):
        bounds = [f">= {minimum}" if minimum is not None else "",
                  f"<= {maximum}" if maximum is not None else "",
                  f"< {below}" if below is not None else ""]
        wanted = " and ".join(b for b in bounds if b) or "finite"
        raise ArgumentError(f"{owner}: {name} must be a number {wanted}, "
                            f"received {name}={value!r}.")
    return float(value)


def seed(value: Any, owner: str) -> int | None:
    """A random seed: ``None`` or an int."""
    if value is not None and not is_int(value):
        raise ArgumentTypeError(f"{owner}: seed must be an int or None, received seed={value!r}.")
    return value


def axes(value: Any, name: str, owner: str) -> int | list[int]:
    """An axis argument: an int, or a non-empty list or tuple of ints (as a list)."""
    if is_int(value):
        return value
    if isinstance(value, (list, tuple)) and value and all(is_int(a) for a in value):
        return list(value)
    raise ArgumentTypeError(f"{owner}: {name} must be an int or a list of ints, "
                            f"received {name}={value!r}.")


def refuse_unless_off(owner: str, **arguments: Any) -> None:
    """Keras's LoRA and quantization arguments: only their off values (``None``; ``0`` for
    ``lora_rank``) are accepted."""
    for name, value in arguments.items():
        if value is not None and not (name == "lora_rank" and value == 0
                                      and not isinstance(value, bool)):
            raise ArgumentError(
                f"{owner}: LoRA and quantization are not supported, so {name} must be None, "
                f"received {name}={value!r}.")

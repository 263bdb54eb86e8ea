"""Arguments and geometry shared by the spatial layers (convolution, pooling, padding...).

``"same"`` padding is TensorFlow's, hence Keras's: the output has ``ceil(n / stride)`` steps
and the total padding ``max((out - 1) * stride + (k - 1) * dilation + 1 - n, 0)`` is split
with the odd one at the end (bottom / right), see :func:`same_padding`.
"""

from __future__ import annotations

from typing import Any

from lamina import config
from lamina.errors import ArgumentError


def normalize_tuple(value: Any, rank: int, name: str, owner: str, minimum: int = 1
                    ) -> tuple[int, ...]:
    """``value`` (an int or ``rank`` ints, each ``>= minimum``) as a tuple of ``rank`` ints.

    Example:
        >>> normalize_tuple(3, 2, "kernel_size", "Conv2D"), normalize_tuple([1, 2], 2, "s", "X")
        ((3, 3), (1, 2))
    """
    values = (value,) * rank if isinstance(value, int) else value
    if (not isinstance(values, (tuple, list)) or len(values) != rank
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum
                       for v in values)):
        raise ArgumentError(
            f"{owner}: {name} must be an int >= {minimum} or a tuple of {rank} such ints, "
            f"received {name}={value!r}."
        )
    return tuple(values)


def check_choice(value: Any, name: str, owner: str, choices: tuple[str, ...]) -> str:
    """``value`` lower-cased if it is one of ``choices``, else an error quoting it."""
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise ArgumentError(f"{owner}: {name} must be one of {list(choices)}, "
                        f"received {name}={value!r}.")


def check_data_format(value: Any, owner: str) -> str:
    """Keras's ``data_format``: ``None`` means ``lamina.config.image_data_format()``
    (``"channels_last"`` unless set)."""
    return check_choice(config.image_data_format() if value is None else value,
                        "data_format", owner,
                        ("channels_last", "channels_first"))


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's ``"same"`` padding ``(before, after)`` of one axis (the odd one after).

    Example:
        >>> same_padding(7, kernel=4, stride=2)
        (1, 2)
    """
    effective = (kernel - 1) * dilation + 1
    steps = -(-length // stride)
    total = max((steps - 1) * stride + effective - length, 0)
    return total // 2, total - total // 2


def output_length(length: int | None, kernel: int, padding: str, stride: int,
                  dilation: int = 1) -> int | None:
    """Keras's output length of a convolution or pooling window along one axis."""
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // stride)
    return (length - (kernel - 1) * dilation - 1) // stride + 1

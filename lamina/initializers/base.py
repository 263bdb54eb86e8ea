"""The initializer base class, Keras's fans, and argument checks shared by initializers."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

from lamina.errors import ArgumentError
from lamina.utils.config_equality import ConfigEquality
from lamina.utils.shapes import standardize_dtype


def compute_fans(shape: tuple[int, ...], input_axes: Any = None,
                 output_axes: Any = None) -> tuple[int, int]:
    """Keras fan-in and fan-out of a weight shape (the kernel layout ``(..., in, out)``), or
    the products of the given ``input_axes`` and ``output_axes`` (Keras 3's, for kernels
    of other layouts, e.g. ``EinsumDense``'s).

    Example:
        >>> compute_fans((3, 3, 16, 32)), compute_fans((4, 2, 8), [0], [1, 2])
        ((144, 288), (4, 16))
    """
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def real(value: Any, name: str, owner: str, minimum: float | None = None) -> float | int:
    """A finite real number argument (kept an int when given one, as Keras's config)."""
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not math.isfinite(value) or (minimum is not None and value < minimum)):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ArgumentError(f"{owner}: {name} must be a finite number{bound}. "
                            f"Received: {name}={value!r}")
    return value if isinstance(value, (int, float)) else float(value)


def seed_argument(seed: Any, owner: str) -> int | None:
    """An integer seed (any value ``torch.Generator.manual_seed`` takes) or ``None``."""
    if seed is None:
        return None
    if (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
            or not -2**63 <= seed < 2**64):
        raise ArgumentError(f"{owner}: seed must be an integer or None. Received: seed={seed!r}")
    return int(seed)


class Initializer(ConfigEquality):
    """Base class, Keras's: ``__call__(shape, dtype=None)`` returns a new tensor.

    lamina's own initializers implement ``_fill(tensor)``, which fills a contiguous tensor
    in place (``add_weight`` creates no intermediate tensor); a subclass written the Keras
    way overrides ``__call__`` instead, and is called with the shape and dtype name.
    """

    def __call__(self, shape: Any, dtype: Any = None) -> torch.Tensor:
        tensor = torch.empty(tuple(int(d) for d in shape),
                             dtype=standardize_dtype(dtype) if dtype else torch.float32)
        fill_in_place(self, tensor)
        return tensor

    def _fill(self, tensor: torch.Tensor) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(shape, dtype).")

    def get_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def clone(self) -> Initializer:
        return type(self).from_config(self.get_config())


_LOW_PRECISION = (torch.float16, torch.bfloat16)


def fill_in_place(initializer: Initializer, tensor: torch.Tensor) -> None:
    """Run a lamina initializer's ``_fill`` on ``tensor``.

    Through a contiguous copy when ``tensor`` is not contiguous (a column-major kernel gets
    the values ``initializer(shape)`` gives, whatever its memory order) and a float32 copy
    for float16 and bfloat16 (CPU QR and the truncated normal's inverse CDF need float32).
    """
    with torch.no_grad():
        if tensor.dtype in _LOW_PRECISION or not tensor.is_contiguous():
            work = torch.empty(tensor.shape, dtype=(torch.float32 if tensor.dtype in
                                                    _LOW_PRECISION else tensor.dtype))
            initializer._fill(work)
            tensor.copy_(work)
        else:
            initializer._fill(tensor)

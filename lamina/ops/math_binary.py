"""Elementwise functions of two tensors that Keras adds beyond ``math.py``.

Both operands broadcast; scalars are weakly typed, as in ``math.py``. The float functions
(``arctan2``, ``hypot``, ``logaddexp``...) give float32 for integer operands, like Keras.

Example:
    >>> import torch
    >>> hypot(torch.tensor([3.0]), 4.0).tolist()
    [5.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact_pair, promoted_pair, tensor


def _pairwise(name: str, compute: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              doc: str, floating: bool = True) -> Callable[[Any, Any], torch.Tensor]:
    """The op ``name(x1, x2)``: ``compute`` on the operands promoted to a common dtype."""

    def op(x1: Any, x2: Any) -> torch.Tensor:
        return compute(*(inexact_pair(x1, x2) if floating else promoted_pair(x1, x2)))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.__module__ = __name__
    return symbolic_op(op)


def _logaddexp2(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    return torch.logaddexp2(x1, x2)


def _divide_no_nan(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    safe = torch.where(x2 == 0, torch.ones_like(x2), x2)
    return torch.where(x2 == 0, torch.zeros_like(x1), x1 / safe)


def _fmod(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    return torch.fmod(x1, x2)


arctan2 = _pairwise("arctan2", torch.arctan2,
                    "The angle of the point ``(x2, x1)``, in ``[-pi, pi]``, quadrant-aware.")
hypot = _pairwise("hypot", torch.hypot, "``sqrt(x1 ** 2 + x2 ** 2)`` without overflow.")
logaddexp = _pairwise("logaddexp", torch.logaddexp, "``log(exp(x1) + exp(x2))``, stably.")
logaddexp2 = _pairwise("logaddexp2", _logaddexp2, "``log2(2 ** x1 + 2 ** x2)``, stably.")
true_divide = _pairwise("true_divide", torch.true_divide, "True division ``x1 / x2``.")
divide_no_nan = _pairwise("divide_no_nan", _divide_no_nan,
                          "``x1 / x2``, with 0 wherever ``x2`` is 0 (never NaN or inf).")
nextafter = _pairwise("nextafter", torch.nextafter,
                      "The next representable float after ``x1`` towards ``x2``.")
fmod = _pairwise("fmod", _fmod, "Remainder with the sign of ``x1`` (C's ``fmod``).",
                 floating=False)
fmax = _pairwise("fmax", torch.fmax, "Elementwise maximum that ignores NaN.", floating=False)
fmin = _pairwise("fmin", torch.fmin, "Elementwise minimum that ignores NaN.", floating=False)
gcd = _pairwise("gcd", torch.gcd, "Greatest common divisor of integers.", floating=False)
lcm = _pairwise("lcm", torch.lcm, "Least common multiple of integers.", floating=False)
bitwise_and = _pairwise("bitwise_and", torch.bitwise_and, "Bitwise AND.", floating=False)
bitwise_or = _pairwise("bitwise_or", torch.bitwise_or, "Bitwise OR.", floating=False)
bitwise_xor = _pairwise("bitwise_xor", torch.bitwise_xor, "Bitwise XOR.", floating=False)
bitwise_left_shift = _pairwise("bitwise_left_shift", torch.bitwise_left_shift,
                               "``x1 << x2``.", floating=False)
left_shift = _pairwise("left_shift", torch.bitwise_left_shift,
                       "``x1 << x2`` (as :func:`bitwise_left_shift`).", floating=False)
bitwise_right_shift = _pairwise("bitwise_right_shift", torch.bitwise_right_shift,
                                "``x1 >> x2``.", floating=False)
right_shift = _pairwise("right_shift", torch.bitwise_right_shift,
                        "``x1 >> x2`` (as :func:`bitwise_right_shift`).", floating=False)


@symbolic_op
def heaviside(x1: Any, x2: Any) -> torch.Tensor:
    """Step function: 0 for ``x1 < 0``, ``x2`` at 0, 1 for ``x1 > 0``.

    Integer operands compute in float32, and int64 ones in float64, as in Keras.
    """
    x1, x2 = promoted_pair(x1, x2)
    if not x1.is_floating_point():
        x1 = x1.to(torch.float64 if x1.dtype == torch.int64 else torch.float32)
        x2 = x2.to(x1.dtype)
    return torch.heaviside(x1, x2)


@symbolic_op
def ldexp(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 * 2 ** x2`` for integer exponents ``x2``."""
    x1 = tensor(x1)
    x2 = tensor(x2)
    if x2.is_floating_point():
        raise TypeError(f"ldexp's exponents must be integers; received dtype {x2.dtype}.")
    x1, _ = inexact_pair(x1, x2)
    return torch.ldexp(x1, x2)


@symbolic_op
def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8,
            equal_nan: bool = False) -> torch.Tensor:
    """Where ``|x1 - x2| <= atol + rtol * |x2|``.

    Example:
        >>> isclose(torch.tensor([1.0, 1.1]), 1.0).tolist()
        [True, False]
    """
    x1, x2 = promoted_pair(x1, x2)
    return torch.isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan)


@symbolic_op
def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8,
             equal_nan: bool = False) -> torch.Tensor:
    """Whether :func:`isclose` holds everywhere, as a boolean scalar tensor."""
    return torch.all(isclose(x1, x2, rtol=rtol, atol=atol, equal_nan=equal_nan))

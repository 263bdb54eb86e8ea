"""Elementwise functions of one tensor that Keras adds beyond ``math.py``.

The float functions (``log1p``, ``arcsin``, ``erf``...) give float32 for integer or boolean
inputs and keep a float input's dtype, as Keras does; the predicates (``isnan``,
``signbit``...) give booleans.

Example:
    >>> import torch
    >>> log2(torch.tensor([1, 8])).tolist()
    [0.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import inexact, tensor


def _elementwise(name: str, compute: Callable[[torch.Tensor], torch.Tensor], doc: str,
                 floating: bool = True) -> Callable[[Any], torch.Tensor]:
    """The op ``name(x)``: ``compute`` on ``x`` made a tensor (a float one if ``floating``)."""

    def op(x: Any) -> torch.Tensor:
        return compute(inexact(x) if floating else tensor(x))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = doc
    op.__module__ = __name__
    return symbolic_op(op)


def _cbrt(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


def _fabs(x: torch.Tensor) -> torch.Tensor:
    return torch.abs(x)


def _trunc(x: torch.Tensor) -> torch.Tensor:
    return torch.trunc(x) if x.is_floating_point() else x


def _isreal(x: torch.Tensor) -> torch.Tensor:
    return torch.isreal(x)


def _real(x: torch.Tensor) -> torch.Tensor:
    return torch.real(x) if x.is_complex() else x


def _imag(x: torch.Tensor) -> torch.Tensor:
    return torch.imag(x) if x.is_complex() else torch.zeros_like(x)


def _conj(x: torch.Tensor) -> torch.Tensor:
    return torch.conj(x).resolve_conj() if x.is_complex() else x


def _bitwise_not(x: torch.Tensor) -> torch.Tensor:
    return torch.bitwise_not(x)


rsqrt = _elementwise("rsqrt", torch.rsqrt, "``1 / sqrt(x)``.")
log1p = _elementwise("log1p", torch.log1p, "``log(1 + x)``, accurate for small ``x``.")
log2 = _elementwise("log2", torch.log2, "Base-2 logarithm.")
log10 = _elementwise("log10", torch.log10, "Base-10 logarithm.")
expm1 = _elementwise("expm1", torch.expm1, "``exp(x) - 1``, accurate for small ``x``.")
exp2 = _elementwise("exp2", torch.exp2, "``2 ** x``.")
tan = _elementwise("tan", torch.tan, "Tangent.")
sinh = _elementwise("sinh", torch.sinh, "Hyperbolic sine.")
cosh = _elementwise("cosh", torch.cosh, "Hyperbolic cosine.")
arccos = _elementwise("arccos", torch.arccos, "Inverse cosine, in ``[0, pi]``.")
arcsin = _elementwise("arcsin", torch.arcsin, "Inverse sine, in ``[-pi/2, pi/2]``.")
arctan = _elementwise("arctan", torch.arctan, "Inverse tangent, in ``(-pi/2, pi/2)``.")
arccosh = _elementwise("arccosh", torch.arccosh, "Inverse hyperbolic cosine.")
arcsinh = _elementwise("arcsinh", torch.arcsinh, "Inverse hyperbolic sine.")
arctanh = _elementwise("arctanh", torch.arctanh, "Inverse hyperbolic tangent.")
erf = _elementwise("erf", torch.erf, "The Gauss error function.")
erfc = _elementwise("erfc", torch.erfc, "``1 - erf(x)``, accurate for large ``x``.")
erfinv = _elementwise("erfinv", torch.erfinv, "The inverse of :func:`erf` on ``(-1, 1)``.")
reciprocal = _elementwise("reciprocal", torch.reciprocal, "``1 / x``.")
cbrt = _elementwise("cbrt", _cbrt, "Cube root, negative for negative ``x``.")
deg2rad = _elementwise("deg2rad", torch.deg2rad, "Degrees to radians.")
rad2deg = _elementwise("rad2deg", torch.rad2deg, "Radians to degrees.")
sinc = _elementwise("sinc", torch.sinc, "Normalised sinc, ``sin(pi x) / (pi x)`` (1 at 0).")
i0 = _elementwise("i0", torch.i0, "Modified Bessel function of the first kind, order 0.")
fabs = _elementwise("fabs", _fabs, "Absolute value as a float tensor.")
absolute = _elementwise("absolute", torch.abs, "Absolute value (the same as ``abs``).",
                        floating=False)
trunc = _elementwise("trunc", _trunc, "Round towards zero (integers are returned as they are).",
                     floating=False)
isnan = _elementwise("isnan", torch.isnan, "Where ``x`` is NaN.", floating=False)
isinf = _elementwise("isinf", torch.isinf, "Where ``x`` is plus or minus infinity.",
                     floating=False)
isfinite = _elementwise("isfinite", torch.isfinite, "Where ``x`` is neither infinite nor NaN.",
                        floating=False)
isneginf = _elementwise("isneginf", torch.isneginf, "Where ``x`` is minus infinity.",
                        floating=False)
isposinf = _elementwise("isposinf", torch.isposinf, "Where ``x`` is plus infinity.",
                        floating=False)
isreal = _elementwise("isreal", _isreal, "Where ``x`` has no imaginary part.", floating=False)
signbit = _elementwise("signbit", torch.signbit, "Where the sign bit is set (also for -0.0).",
                       floating=False)
real = _elementwise("real", _real, "The real part of ``x``.", floating=False)
imag = _elementwise("imag", _imag, "The imaginary part of ``x`` (zeros for real ``x``).",
                    floating=False)
conjugate = _elementwise("conjugate", _conj, "The complex conjugate of ``x``.", floating=False)
conj = _elementwise("conj", _conj, "The complex conjugate of ``x`` (as ``conjugate``).",
                    floating=False)
angle = _elementwise("angle", torch.angle, "The argument of each complex (or real) element.")
bitwise_invert = _elementwise("bitwise_invert", _bitwise_not,
                              "Bitwise NOT of an integer or boolean tensor.", floating=False)
bitwise_not = _elementwise("bitwise_not", _bitwise_not,
                           "Bitwise NOT (the same as :func:`bitwise_invert`).", floating=False)


@symbolic_op
def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> torch.Tensor:
    """Replace NaN by ``nan`` and infinities by ``posinf``/``neginf`` (default: the dtype's
    largest and smallest finite values).

    Example:
        >>> nan_to_num(torch.tensor([float("nan"), 1.0]), nan=-1.0).tolist()
        [-1.0, 1.0]
    """
    x = tensor(x)
    if not x.is_floating_point():
        return x
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


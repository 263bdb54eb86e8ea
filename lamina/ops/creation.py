"""Tensor creation and conversion beyond ``core.py``: filled, triangular, spaced, copied.

Shapes and dtypes follow Keras: ``dtype=None`` means float32 (``floatx``) for made-up
tensors (``full``, ``eye``, ``tri``, ``empty``) and the input's dtype for ``*_like`` ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import DTYPES, torch_dtype
from lamina.ops.promotion import inexact, tensor

Shape = int | Sequence[int]


def _dtype(dtype: Any, default: torch.dtype = torch.float32) -> torch.dtype:
    return default if dtype is None else torch_dtype(dtype)


def _shape(shape: Shape) -> tuple[int, ...]:
    return (shape,) if isinstance(shape, int) else tuple(int(n) for n in shape)


def convert_to_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array (a tensor is detached and moved to the CPU first).

    Example:
        >>> convert_to_numpy(torch.tensor([1.0, 2.0]))
        array([1., 2.], dtype=float32)
    """
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


convert_to_numpy.__lamina_op__ = "convert_to_numpy"  # type: ignore[attr-defined]


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (Keras: a tensor of the backend)."""
    return isinstance(x, torch.Tensor)


is_tensor.__lamina_op__ = "is_tensor"  # type: ignore[attr-defined]

_NAMES = {dtype: name for name, dtype in DTYPES.items()}


def dtype(x: Any) -> str:
    """The Keras name of ``x``'s dtype, such as ``"float32"``.

    Example:
        >>> dtype(torch.zeros(2, dtype=torch.int32))
        'int32'

    A symbolic tensor answers too, from its declared dtype.
    """
    declared = getattr(x, "dtype", None)
    return _NAMES[declared if isinstance(declared, torch.dtype) else tensor(x).dtype]


dtype.__lamina_op__ = "dtype"  # type: ignore[attr-defined]


@symbolic_op
def full(shape: Shape, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor of ``shape`` filled with ``fill_value`` (float32 unless ``dtype`` is given).

    Example:
        >>> full((2,), 7).tolist()
        [7.0, 7.0]
    """
    fill = tensor(fill_value)  # a tensor's device is kept (a CUDA scalar gives CUDA)
    return torch.full(_shape(shape), 0, dtype=_dtype(dtype), device=fill.device).add_(fill)


@symbolic_op
def full_like(x: Any, fill_value: Any, dtype: Any = None) -> torch.Tensor:
    """A tensor shaped like ``x`` filled with ``fill_value`` (``x``'s dtype by default)."""
    x = tensor(x)
    out = torch.zeros_like(x, dtype=_dtype(dtype, x.dtype))
    return out + torch.as_tensor(fill_value, dtype=out.dtype, device=out.device)


@symbolic_op
def empty(shape: Shape, dtype: Any = None) -> torch.Tensor:
    """An uninitialised tensor of ``shape`` (float32 unless ``dtype`` is given)."""
    return torch.empty(_shape(shape), dtype=_dtype(dtype))


@symbolic_op
def empty_like(x: Any, dtype: Any = None) -> torch.Tensor:
    """An uninitialised tensor shaped like ``x`` (``x``'s dtype by default)."""
    x = tensor(x)
    return torch.empty_like(x, dtype=_dtype(dtype, x.dtype))


@symbolic_op
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """``N x M`` matrix with ones on the ``k``-th diagonal.

    Example:
        >>> eye(2, 3, k=1).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return tri(N, M, k, dtype) - tri(N, M, k - 1, dtype)


@symbolic_op
def identity(n: int, dtype: Any = None) -> torch.Tensor:
    """The ``n x n`` identity matrix."""
    return torch.eye(n, dtype=_dtype(dtype))


@symbolic_op
def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> torch.Tensor:
    """``N x M`` matrix with ones at and below the ``k``-th diagonal, zeros above.

    Example:
        >>> tri(2, 3).tolist()
        [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    M = N if M is None else M
    return torch.ones(N, M, dtype=torch.bool).tril(k).to(_dtype(dtype))


@symbolic_op
def tril(x: Any, k: int = 0) -> torch.Tensor:
    """``x`` with the elements above the ``k``-th diagonal of its last two axes zeroed."""
    return torch.tril(tensor(x), k)


@symbolic_op
def triu(x: Any, k: int = 0) -> torch.Tensor:
    """``x`` with the elements below the ``k``-th diagonal of its last two axes zeroed."""
    return torch.triu(tensor(x), k)


@symbolic_op
def array(x: Any, dtype: Any = None) -> torch.Tensor:
    """``x`` (list, numpy array, scalar or tensor) as a tensor of ``dtype``."""
    if dtype is None:
        return tensor(x)
    return torch.as_tensor(x, dtype=torch_dtype(dtype))


@symbolic_op
def copy(x: Any) -> torch.Tensor:
    """A copy of ``x`` that shares no memory with it (gradients still flow)."""
    return tensor(x).clone()


@symbolic_op
def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Cast ``x`` to ``dtype``, clipping values to the range the dtype can hold.

    Example:
        >>> saturate_cast(torch.tensor([-5.0, 300.0]), "uint8").tolist()
        [0, 255]
    """
    x, target = tensor(x), torch_dtype(dtype)
    if target.is_floating_point or target == torch.bool:
        info = torch.finfo(target) if target.is_floating_point else None
        if info is not None and x.is_floating_point():
            x = x.clamp(info.min, info.max)
        return x.to(target)
    info = torch.iinfo(target)
    low, high = info.min, info.max
    if x.is_floating_point():
        # the float nearest each bound may lie outside it; clip to the representable side
        high = float(np.nextafter(np.float32(high), 0)) if info.bits >= 32 else high
    return x.clamp(low, high).to(target)


def _spaced(values: torch.Tensor, num: int, axis: int) -> torch.Tensor:
    return values if axis == 0 or values.ndim == 1 else torch.movedim(values, 0, axis)


@symbolic_op
def logspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10,
    dtype: Any = None, axis: int = 0,
) -> torch.Tensor:
    """``base ** linspace(start, stop, num)``: numbers evenly spaced on a log scale.

    Example:
        >>> logspace(0, 2, num=3).tolist()
        [1.0, 10.0, 100.0]
    """
    exponents = _linspace(start, stop, num, endpoint)
    out = torch.pow(torch.as_tensor(base, dtype=exponents.dtype), exponents)
    return _spaced(out, num, axis).to(_dtype(dtype, out.dtype))


@symbolic_op
def geomspace(
    start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
    axis: int = 0,
) -> torch.Tensor:
    """Numbers evenly spaced on a log scale between ``start`` and ``stop`` themselves.

    Example:
        >>> geomspace(1, 1000, num=4).tolist()
        [1.0, 10.0, 100.0, 1000.0]
    """
    start, stop = inexact(start), inexact(stop)
    result = torch.promote_types(start.dtype, stop.dtype)
    # in float64, so that the powers land on round numbers (geomspace(1, 1000, 4) -> 100.0)
    low, high = start.double(), stop.double()
    out = torch.sign(low) * torch.exp(_linspace(torch.log(low.abs()), torch.log(high.abs()),
                                                num, endpoint))
    out[0] = low
    if endpoint and num > 1:
        out[-1] = high
    return _spaced(out.to(result), num, axis).to(_dtype(dtype, result))


def _linspace(start: Any, stop: Any, num: int, endpoint: bool) -> torch.Tensor:
    start, stop = inexact(start), inexact(stop)
    steps = torch.arange(num, dtype=start.dtype, device=start.device)
    divisor = (num - 1) if endpoint else num
    step = (stop - start) / max(divisor, 1)
    return start + steps.reshape((num,) + (1,) * start.ndim) * step

"""Conversion, dtypes, shapes, constants and tensor creation.

Scalars and numpy arrays become tensors by the rule of ``operands.py``, shared by every op.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from lamina import config
from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor, torch_dtype

F = TypeVar("F", bound=Callable[..., Any])

def _shape_query(fn: F) -> F:
    """Mark ``fn`` as a lamina op without routing symbolic calls into graph nodes.

    Shape queries answer from the static shape (``None`` for unknown axes, like Keras's
    ``int_shape``), which a symbolic tensor already knows; a graph node would instead
    produce a tuple where every other op produces a tensor.
    """
    fn.__lamina_op__ = fn.__name__  # type: ignore[attr-defined]
    return fn


@symbolic_op
def floatx() -> str:
    """The default float dtype name, ``"float32"`` as in Keras (``lamina.config``)."""
    return config.floatx()


@symbolic_op
def epsilon() -> float:
    """The fuzz factor used to avoid division by zero; ``1e-7`` unless changed.

    Example:
        >>> epsilon()
        1e-07
    """
    return config.epsilon()


@symbolic_op
def set_epsilon(value: float) -> None:
    """Set the value :func:`epsilon` returns (``lamina.config.set_epsilon``)."""
    config.set_epsilon(value)


@symbolic_op
def convert_to_tensor(x: Any, dtype: str | torch.dtype | None = None) -> torch.Tensor:
    """Turn ``x`` (tensor, scalar, numpy array, list) into a tensor.

    Args:
        x: The value. A list or tuple of tensors is stacked along a new first axis.
        dtype: The wanted dtype. Default: ``None``, which keeps a tensor's dtype and gives
            float32 for Python floats and float64 numpy arrays.
    """
    if isinstance(x, torch.Tensor):
        return x if dtype is None else x.to(torch_dtype(dtype))
    if dtype is not None:
        return torch.as_tensor(x, dtype=torch_dtype(dtype))
    if isinstance(x, (list, tuple)) and x and isinstance(x[0], torch.Tensor):
        return torch.stack(list(x))
    return as_tensor(x)


@symbolic_op
def cast(x: Any, dtype: str | torch.dtype) -> torch.Tensor:
    """Cast ``x`` to ``dtype``, given as a name like ``"float32"``/``"int64"``/``"bool"``.

    Example:
        >>> cast(torch.tensor([0.0, 1.5, -2.7]), "int64").tolist()
        [0, 1, -2]
    """
    if isinstance(x, torch.Tensor):
        return x.to(torch_dtype(dtype))
    return torch.as_tensor(x, dtype=torch_dtype(dtype))


@_shape_query
def shape(x: Any) -> tuple[int, ...]:
    """The shape of ``x`` as a tuple of ints.

    Keras returns a shape *tensor*; torch shapes are always concrete (and stay symbolic
    ints under ``torch.compile``), so a tuple serves the same uses, such as
    ``shape(x)[0]`` for the batch size. On a symbolic tensor unknown axes are ``None``.
    """
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


@_shape_query
def int_shape(x: Any) -> tuple[int | None, ...]:
    """The static shape of ``x`` as a tuple (``None`` for unknown axes of symbolic tensors).

    Example:
        >>> int_shape(torch.zeros(2, 3))
        (2, 3)
    """
    return tuple(x.shape) if hasattr(x, "shape") else np.shape(x)


@_shape_query
def ndim(x: Any) -> int:
    """The number of axes of ``x``."""
    return len(x.shape) if hasattr(x, "shape") else np.ndim(x)


@symbolic_op
def ones_like(x: torch.Tensor, dtype: str | torch.dtype | None = None) -> torch.Tensor:
    """A tensor of ones with the shape (and, unless ``dtype`` is given, dtype) of ``x``."""
    x = x if isinstance(x, torch.Tensor) else as_tensor(x)
    return torch.ones_like(x, dtype=None if dtype is None else torch_dtype(dtype))


@symbolic_op
def zeros_like(x: torch.Tensor, dtype: str | torch.dtype | None = None) -> torch.Tensor:
    """A tensor of zeros with the shape (and, unless ``dtype`` is given, dtype) of ``x``."""
    x = x if isinstance(x, torch.Tensor) else as_tensor(x)
    return torch.zeros_like(x, dtype=None if dtype is None else torch_dtype(dtype))


@symbolic_op
def ones(shape: Sequence[int], dtype: str | torch.dtype = "float32") -> torch.Tensor:
    """A tensor of ones of the given shape."""
    return torch.ones(tuple(shape), dtype=torch_dtype(dtype))


@symbolic_op
def zeros(shape: Sequence[int], dtype: str | torch.dtype = "float32") -> torch.Tensor:
    """A tensor of zeros of the given shape."""
    return torch.zeros(tuple(shape), dtype=torch_dtype(dtype))


@symbolic_op
def arange(
    start: float, stop: float | None = None, step: float = 1, dtype: Any = None
) -> torch.Tensor:
    """Evenly spaced values in ``[start, stop)``; ``arange(n)`` counts from 0 to ``n - 1``.

    Example:
        >>> arange(2, 11, 3).tolist()
        [2, 5, 8]
    """
    if stop is None:
        start, stop = 0, start
    return torch.arange(start, stop, step, dtype=None if dtype is None else torch_dtype(dtype))


@symbolic_op
def linspace(
    start: float, stop: float, num: int = 50, endpoint: bool = True, dtype: Any = None
) -> torch.Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` (excluded if not ``endpoint``)."""
    wanted = None if dtype is None else torch_dtype(dtype)
    if endpoint:
        return torch.linspace(start, stop, num, dtype=wanted)
    return torch.linspace(start, stop, num + 1, dtype=wanted)[:-1]


@symbolic_op
def random_normal(
    shape: Sequence[int],
    mean: float = 0.0,
    stddev: float = 1.0,
    dtype: str | torch.dtype = "float32",
    seed: int | None = None,
) -> torch.Tensor:
    """Samples from a normal distribution.

    Args:
        shape: The output shape, e.g. ``(shape(x)[0], 16)``.
        mean: The mean. Default: ``0.0``.
        stddev: The standard deviation. Default: ``1.0``.
        dtype: Default: ``"float32"``.
        seed: With a seed every call returns the same samples; without one, torch's global
            generator is used (see ``torch.manual_seed``). Default: ``None``.
    """
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    out = torch.empty(tuple(shape), dtype=torch_dtype(dtype))
    return out.normal_(mean, stddev, generator=generator)


@symbolic_op
def random_uniform(
    shape: Sequence[int],
    minval: float = 0.0,
    maxval: float = 1.0,
    dtype: str | torch.dtype = "float32",
    seed: int | None = None,
) -> torch.Tensor:
    """Samples from a uniform distribution on ``[minval, maxval)``; ``seed`` as in
    :func:`random_normal`."""
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    out = torch.empty(tuple(shape), dtype=torch_dtype(dtype))
    return out.uniform_(minval, maxval, generator=generator)


@symbolic_op
def stop_gradient(x: torch.Tensor) -> torch.Tensor:
    """``x`` with no gradient flowing back through it."""
    return x.detach()


@symbolic_op
def getitem(x: torch.Tensor, key: Any) -> torch.Tensor:
    """``x[key]``: indexing and slicing, as the ``[]`` operator of symbolic tensors does."""
    return x[key]

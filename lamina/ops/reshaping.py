"""Moving, flipping, stacking and splitting axes, with Keras's (numpy's) arguments.

Example:
    >>> import torch
    >>> swapaxes(torch.zeros(2, 3, 4), 0, 2).shape
    torch.Size([4, 3, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import axes_tuple, tensor

Sections = int | Sequence[int]


def _tensors(xs: Sequence[Any]) -> list[torch.Tensor]:
    tensors = [tensor(x) for x in xs]
    dtype = tensors[0].dtype
    for t in tensors[1:]:
        dtype = torch.promote_types(dtype, t.dtype)
    return [t.to(dtype) for t in tensors]


@symbolic_op
def broadcast_to(x: Any, shape: Sequence[int]) -> torch.Tensor:
    """``x`` broadcast to ``shape`` (numpy's rules)."""
    return torch.broadcast_to(tensor(x), tuple(shape))


@symbolic_op
def moveaxis(x: Any, source: int | Sequence[int],
             destination: int | Sequence[int]) -> torch.Tensor:
    """``x`` with the axes ``source`` moved to the positions ``destination``."""
    return torch.movedim(tensor(x), source, destination)


@symbolic_op
def swapaxes(x: Any, axis1: int, axis2: int) -> torch.Tensor:
    """``x`` with ``axis1`` and ``axis2`` exchanged."""
    return torch.swapaxes(tensor(x), axis1, axis2)


@symbolic_op
def ravel(x: Any) -> torch.Tensor:
    """``x`` flattened to one axis."""
    return torch.ravel(tensor(x))


@symbolic_op
def flip(x: Any, axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """``x`` reversed along ``axis`` (every axis when ``None``)."""
    x = tensor(x)
    return torch.flip(x, axes_tuple(axis, x.ndim))


@symbolic_op
def fliplr(x: Any) -> torch.Tensor:
    """``x`` reversed along axis 1."""
    return torch.fliplr(tensor(x))


@symbolic_op
def flipud(x: Any) -> torch.Tensor:
    """``x`` reversed along axis 0."""
    return torch.flipud(tensor(x))


@symbolic_op
def roll(x: Any, shift: int | Sequence[int],
         axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """``x`` rotated by ``shift`` places along ``axis`` (over the flattened tensor if ``None``).

    Example:
        >>> roll(torch.arange(5), 2).tolist()
        [3, 4, 0, 1, 2]
    """
    x = tensor(x)
    if axis is None:
        return torch.roll(x.reshape(-1), shift).reshape(x.shape)
    return torch.roll(x, shift, axis)


@symbolic_op
def rot90(array: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> torch.Tensor:
    """``array`` rotated by ``k`` quarter turns in the plane of ``axes``."""
    return torch.rot90(tensor(array), k, list(axes))


@symbolic_op
def hstack(xs: Sequence[Any]) -> torch.Tensor:
    """Join along axis 1 (axis 0 for 1-D tensors)."""
    return torch.hstack(_tensors(xs))


@symbolic_op
def vstack(xs: Sequence[Any]) -> torch.Tensor:
    """Join along axis 0, 1-D tensors taken as rows."""
    return torch.vstack(_tensors(xs))


@symbolic_op
def dstack(xs: Sequence[Any]) -> torch.Tensor:
    """Join along axis 2, lower-rank tensors first raised to three axes."""
    return torch.dstack(_tensors(xs))


def _split_along(x: torch.Tensor, sections: Sections, axis: int,
                 equal: bool) -> list[torch.Tensor]:
    if isinstance(sections, int):
        if equal and x.shape[axis] % sections:
            raise ValueError(
                f"Cannot split an axis of size {x.shape[axis]} into {sections} equal "
                "parts. Pass a number that divides it, or indices (or use array_split).")
        return list(torch.tensor_split(x, sections, dim=axis))
    return list(torch.tensor_split(x, [int(i) for i in sections], dim=axis))


@symbolic_op
def array_split(x: Any, indices_or_sections: Sections, axis: int = 0) -> list[torch.Tensor]:
    """Split into ``indices_or_sections`` parts (the first ones one longer when the axis
    does not divide evenly), or at the given indices.

    Example:
        >>> [t.tolist() for t in array_split(torch.arange(5), 2)]
        [[0, 1, 2], [3, 4]]
    """
    return _split_along(tensor(x), indices_or_sections, axis, equal=False)


@symbolic_op
def hsplit(x: Any, indices_or_sections: Sections) -> list[torch.Tensor]:
    """Split along axis 1 (axis 0 for 1-D tensors) into equal parts or at indices."""
    x = tensor(x)
    return _split_along(x, indices_or_sections, 1 if x.ndim > 1 else 0, equal=True)


@symbolic_op
def vsplit(x: Any, indices_or_sections: Sections) -> list[torch.Tensor]:
    """Split along axis 0 into equal parts or at indices."""
    return _split_along(tensor(x), indices_or_sections, 0, equal=True)


@symbolic_op
def dsplit(x: Any, indices_or_sections: Sections) -> list[torch.Tensor]:
    """Split along axis 2 into equal parts or at indices."""
    return _split_along(tensor(x), indices_or_sections, 2, equal=True)


@symbolic_op
def append(x1: Any, x2: Any, axis: int | None = None) -> torch.Tensor:
    """``x2`` joined after ``x1`` along ``axis`` (both flattened when ``None``)."""
    x1, x2 = _tensors([x1, x2])
    if axis is None:
        return torch.cat([x1.reshape(-1), x2.reshape(-1)])
    return torch.cat([x1, x2], dim=axis)


@symbolic_op
def meshgrid(*x: Any, indexing: str = "xy") -> list[torch.Tensor]:
    """Coordinate grids from 1-D coordinate vectors; ``indexing`` is ``"xy"`` or ``"ij"``."""
    return list(torch.meshgrid(*[tensor(v) for v in x], indexing=indexing))


@symbolic_op
def diff(a: Any, n: int = 1, axis: int = -1) -> torch.Tensor:
    """The ``n``-th discrete difference along ``axis``."""
    return torch.diff(tensor(a), n=n, dim=axis)


def _check_data_format(data_format: str) -> None:
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError("data_format must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}.")


@symbolic_op
def depth_to_space(x: Any, block_size: int,
                   data_format: str = "channels_last") -> torch.Tensor:
    """Move blocks of channels into ``block_size x block_size`` spatial patches
    (``(N, H, W, C)`` to ``(N, H*b, W*b, C/b**2)`` for ``channels_last``)."""
    x, b = tensor(x), block_size
    _check_data_format(data_format)
    if data_format == "channels_first":
        n, c, h, w = x.shape
        x = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.reshape(n, c // (b * b), h * b, w * b)
    n, h, w, c = x.shape
    x = x.reshape(n, h, w, b, b, c // (b * b)).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h * b, w * b, c // (b * b))


@symbolic_op
def space_to_depth(x: Any, block_size: int,
                   data_format: str = "channels_last") -> torch.Tensor:
    """Move ``block_size x block_size`` spatial patches into channels (the inverse of
    :func:`depth_to_space`)."""
    x, b = tensor(x), block_size
    _check_data_format(data_format)
    if data_format == "channels_first":
        n, c, h, w = x.shape
        x = x.reshape(n, c, h // b, b, w // b, b).permute(0, 1, 3, 5, 2, 4)
        return x.reshape(n, c * b * b, h // b, w // b)
    n, h, w, c = x.shape
    x = x.reshape(n, h // b, b, w // b, b, c).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(n, h // b, w // b, b * b * c)

"""Reshaping, reordering, joining, repeating and indexing tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.operands import as_tensor

# numpy's pad modes and the torch names for the same thing.
_PAD_MODES = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}


@symbolic_op
def reshape(x: Any, shape: Sequence[int]) -> torch.Tensor:
    """Give ``x`` the full ``shape`` (batch axis included); one entry may be -1."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.reshape(x, tuple(shape))


@symbolic_op
def transpose(x: Any, axes: Sequence[int] | None = None) -> torch.Tensor:
    """Permute the axes of ``x``; reverses them all when ``axes`` is ``None``.

    Example:
        >>> transpose(torch.zeros(2, 3, 4)).shape
        torch.Size([4, 3, 2])
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if axes is None:
        return x.permute(tuple(range(x.ndim - 1, -1, -1)))
    return x.permute(tuple(axes))


@symbolic_op
def permute_dimensions(x: Any, pattern: Sequence[int]) -> torch.Tensor:
    """Reorder the axes of ``x``: output axis ``i`` is input axis ``pattern[i]``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return x.permute(tuple(pattern))


@symbolic_op
def expand_dims(x: Any, axis: int | Sequence[int] = -1) -> torch.Tensor:
    """Insert size-1 axes at ``axis`` (an int or several, positions in the output)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(axis, int):
        return torch.unsqueeze(x, axis)
    rank = x.ndim + len(axis)
    for dim in sorted(a + rank if a < 0 else a for a in axis):
        x = torch.unsqueeze(x, dim)
    return x


@symbolic_op
def squeeze(x: Any, axis: int | Sequence[int] | None = None) -> torch.Tensor:
    """Remove size-1 axes: all of them, or those in ``axis``.

    Raises:
        ShapeError: An axis in ``axis`` does not have size 1 (Keras raises too; torch
            would silently keep it).
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if axis is None:
        return torch.squeeze(x)
    dims = (axis,) if isinstance(axis, int) else tuple(axis)
    for dim in dims:
        if x.shape[dim] != 1:
            raise ShapeError(
                f"squeeze: axis {dim} of a tensor of shape {tuple(x.shape)} has size "
                f"{x.shape[dim]}; only axes of size 1 can be squeezed."
            )
    return torch.squeeze(x, dims)


@symbolic_op
def concatenate(tensors: Sequence[torch.Tensor], axis: int = 0) -> torch.Tensor:
    """Join tensors along an existing axis (the first by default, as keras.ops; Keras 2's
    ``K.concatenate`` in ``lamina.backend`` joins along the last)."""
    return torch.cat(_same_dtype(tensors), dim=axis)


@symbolic_op
def stack(tensors: Sequence[torch.Tensor], axis: int = 0) -> torch.Tensor:
    """Join same-shape tensors along a new axis."""
    return torch.stack(_same_dtype(tensors), dim=axis)


def _same_dtype(values: Sequence[Any]) -> tuple[torch.Tensor, ...]:
    """Tensors of one dtype from tensors, numpy arrays or lists (as Keras converts them)."""
    if all(type(v) is torch.Tensor for v in values):
        return tuple(values)
    tensors = [v if isinstance(v, torch.Tensor) else as_tensor(v) for v in values]
    common = tensors[0].dtype
    for t in tensors[1:]:
        common = torch.promote_types(common, t.dtype)
    return tuple(t.to(common) for t in tensors)


@symbolic_op
def flatten(x: Any) -> torch.Tensor:
    """``x`` as a 1-D tensor."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.reshape(x, (-1,))


@symbolic_op
def batch_flatten(x: Any) -> torch.Tensor:
    """``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    # flatten(x, 1) rather than reshape(batch, -1), which is ambiguous for an empty batch.
    return torch.flatten(x, 1) if x.ndim > 1 else torch.reshape(x, (-1, 1))


@symbolic_op
def repeat(x: Any, n: int) -> torch.Tensor:
    """Keras-2 ``K.repeat``: ``(batch, dim)`` to ``(batch, n, dim)``, repeating each row.

    This is not numpy's ``repeat``; for that, use :func:`repeat_elements`.

    Example:
        >>> repeat(torch.tensor([[1, 2], [3, 4]]), 2).tolist()
        [[[1, 2], [1, 2]], [[3, 4], [3, 4]]]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.repeat_interleave(torch.unsqueeze(x, 1), n, dim=1)


@symbolic_op
def repeat_elements(x: Any, rep: int, axis: int) -> torch.Tensor:
    """Repeat each slice of ``x`` along ``axis`` ``rep`` times (``[a, b]`` -> ``[a, a, b, b]``)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.repeat_interleave(x, rep, dim=axis)


@symbolic_op
def tile(x: Any, n: int | Sequence[int]) -> torch.Tensor:
    """Repeat the whole of ``x`` ``n[i]`` times along axis ``i`` (an int tiles the last axis)."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    return torch.tile(x, (n,) if isinstance(n, int) else tuple(n))


@symbolic_op
def gather(reference: torch.Tensor, indices: Any) -> torch.Tensor:
    """Keras ``K.gather``: the rows ``reference[indices]`` (indexing axis 0).

    Args:
        reference: Tensor to read from.
        indices: Integer tensor of any shape; the result has shape
            ``indices.shape + reference.shape[1:]``.
    """
    if not isinstance(indices, torch.Tensor):
        indices = torch.as_tensor(indices, device=reference.device)
    # index_select (not reference[indices]) so a bool tensor is never taken as a mask.
    flat = torch.index_select(reference, 0, indices.reshape(-1))
    return flat.reshape(indices.shape + reference.shape[1:])


@symbolic_op
def split(x: Any, indices_or_sections: int | Sequence[int], axis: int = 0) -> list[torch.Tensor]:
    """Split ``x`` along ``axis`` into equal sections or at the given indices (numpy rules).

    Raises:
        ShapeError: ``indices_or_sections`` is an int that does not divide the axis size.
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if isinstance(indices_or_sections, int) and x.shape[axis] % indices_or_sections:
        raise ShapeError(
            f"split: axis {axis} of a tensor of shape {tuple(x.shape)} cannot be split "
            f"into {indices_or_sections} equal sections; pass split indices instead."
        )
    return list(torch.tensor_split(x, indices_or_sections, dim=axis))


@symbolic_op
def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """Split ``x`` along ``axis`` into a list of its slices, one axis fewer each.

    ``num``, if given, is the expected number of slices (Keras's argument).
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if num is not None and x.shape[axis] != num:
        raise ShapeError(
            f"unstack: axis {axis} of a tensor of shape {tuple(x.shape)} has "
            f"{x.shape[axis]} slices, not num={num}."
        )
    return list(torch.unbind(x, dim=axis))


@symbolic_op
def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: float = 0) -> torch.Tensor:
    """Pad ``x`` with numpy's ``pad_width`` convention.

    Args:
        x: Input tensor.
        pad_width: ``((before_0, after_0), ..., (before_n, after_n))``, one pair per axis;
            a single ``(before, after)`` pair or an int applies to every axis.
        mode: ``"constant"``, ``"reflect"``, ``"edge"`` or ``"wrap"``. The last three are
            torch's reflect/replicate/circular pads, which only pad the last one to three
            axes. Default: ``"constant"``.
        constant_values: Fill value for ``"constant"``. Default: ``0``.

    Example:
        >>> pad(torch.tensor([[1, 2]]), ((0, 1), (1, 0))).tolist()
        [[0, 1, 2], [0, 0, 0]]
    """
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x)
    if mode not in _PAD_MODES:
        raise ArgumentError(f"pad: unknown mode {mode!r}; expected one of {sorted(_PAD_MODES)}.")
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (x.ndim, 2))
    # torch lists (before, after) from the last axis backwards.
    flat = widths[::-1].reshape(-1).tolist()
    if mode == "constant":
        return F.pad(x, flat, value=constant_values)
    # The non-constant torch pads refuse entries for leading axes, even zero ones.
    while len(flat) > 2 and flat[-2:] == [0, 0]:
        del flat[-2:]
    return F.pad(x, flat, mode=_PAD_MODES[mode])

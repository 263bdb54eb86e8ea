"""``keras.ops.image`` resampling at coordinates: ``map_coordinates`` and
``affine_transform`` (nearest or linear interpolation, Keras's fill modes)."""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable
from typing import Any

import torch

from lamina.errors import ArgumentError, ShapeError
from lamina.ops.dispatch import symbolic_op
from lamina.ops.image_layout import (
    channels_last,
    checked_images,
    from_batched_nchw,
    to_batched_nchw,
)
from lamina.ops.promotion import inexact, tensor

_SAMPLING_ORDERS = {"nearest": 0, "bilinear": 1}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


class UnsupportedOrderError(ArgumentError, NotImplementedError):
    """``map_coordinates`` with ``order`` above 1: Keras raises ``NotImplementedError``, so
    this is both that and a ``ValueError``."""


# ------------------------------------------------------------------ sampling and warping
def _mirror(index: torch.Tensor, size: int) -> torch.Tensor:
    period = size - 1
    if period == 0:
        return torch.zeros_like(index)
    return ((index + period) % (2 * period) - period).abs()


_INDEX_FIXERS: dict[str, Callable[[torch.Tensor, int], torch.Tensor]] = {
    "constant": lambda index, size: index.clamp(0, size - 1),
    "nearest": lambda index, size: index.clamp(0, size - 1),
    "wrap": lambda index, size: index % size,
    "mirror": _mirror,
    "reflect": lambda index, size: torch.div(_mirror(2 * index + 1, 2 * size + 1) - 1, 2,
                                             rounding_mode="floor"),
}


def _nodes(coordinate: torch.Tensor, size: int, order: int, fill_mode: str
           ) -> list[tuple[torch.Tensor, torch.Tensor | None, Any]]:
    """(index into the axis, whether it lies inside (constant mode), weight) of each
    neighbour that ``coordinate`` interpolates from."""
    if order == 0:
        exact = coordinate if not coordinate.is_floating_point() else coordinate.round()
        found = [(exact.long(), 1)]
    else:
        if not coordinate.is_floating_point():
            coordinate = coordinate.to(torch.float32)
        lower = coordinate.floor()
        upper_weight = coordinate - lower
        found = [(lower.long(), 1 - upper_weight), (lower.long() + 1, upper_weight)]
    return [(_INDEX_FIXERS[fill_mode](index, size),
             (index >= 0) & (index < size) if fill_mode == "constant" else None, weight)
            for index, weight in found]


def _interpolate(gather: Callable[[tuple[torch.Tensor, ...]], torch.Tensor],
                 nodes: list[list[tuple[torch.Tensor, torch.Tensor | None, Any]]],
                 fill_value: Any, dtype: torch.dtype, expand: Callable[[Any], Any]
                 ) -> torch.Tensor:
    """The weighted sum over all corners of the per-axis ``nodes``; ``gather`` reads the
    values at one corner's indices, ``expand`` fits weights and masks to them."""
    total: Any = None
    for corner in itertools.product(*nodes):
        indices, valid, weights = zip(*corner)
        value = gather(indices)
        if valid[0] is not None:
            value = torch.where(expand(functools.reduce(operator.and_, valid)), value,
                                fill_value)
        term = expand(functools.reduce(operator.mul, weights)) * value
        total = term if total is None else total + term
    if not (dtype.is_floating_point or dtype.is_complex) and total.is_floating_point():
        total = total.round()
    return total.to(dtype)


def _check_sampling(fn: str, fill_mode: str) -> None:
    if fill_mode not in _FILL_MODES:
        raise ArgumentError(f"{fn}: fill_mode must be one of {list(_FILL_MODES)}; received "
                            f"fill_mode={fill_mode!r}.")


def _fill(fill_value: Any, x: torch.Tensor) -> Any:
    if isinstance(fill_value, (int, float)) and not x.is_floating_point():
        return int(fill_value)
    return fill_value


@symbolic_op
def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> torch.Tensor:
    """Sample ``inputs`` at ``coordinates`` (one array per axis of ``inputs``, stacked or
    in a list) by nearest (``order=0``) or linear (``order=1``) interpolation.

    ``fill_mode`` says what lies outside: ``"constant"`` (``fill_value``), ``"nearest"``
    (the edge), ``"wrap"``, ``"mirror"`` (``c d c b | a b c d``) or ``"reflect"``
    (``d c b a | a b c d``). The result has the coordinates' trailing shape and the
    inputs' dtype (integer results rounded).

    Example:
        >>> import torch
        >>> map_coordinates(torch.tensor([0.0, 10.0, 20.0]), [[0.5, 1.75, 3.0]], 1).tolist()
        [5.0, 17.5, 0.0]
    """
    x = tensor(inputs)
    coordinate_list = [torch.as_tensor(c, device=x.device) for c in coordinates]
    if len(coordinate_list) != x.ndim:
        raise ShapeError("map_coordinates: coordinates need one entry per axis of inputs "
                         f"(inputs.shape={tuple(x.shape)}); received "
                         f"{len(coordinate_list)}.")
    if coordinate_list[0].ndim < 1:
        raise ShapeError("map_coordinates: coordinates must be at least 2-D, "
                         f"(axes, *points); received shape ({len(coordinate_list)},).")
    _check_sampling("map_coordinates", fill_mode)
    if order not in (0, 1):
        raise UnsupportedOrderError("map_coordinates: order must be 0 (nearest) or 1 "
                                    f"(linear); received order={order!r}.")
    nodes = [_nodes(c, size, order, fill_mode) for c, size in zip(coordinate_list, x.shape)]
    return _interpolate(lambda indices: x[indices], nodes, _fill(fill_value, x), x.dtype,
                        lambda w: w)


@symbolic_op
def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear",
                     fill_mode: str = "constant", fill_value: float = 0,
                     data_format: str | None = None) -> torch.Tensor:
    """Warp images: output pixel ``(x, y)`` samples the input at
    ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``, ``k = c0 x + c1 y + 1``.

    Args:
        images: One image (3-D) or a batch (4-D).
        transform: ``[a0, a1, a2, b0, b1, b2, c0, c1]`` (for every image; Keras's torch
            backend fails on a batch with one transform), or one such row per image. The
            projective ``c0``, ``c1`` divide as in Keras's TensorFlow backend (its torch
            backend misuses them). No gradient reaches the transform in Keras; here it does.
        interpolation: ``"nearest"`` or ``"bilinear"``. Default: ``"bilinear"``.
        fill_mode: Outside the input: ``"constant"``, ``"nearest"``, ``"wrap"``,
            ``"mirror"`` or ``"reflect"`` (see :func:`map_coordinates`).
            Default: ``"constant"``.
        fill_value: The value of ``"constant"``. Default: ``0``.
        data_format: ``"channels_last"`` or ``"channels_first"``. Default: ``None`` (the
            configured image data format).

    Example:
        >>> import torch
        >>> image = torch.arange(4.0).reshape(1, 4, 1)
        >>> shift = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0]  # samples x + 1
        >>> affine_transform(image, shift)[0, :, 0].tolist()
        [1.0, 2.0, 3.0, 0.0]
    """
    if interpolation not in _SAMPLING_ORDERS:
        raise ArgumentError("affine_transform: interpolation must be 'nearest' or "
                            f"'bilinear'; received interpolation={interpolation!r}.")
    _check_sampling("affine_transform", fill_mode)
    last = channels_last(data_format, "affine_transform")
    x = checked_images(images, "affine_transform")
    matrix = inexact(transform)
    if matrix.ndim not in (1, 2) or matrix.shape[-1] != 8:
        raise ShapeError("affine_transform: transform must be 8 values or one row of 8 per "
                         f"image; received transform.shape={tuple(matrix.shape)}.")
    x, single = to_batched_nchw(x, last)
    x = torch.movedim(x, 1, -1)  # (batch, height, width, channels): one gather per corner
    batch, height, width = x.shape[:3]
    rows = matrix.reshape(-1, 8).to(x.device)
    if rows.shape[0] not in (1, batch):
        raise ShapeError(f"affine_transform: {rows.shape[0]} transforms for {batch} images; "
                         "give one, or one per image.")
    ys, xs = torch.meshgrid(torch.arange(height, dtype=rows.dtype, device=x.device),
                            torch.arange(width, dtype=rows.dtype, device=x.device),
                            indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (r.reshape(-1, 1, 1) for r in rows.unbind(-1))
    k = c0 * xs + c1 * ys + 1.0
    source_x = ((a0 * xs + a1 * ys + a2) / k).expand(batch, height, width)
    source_y = ((b0 * xs + b1 * ys + b2) / k).expand(batch, height, width)
    order = _SAMPLING_ORDERS[interpolation]
    nodes = [_nodes(source_y, height, order, fill_mode), _nodes(source_x, width, order, fill_mode)]
    image_index = torch.arange(batch, device=x.device).reshape(-1, 1, 1)
    out = _interpolate(lambda ij: x[image_index, ij[0], ij[1]], nodes, _fill(fill_value, x),
                       x.dtype, lambda w: w.unsqueeze(-1) if isinstance(w, torch.Tensor) else w)
    return from_batched_nchw(torch.movedim(out, -1, 1), last, single)

"""Up-sampling, zero-padding and cropping of any number of spatial axes: ``UpSampling``,
``ZeroPadding`` and ``Cropping``, the bases of their 1-D, 2-D (``reshaping_spatial.py``)
and 3-D (``reshaping_3d.py``) layers, and Keras's padding / cropping argument
(:func:`padding_pairs`). None has weights.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import normalize_tuple

Shape = tuple[int | None, ...]


def padding_pairs(value: Any, rank: int, name: str, owner: str) -> tuple[tuple[int, int], ...]:
    """Keras's padding / cropping argument as ``rank`` ``(before, after)`` pairs.

    An int applies to both ends of every axis, ``rank`` ints give each axis's (symmetric)
    amount, and ``rank`` pairs give each end. For ``rank == 1`` a pair is the two ends.

    Example:
        >>> padding_pairs(1, 2, "padding", "ZeroPadding2D")
        ((1, 1), (1, 1))
        >>> padding_pairs((1, (2, 3)), 2, "padding", "ZeroPadding2D")
        ((1, 1), (2, 3))
    """
    try:
        if rank == 1:
            return (normalize_tuple(value, 2, name, owner, minimum=0),)
        if isinstance(value, (tuple, list)) and len(value) == rank and any(
                isinstance(v, (tuple, list)) for v in value):
            return tuple(normalize_tuple(v, 2, name, owner, minimum=0) for v in value)
        return tuple((v, v) for v in normalize_tuple(value, rank, name, owner, minimum=0))
    except ArgumentError as error:
        # One message for every accepted form, rather than the narrower one that failed.
        raise ArgumentError(
            f"{owner}: {name} must be an int >= 0, a tuple of {2 if rank == 1 else rank} "
            f"such ints{'' if rank == 1 else f', or {rank} (before, after) pairs'}, "
            f"received {name}={value!r}."
        ) from error


class SpatialResizing(Layer):
    """Shared by the layers here: the spatial axes for the data format, rank checks and
    output shapes. Subclasses set ``rank``."""

    rank = 1

    def _set_format(self, data_format: str) -> None:
        self.data_format = data_format
        first = 1 if data_format == "channels_last" else 2
        self._spatial_axes = tuple(range(first, first + self.rank))
        self._build_at_init()

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != self.rank + 2:
            raise ShapeError(
                f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 2}, "
                f"received shape {tuple(shape)}."
            )

    def _resize(self, input_shape: Shape, change: Any) -> Shape:
        """``input_shape`` with each spatial axis ``n`` replaced by ``change(index, n)``."""
        self._check_rank(input_shape)
        shape = list(input_shape)
        for index, axis in enumerate(self._spatial_axes):
            if shape[axis] is not None:
                shape[axis] = change(index, shape[axis])
                if shape[axis] <= 0:
                    raise ShapeError(
                        f"{type(self).__name__} '{self.name}': an input of shape "
                        f"{tuple(input_shape)} leaves nothing on axis {axis}."
                    )
        return tuple(shape)


class UpSampling(SpatialResizing):
    """Repeats each step of the spatial axes: axis ``i`` by ``self._factors[i]`` (nearest
    neighbour). Subclasses set ``rank`` and call :meth:`_set_factors`."""

    def _set_factors(self, factors: tuple[int, ...], data_format: str) -> None:
        self._factors = factors
        self._set_format(data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        # One broadcast copy: a new axis of the factor's size after each spatial axis.
        expanded = inputs
        for axis in reversed(self._spatial_axes):
            expanded = expanded.unsqueeze(axis + 1)
        sizes, shape = list(expanded.shape), list(inputs.shape)
        for index, (axis, factor) in enumerate(zip(self._spatial_axes, self._factors)):
            sizes[axis + index + 1] = factor
            shape[axis] *= factor
        return expanded.expand(sizes).reshape(shape)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda i, n: n * self._factors[i])


class ZeroPadding(SpatialResizing):
    """Adds zeros at both ends of each spatial axis: ``self._pairs[i]`` ``(before, after)``
    on axis ``i``. Subclasses set ``rank`` and call :meth:`_set_pairs`."""

    def _set_pairs(self, pairs: tuple[tuple[int, int], ...], data_format: str) -> None:
        self._pairs = pairs
        self._set_format(data_format)
        # F.pad lists the last axis first; channels_last inputs end with the channel axis.
        trailing = [0, 0] if data_format == "channels_last" else []
        self._pad = [*trailing, *(p for pair in reversed(pairs) for p in pair)]

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.pad(inputs, self._pad)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return self._resize(input_shape, lambda i, n: n + sum(self._pairs[i]))


class Cropping(SpatialResizing):
    """Cuts ``self._pairs[i]`` ``(before, after)`` steps off the ends of spatial axis ``i``;
    cropping a whole axis away is a :class:`~lamina.errors.ShapeError` (a ``ValueError``,
    as in Keras). Subclasses set ``rank`` and call :meth:`_set_pairs`."""

    def _set_pairs(self, pairs: tuple[tuple[int, int], ...], data_format: str) -> None:
        self._pairs = pairs
        self._set_format(data_format)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != self.rank + 2:
            self._check_rank(inputs.shape)
        slices: list[slice] = [slice(None)] * inputs.dim()
        for axis, (before, after) in zip(self._spatial_axes, self._pairs):
            length = inputs.shape[axis]
            if before + after >= length:
                raise self._too_much(tuple(inputs.shape), axis, length)
            slices[axis] = slice(before, length - after)
        return inputs[tuple(slices)]

    def _too_much(self, shape: Shape, axis: int, length: int) -> ShapeError:
        pair = self._pairs[self._spatial_axes.index(axis)]
        return ShapeError(
            f"{type(self).__name__} '{self.name}': cropping {pair} from axis {axis} leaves "
            f"nothing of its {length} steps (input shape {shape}); the cropping must be "
            "smaller than the input."
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        for axis, (before, after) in zip(self._spatial_axes, self._pairs):
            length = input_shape[axis]
            if length is not None and before + after >= length:
                raise self._too_much(tuple(input_shape), axis, length)
        return self._resize(input_shape, lambda i, n: n - sum(self._pairs[i]))

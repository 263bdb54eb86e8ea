"""The ``axis`` argument of the per-sample normalizations (``LayerNormalization`` in
``normalization.py``, ``RMSNormalization``): an int or a list of ints that, as in Keras,
becomes the sorted list of the layer's axes once built (a built layer's config says
``[-1]``); both forms are accepted.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers import arguments
from lamina.layers.layer import Layer

Shape = tuple[int | None, ...]


def axis_argument(axis: Any, owner: str) -> int | list[int]:
    """An ``axis`` argument as Keras stores it: an int, or a list of ints (from a list or
    a tuple); anything else is a TypeError, as in Keras.

    Example:
        >>> axis_argument((2, 1), "LayerNormalization"), axis_argument(-1, "X")
        ([2, 1], -1)
    """
    if arguments.is_int(axis):
        return axis
    if isinstance(axis, (list, tuple)):
        if not all(arguments.is_int(a) for a in axis):
            raise ArgumentTypeError(f"{owner}: axis must be an int or a list of ints, "
                                    f"received axis={axis!r}.")
        if not axis:
            raise ArgumentError(f"{owner}: axis must name at least one axis, "
                                f"received axis={axis!r}.")
        return list(axis)
    raise ArgumentTypeError(f"{owner}: axis must be an int or a list of ints, "
                            f"received axis={axis!r}.")


def normalized_axes(layer: Layer, axis: int | list[int], input_shape: Shape) -> list[int]:
    """``axis`` as sorted non-negative axes of ``input_shape``: a ShapeError (a ValueError,
    as Keras's) names the layer when one is out of range, repeated, or of unknown size."""
    rank = len(input_shape)
    given = [axis] if isinstance(axis, int) else list(axis)
    if any(not -rank <= a < rank for a in given):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axis} is out of range "
                         f"for inputs of shape {tuple(input_shape)}.")
    axes = sorted(a % rank for a in given)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axis} names an axis "
                         f"twice for inputs of shape {tuple(input_shape)}.")
    if any(input_shape[a] is None for a in axes):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axes {axes} must be "
                         f"known, received input shape {tuple(input_shape)}.")
    return axes


def axes_geometry(axes: list[int], input_shape: Shape) -> tuple[tuple[int, ...], bool, list[int]]:
    """For sorted ``axes`` of ``input_shape``: the weight shape (their sizes), whether they
    are the trailing axes (what torch's fused kernels normalise over), and the shape that
    broadcasts a weight against the inputs."""
    rank = len(input_shape)
    shape = tuple(input_shape[a] for a in axes)
    trailing = axes == list(range(rank - len(shape), rank))
    return shape, trailing, [input_shape[a] if a in axes else 1 for a in range(rank)]


def check_axis_range(layer: Layer, axis: int | list[int], input_shape: Shape) -> None:
    """Keras's ``compute_output_shape`` check: every axis in range (a ValueError)."""
    rank = len(input_shape)
    if any(not -rank <= a < rank for a in ([axis] if isinstance(axis, int) else axis)):
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis={axis} is out of range "
                         f"for inputs of shape {tuple(input_shape)}.")

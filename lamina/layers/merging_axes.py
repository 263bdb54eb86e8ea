"""Merges along an axis: ``Concatenate`` and ``Dot`` (the element-wise ones are in
``merging.py``)."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers.layer import is_shape
from lamina.layers.merging import Merge, Shape, describe_tensors


class Concatenate(Merge):
    """Concatenates a list of tensors along ``axis``; the other axes must match.

    Masks follow Keras's ``Concatenate.compute_mask``: each input's mask (all-True when it
    has none) is broadcast over the input's last axis, the masks are concatenated along
    ``axis`` and reduced with ``any`` over the last axis. Concatenating along the time
    axis thus concatenates the masks; concatenating features keeps a step if any input
    keeps it.

    Args:
        axis: The axis to concatenate along. Default: ``-1``.

    Example:
        >>> x, y = torch.zeros(2, 3, 4), torch.ones(2, 1, 4)
        >>> tuple(Concatenate(axis=1)([x, y]).shape)
        (2, 4, 4)
    """

    def __init__(self, axis: int = -1, **kwargs: Any) -> None:
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ArgumentError(f"Concatenate: axis must be an int, received axis={axis!r}.")
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        self._check_count(inputs, describe_tensors)
        try:
            return torch.cat(inputs, dim=self.axis)
        except (RuntimeError, IndexError) as error:
            raise self._shape_error([tuple(x.shape) for x in inputs], str(error)) from error

    def _shape_error(self, shapes: list[Any], reason: str) -> ShapeError:
        return ShapeError(
            f"Concatenate '{self.name}' (axis={self.axis}) cannot concatenate inputs of shapes "
            f"{shapes}: {reason}. All axes but the concatenation axis must match."
        )

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        self._check_count(None if is_shape(input_shape) else input_shape,
                          lambda _: f"input shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        rank = len(shapes[0])
        if any(len(s) != rank for s in shapes) or not -rank <= self.axis < rank:
            raise self._shape_error(shapes, "ranks differ or the axis is out of range")
        axis = self.axis % rank
        output: list[int | None] = []
        for index, sizes in enumerate(zip(*shapes, strict=True)):
            known = {d for d in sizes if d is not None}
            if index == axis:
                output.append(None if None in sizes else sum(sizes))
            elif len(known) > 1:
                raise self._shape_error(shapes, f"axis {index} has sizes {sorted(known)}")
            else:
                output.append(known.pop() if known else None)
        return tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None or all(m is None for m in mask):
            return None
        masks = []
        for tensor, tensor_mask in zip(inputs, mask, strict=True):
            if tensor_mask is None:
                masks.append(torch.ones(tensor.shape, dtype=torch.bool, device=tensor.device))
            elif tensor_mask.dim() < tensor.dim():
                masks.append(tensor_mask.bool().unsqueeze(-1).expand(tensor.shape))
            else:
                masks.append(tensor_mask.bool())
        return torch.any(torch.cat(masks, dim=self.axis), dim=-1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class Dot(Merge):
    """The dot product of two tensors along one axis of each, sample by sample.

    For inputs ``x`` of shape ``(batch, *a, k, *b)`` and ``y`` of shape
    ``(batch, *c, k, *d)`` reduced over their ``k`` axes, the output has shape
    ``(batch, *a, *b, *c, *d)``, or ``(batch, 1)`` when that would leave only the batch
    axis (two ``(batch, k)`` inputs), as in Keras.

    Args:
        axes: The axis to reduce, an int for both inputs or a pair ``(axis_x, axis_y)``;
            never the batch axis 0. Negative values count from the end.
        normalize: Whether to L2-normalise both inputs along their dot axes first, which
            makes the output the cosine similarity. Default: ``False``.

    Example:
        >>> x, y = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> Dot(axes=1)([x, y]).tolist()
        [[11.0]]
    """

    _max_inputs = 2

    def __init__(self, axes: int | tuple[int, int] | list[int], normalize: bool = False,
                 **kwargs: Any) -> None:
        pair = [axes, axes] if isinstance(axes, int) else axes
        if not isinstance(pair, (list, tuple)):
            raise ArgumentTypeError(
                "Dot: axes must be a nonzero int or a pair of nonzero ints (axis 0 is the "
                f"batch axis), received axes={axes!r}."
            )
        if len(pair) != 2 or not all(
            isinstance(a, int) and not isinstance(a, bool) and a != 0 for a in pair
        ):
            raise ArgumentError(
                "Dot: axes must be a nonzero int or a pair of nonzero ints (axis 0 is the "
                f"batch axis), received axes={axes!r}."
            )
        super().__init__(**kwargs)
        self.axes = axes if isinstance(axes, int) else tuple(axes)
        self.normalize = bool(normalize)
        self._pair = tuple(pair)
        self._axes_by_rank: dict[tuple[int, int], tuple[int, int]] = {}

    def _resolve_axes(self, shapes: list[Any]) -> tuple[int, int]:
        axes = []
        for axis, shape in zip(self._pair, shapes, strict=True):
            resolved = axis % len(shape) if -len(shape) <= axis < len(shape) else None
            if resolved in (None, 0):
                raise ShapeError(
                    f"Dot '{self.name}' with axes={self.axes} cannot reduce inputs of shapes "
                    f"{shapes}: the axis is out of range or is the batch axis."
                )
            axes.append(resolved)
        return axes[0], axes[1]

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        self._check_count(inputs, describe_tensors)
        x, y = inputs
        ranks = (x.dim(), y.dim())
        axes = self._axes_by_rank.get(ranks)
        if axes is None:
            axes = self._axes_by_rank[ranks] = self._resolve_axes([tuple(x.shape),
                                                                  tuple(y.shape)])
        x_axis, y_axis = axes
        if self.normalize:
            # Keras's normalize: x / max(norm, 1e-7), so a zero vector stays zero.
            x = F.normalize(x, dim=x_axis, eps=1e-7)
            y = F.normalize(y, dim=y_axis, eps=1e-7)
        if ranks == (2, 2) and x.shape == y.shape:
            return torch.sum(x * y, dim=1, keepdim=True)
        x = x.movedim(x_axis, -1)
        y = y.movedim(y_axis, 1)
        batch, size = x.shape[0], x.shape[-1]
        x_rest, y_rest = x.shape[1:-1], y.shape[2:]
        try:
            output = torch.bmm(x.reshape(batch, math.prod(x_rest), size),
                               y.reshape(y.shape[0], y.shape[1], math.prod(y_rest)))
        except RuntimeError as error:
            raise ShapeError(
                f"Dot '{self.name}' with axes={self.axes} cannot multiply inputs of shapes "
                f"{[tuple(t.shape) for t in inputs]}: the batch sizes and the sizes of the "
                "dot axes must match."
            ) from error
        output = output.reshape(batch, *x_rest, *y_rest)
        return output if output.dim() > 1 else output.unsqueeze(1)

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        self._check_count(None if is_shape(input_shape) else input_shape,
                          lambda _: f"input shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        x_axis, y_axis = self._resolve_axes(shapes)
        x_shape, y_shape = shapes
        sizes = (x_shape[x_axis], y_shape[y_axis])
        if None not in sizes and sizes[0] != sizes[1]:
            raise ShapeError(
                f"Dot '{self.name}' with axes={self.axes}: the dot axes of inputs of shapes "
                f"{shapes} have sizes {sizes[0]} and {sizes[1]}; they must match."
            )
        output = [d for i, d in enumerate(x_shape) if i != x_axis]
        output += [d for i, d in enumerate(y_shape) if i not in (0, y_axis)]
        return tuple(output) if len(output) > 1 else (output[0], 1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        return None

    def get_config(self) -> dict[str, Any]:
        axes = self.axes if isinstance(self.axes, int) else list(self.axes)
        return {**super().get_config(), "axes": axes, "normalize": self.normalize}

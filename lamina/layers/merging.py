"""Layers that merge a list of tensors: element-wise merges, ``Concatenate`` and ``Dot``.

The element-wise merges share :class:`Merge`: Keras's broadcasting rule (inputs of equal
rank broadcast like numpy; a lower-rank input gets new axes after the batch axis first),
one batch size for all inputs, and the output mask is the logical AND of the input masks,
where an input without a mask counts as all-True.
"""

from __future__ import annotations

import math
from functools import reduce
from typing import Any

import torch
import torch.nn.functional as F

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers.layer import Layer, is_shape

Shape = tuple[int | None, ...]


def _expand_to_rank(tensor: torch.Tensor, rank: int) -> torch.Tensor:
    """Add axes after the batch axis until ``tensor`` has ``rank`` axes (Keras's rule)."""
    while tensor.dim() < rank:
        tensor = tensor.unsqueeze(1)
    return tensor


class Merge(Layer):
    """Base of the layers that merge a list of tensors of compatible shapes.

    A subclass sets ``_merge`` (a function of the list of tensors, all of one rank) and,
    for a fixed number of inputs, ``_max_inputs``.

    Example:
        >>> class Hypot(Merge):
        ...     @staticmethod
        ...     def _merge(inputs):
        ...         return torch.sqrt(sum(x * x for x in inputs))
        >>> Hypot()([torch.tensor([[3.0]]), torch.tensor([[4.0]])]).tolist()
        [[5.0]]
    """

    supports_masking = True
    _min_inputs = 2
    _max_inputs: int | None = None

    def _count_error(self, received: Any) -> ShapeError:
        wanted = (f"exactly {self._min_inputs}" if self._max_inputs == self._min_inputs
                  else f"a list of at least {self._min_inputs}")
        return ShapeError(
            f"{type(self).__name__} '{self.name}' should be called on {wanted} tensors, "
            f"received {received}. Pass the tensors to merge as a list: layer([x, y])."
        )

    def _check_count(self, inputs: Any, describe: Any) -> None:
        if not isinstance(inputs, (list, tuple)) or not (
            self._min_inputs <= len(inputs) <= (self._max_inputs or len(inputs))
        ):
            raise self._count_error(describe(inputs))

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        self._check_count(inputs, _describe_tensors)
        first = inputs[0]
        rank = first.dim()
        for x in inputs[1:]:
            # torch would broadcast a batch of 1 against any batch; Keras refuses.
            if x.dim() != rank or not rank or x.shape[0] != first.shape[0]:
                inputs = self._align(inputs)
                break
        try:
            return self._merge(inputs)
        except RuntimeError as error:
            raise self._shape_error([tuple(x.shape) for x in inputs], str(error)) from error

    def _align(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Inputs of one batch size but several ranks, expanded to one rank (Keras's rule)."""
        shapes = [tuple(x.shape) for x in inputs]
        if any(not shape for shape in shapes) or len({shape[0] for shape in shapes}) > 1:
            raise self._shape_error(shapes, "every input needs the same batch size")
        rank = max(len(shape) for shape in shapes)
        return [_expand_to_rank(x, rank) for x in inputs]

    def _shape_error(self, shapes: list[Any], reason: str) -> ShapeError:
        return ShapeError(
            f"{type(self).__name__} '{self.name}' cannot merge inputs of shapes {shapes}: "
            f"{reason}. Every axis must match or be 1 (broadcast)."
        )

    def compute_output_shape(self, input_shape: list[Shape]) -> Shape:
        self._check_count(None if is_shape(input_shape) else input_shape,
                          lambda _: f"input shape {input_shape}")
        shapes = [tuple(s) for s in input_shape]
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise self._shape_error(shapes, "every input needs the same batch size")
        output: Shape = shapes[0][1:]
        for shape in shapes[1:]:
            output = self._broadcast(output, shape[1:], shapes)
        return (batches.pop() if batches else None, *output)

    def _broadcast(self, first: Shape, second: Shape, shapes: list[Any]) -> Shape:
        """Keras's element-wise output shape of two batchless shapes (aligned at the end)."""
        if len(first) < len(second):
            first, second = second, first
        lead = len(first) - len(second)
        output = list(first[:lead])
        for a, b in zip(first[lead:], second, strict=True):
            if a is None or b is None:
                output.append(None)
            elif a == 1 or b == 1 or a == b:
                output.append(b if a == 1 else a)
            else:
                raise self._shape_error(shapes, f"axis sizes {a} and {b} do not broadcast")
        return tuple(output)

    def compute_mask(self, inputs: Any, mask: Any = None) -> torch.Tensor | None:
        if mask is None:
            return None
        present = [m for m in mask if m is not None] if isinstance(mask, (list, tuple)) else [mask]
        if not present:
            return None
        rank = max(m.dim() for m in present)
        return reduce(torch.logical_and, [_expand_to_rank(m.bool(), rank) for m in present])


def _describe_tensors(inputs: Any) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)} tensor(s)"
    shape = getattr(inputs, "shape", None)
    return f"one tensor of shape {tuple(shape)}" if shape is not None else repr(inputs)


class Add(Merge):
    """Adds a list of tensors element-wise.

    Example:
        >>> Add()([torch.tensor([[1.0, 2.0]]), torch.tensor([[10.0, 20.0]])]).tolist()
        [[11.0, 22.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.add, inputs)


class Subtract(Merge):
    """Subtracts the second of exactly two tensors from the first.

    Example:
        >>> Subtract()([torch.tensor([[5.0]]), torch.tensor([[2.0]])]).tolist()
        [[3.0]]
    """

    _max_inputs = 2

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return inputs[0] - inputs[1]


class Multiply(Merge):
    """Multiplies a list of tensors element-wise.

    Example:
        >>> Multiply()([torch.tensor([[2.0, 3.0]]), torch.tensor([[4.0, 5.0]])]).tolist()
        [[8.0, 15.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.mul, inputs)


class Average(Merge):
    """The element-wise mean of a list of tensors.

    Example:
        >>> Average()([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])]).tolist()
        [[2.0, 4.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.add, inputs) / len(inputs)


class Maximum(Merge):
    """The element-wise maximum of a list of tensors.

    Example:
        >>> Maximum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.maximum, inputs)


class Minimum(Merge):
    """The element-wise minimum of a list of tensors.

    Example:
        >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.minimum, inputs)


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
        self._check_count(inputs, _describe_tensors)
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
        self._check_count(inputs, _describe_tensors)
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

"""Layers that merge a list of tensors element-wise (``Concatenate`` and ``Dot`` are in
``merging_axes.py``).

The element-wise merges share :class:`Merge`: Keras's broadcasting rule (inputs of equal
rank broadcast like numpy; a lower-rank input gets new axes after the batch axis first),
one batch size for all inputs, and Keras 3's masks: the output mask is the logical OR of
the input masks (none when an input has none); ``Multiply`` takes 1 for an input's masked
steps and 0 where the output is masked, ``Maximum``/``Minimum`` merge only the unmasked
values at each step.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

import torch

from lamina.errors import ShapeError
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

    def _build_for_inputs(self, inputs: Any) -> None:
        # Built on tensors (not symbolic ones, whose batch is unknown), the layer refuses
        # different batch sizes, as Keras's build does; a layer of a graph broadcasts a
        # batch of 1 at call time (see _align).
        if not self.built and isinstance(inputs, (list, tuple)) and all(
                isinstance(x, torch.Tensor) and x.dim() for x in inputs) and len(
                {x.shape[0] for x in inputs}) > 1:
            raise self._shape_error([tuple(x.shape) for x in inputs],
                                    "every input needs the same batch size")
        super()._build_for_inputs(inputs)

    def call(self, inputs: list[torch.Tensor], mask: Any = None) -> torch.Tensor:
        self._check_count(inputs, describe_tensors)
        first = inputs[0]
        rank = first.dim()
        for x in inputs[1:]:
            if x.dim() != rank or not rank or x.shape[0] != first.shape[0]:
                inputs = self._align(inputs)
                break
        try:
            masks = _masks_like(inputs, mask)
            if masks is not None and type(self)._merge_masked is not Merge._merge_masked:
                return self._merge_masked(inputs, masks)
            return self._merge(inputs)
        except RuntimeError as error:
            raise self._shape_error([tuple(x.shape) for x in inputs], str(error)) from error

    @classmethod
    def _merge_masked(cls, inputs: list[torch.Tensor], masks: list[Any]) -> torch.Tensor:
        """The merge when some inputs carry masks (each broadcast to its input's shape);
        by default the values are merged as they are (``Add``, ``Subtract``, ``Average``)."""
        return cls._merge(inputs)

    def _align(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """Inputs of one batch size but several ranks, expanded to one rank (Keras's rule)."""
        shapes = [tuple(x.shape) for x in inputs]
        if any(not shape for shape in shapes):
            raise self._shape_error(shapes, "every input needs the same batch size")
        batches = {shape[0] for shape in shapes}
        if len(batches) > 1:
            # A batch of 1 broadcasts against the others (a learned latent array added to
            # each sample), as Keras's element-wise ops do at call time.
            if len(batches - {1}) > 1:
                raise self._shape_error(shapes, "every input needs the same batch size")
            batch = max(batches)
            inputs = [x.expand(batch, *x.shape[1:]) if x.shape[0] == 1 else x
                      for x in inputs]
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
        """Keras 3's: the logical OR of the input masks, or none when an input has none."""
        if mask is None:
            return None
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        if any(m is None for m in masks):
            return None
        masks = [torch.as_tensor(m).bool() for m in masks]
        rank = max(m.dim() for m in masks)
        return reduce(torch.logical_or, [_expand_to_rank(m, rank) for m in masks])


def _masks_like(inputs: list[torch.Tensor], mask: Any) -> list[Any] | None:
    """Each input's mask broadcast to its shape (``None`` for an input without one), or
    ``None`` when no input has a mask."""
    masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
    if len(masks) != len(inputs) or all(m is None for m in masks):
        return None
    shaped = []
    for x, m in zip(inputs, masks):
        if m is not None:
            m = torch.as_tensor(m, device=x.device).bool()
            while m.dim() < x.dim():
                m = m.unsqueeze(-1)
            m = m.expand_as(x)
        shaped.append(m)
    return shaped


def describe_tensors(inputs: Any) -> str:
    if isinstance(inputs, (list, tuple)):
        return f"{len(inputs)} tensor(s)"
    shape = getattr(inputs, "shape", None)
    return f"one tensor of shape {tuple(shape)}" if shape is not None else repr(inputs)


def merge_unmasked(op: Any, inputs: list[torch.Tensor], masks: list[Any]) -> torch.Tensor:
    """Keras 3's merge for operations without an identity (``maximum``, ``minimum``): at each
    step the op runs over the unmasked values only (a masked value is replaced by the other
    operand)."""
    output, output_mask = inputs[0], masks[0]
    for x, mask in zip(inputs[1:], masks[1:]):
        if mask is not None:
            x = torch.where(mask, x, output)
        if output_mask is not None:
            output = torch.where(output_mask, output, x)
        output_mask = (torch.logical_or(output_mask, mask)
                       if mask is not None and output_mask is not None else None)
        output = op(output, x)
    return output


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

    @classmethod
    def _merge_masked(cls, inputs: list[torch.Tensor], masks: list[Any]) -> torch.Tensor:
        """Keras 3's: a masked step counts as 1; when every input has a mask, the output is 0
        where all of them are masked."""
        values = [x if m is None else torch.where(m, x, torch.ones_like(x))
                  for x, m in zip(inputs, masks)]
        output = reduce(torch.mul, values)
        if all(m is not None for m in masks):
            output = torch.where(reduce(torch.logical_or, masks), output,
                                 torch.zeros_like(output))
        return output


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

    @classmethod
    def _merge_masked(cls, inputs: list[torch.Tensor], masks: list[Any]) -> torch.Tensor:
        return merge_unmasked(torch.maximum, inputs, masks)


class Minimum(Merge):
    """The element-wise minimum of a list of tensors.

    Example:
        >>> Minimum()([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """

    @staticmethod
    def _merge(inputs: list[torch.Tensor]) -> torch.Tensor:
        return reduce(torch.minimum, inputs)

    @classmethod
    def _merge_masked(cls, inputs: list[torch.Tensor], masks: list[Any]) -> torch.Tensor:
        return merge_unmasked(torch.minimum, inputs, masks)

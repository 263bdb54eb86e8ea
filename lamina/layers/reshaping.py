"""Layers that rearrange axes without changing values: Flatten, Reshape, Permute, RepeatVector.

None of them overrides ``build``: they create no weights, and checking a shape is left to
``compute_output_shape`` (symbolic calls) and to the ``except`` branch of ``call`` (eager
calls), so a correct call costs only the torch view it makes.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lamina.errors import ArgumentError, ArgumentTypeError, ShapeError
from lamina.layers.layer import Layer
from lamina.layers.spatial import check_data_format

Shape = tuple[int | None, ...]


def _fmt(shape: Any) -> str:
    return str(tuple(shape))


class Flatten(Layer):
    """Flattens every axis but the batch axis: ``(batch, d1, d2, ...)`` -> ``(batch, d1*d2*...)``.

    Args:
        data_format: ``"channels_last"`` or ``"channels_first"``; channels-first inputs are
            moved to channels-last order before flattening, so the result matches a
            channels-last model's (Keras's). Default: ``"channels_last"``.

    Input shape:
        ``(batch, ...)``; a rank-1 input ``(batch,)`` becomes ``(batch, 1)`` as in Keras.

    Output shape:
        ``(batch, product of the other axes)``.

    Example:
        >>> tuple(Flatten()(torch.zeros(2, 3, 4)).shape)
        (2, 12)
    """

    def __init__(self, data_format: str | None = None, **kwargs: Any) -> None:
        data_format = check_data_format(data_format, "Flatten")
        super().__init__(**kwargs)
        self.data_format = data_format
        self._channels_first = data_format == "channels_first"

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._channels_first and inputs.dim() > 2:
            inputs = inputs.permute(0, *range(2, inputs.dim()), 1)
        if inputs.dim() >= 2:
            return torch.flatten(inputs, 1)
        if inputs.dim() == 1:
            return inputs.unsqueeze(1)
        raise ShapeError(
            f"Flatten '{self.name}' needs an input with a batch axis, received a scalar "
            f"(shape {_fmt(inputs.shape)})."
        )

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        if not input_shape:
            raise ShapeError(f"Flatten '{self.name}' needs an input with a batch axis, "
                             f"received input shape {_fmt(input_shape)}.")
        rest = input_shape[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (input_shape[0], size)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "data_format": self.data_format}


def _resolve_target(target: Shape, sample_shape: Shape, layer_name: str) -> Shape:
    """``target`` with its ``-1`` resolved for a sample of ``sample_shape`` (``None`` if unknown).

    Raises ``ShapeError`` when the sizes cannot match.
    """
    if any(d is None for d in sample_shape):
        return tuple(None if d == -1 else d for d in target)
    size = math.prod(sample_shape)
    known = math.prod(d for d in target if d != -1)
    if -1 not in target and known == size:
        return tuple(target)
    if -1 in target and known and size % known == 0:
        return tuple(size // known if d == -1 else d for d in target)
    raise ShapeError(
        f"Reshape '{layer_name}' cannot reshape a sample of shape {_fmt(sample_shape)} "
        f"({size} values) into target_shape={_fmt(target)}. The number of values must not "
        "change; use -1 for the axis to infer."
    )


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (the batch axis is kept).

    Args:
        target_shape: The shape of one sample, without the batch axis: positive ints and
            at most one ``-1`` (inferred from the number of values).

    Input shape:
        ``(batch, ...)``.

    Output shape:
        ``(batch, *target_shape)``.

    Example:
        >>> tuple(Reshape((-1, 2))(torch.zeros(3, 6)).shape)
        (3, 3, 2)
    """

    def __init__(self, target_shape: tuple[int, ...] | list[int], **kwargs: Any) -> None:
        if not isinstance(target_shape, (tuple, list)):
            raise ArgumentTypeError(
                "Reshape: target_shape must be a tuple of ints (the batch axis excluded), "
                f"received target_shape={target_shape!r}."
            )
        if not all(
            isinstance(d, int) and not isinstance(d, bool) and (d > 0 or d == -1)
            for d in target_shape
        ) or list(target_shape).count(-1) > 1:
            raise ArgumentError(
                "Reshape: target_shape must be a tuple of positive ints with at most one -1 "
                f"(the batch axis excluded), received target_shape={target_shape!r}."
            )
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        try:
            return inputs.reshape(inputs.shape[0], *self.target_shape)
        except RuntimeError:
            # Either the sizes do not match (a ShapeError naming both shapes), or the batch
            # is empty and torch cannot infer a -1 from zero values; the per-sample
            # arithmetic can.
            resolved = _resolve_target(self.target_shape, tuple(inputs.shape[1:]), self.name)
            return inputs.reshape(inputs.shape[0], *resolved)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        return (input_shape[0], *_resolve_target(self.target_shape, input_shape[1:], self.name))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, target_shape={self.target_shape}"


class Permute(Layer):
    """Permutes the axes of each sample (the batch axis stays first).

    Args:
        dims: A permutation of ``1..n`` (1-based, the batch axis excluded); ``(2, 1)`` swaps
            the two axes of a ``(batch, a, b)`` input.

    Input shape:
        ``(batch, d1, ..., dn)`` with ``n == len(dims)``.

    Output shape:
        ``(batch, d[dims[0]], ..., d[dims[n-1]])``.

    Example:
        >>> tuple(Permute((2, 1))(torch.zeros(4, 10, 64)).shape)
        (4, 64, 10)
    """

    def __init__(self, dims: tuple[int, ...] | list[int], **kwargs: Any) -> None:
        if not isinstance(dims, (tuple, list)):
            raise ArgumentTypeError(
                "Permute: dims must be a tuple of ints, a permutation of 1..n (1-based, the "
                f"batch axis excluded), received dims={dims!r}."
            )
        if not all(
            isinstance(d, int) and not isinstance(d, bool) for d in dims
        ) or sorted(dims) != list(range(1, len(dims) + 1)):
            raise ArgumentError(
                "Permute: dims must be a permutation of 1..n (1-based, the batch axis "
                f"excluded), such as (2, 1), received dims={dims!r}."
            )
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        self._order = (0, *self.dims)

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != len(self.dims) + 1:
            raise ShapeError(
                f"Permute '{self.name}' with dims={self.dims} expects inputs of rank "
                f"{len(self.dims) + 1} (batch axis included), received shape {_fmt(shape)}."
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        try:
            return inputs.permute(self._order)
        except RuntimeError:
            self._check_rank(inputs.shape)
            raise

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        return (input_shape[0], *(input_shape[d] for d in self.dims))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, dims={self.dims}"


class RepeatVector(Layer):
    """Repeats each sample vector ``n`` times: ``(batch, d)`` -> ``(batch, n, d)``.

    Args:
        n: How many times to repeat (a positive int).

    Input shape:
        ``(batch, features)``.

    Output shape:
        ``(batch, n, features)``.

    Example:
        >>> RepeatVector(2)(torch.tensor([[1.0, 2.0]])).tolist()
        [[[1.0, 2.0], [1.0, 2.0]]]
    """

    def __init__(self, n: int, **kwargs: Any) -> None:
        if not isinstance(n, int) or isinstance(n, bool):
            raise ArgumentTypeError(f"RepeatVector: n must be an int, received n={n!r}.")
        if n <= 0:
            raise ArgumentError(f"RepeatVector: n must be a positive int, received n={n!r}.")
        super().__init__(**kwargs)
        self.n = n

    def _check_rank(self, shape: Any) -> None:
        if len(shape) != 2:
            raise ShapeError(
                f"RepeatVector '{self.name}' expects inputs of shape (batch, features), "
                f"received shape {_fmt(shape)}. Flatten or reshape the input first."
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() != 2:
            self._check_rank(inputs.shape)
        # A copy, not an expand() view: several output rows sharing memory would make any
        # in-place update of the output (in a Lambda, say) fail.
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def compute_output_shape(self, input_shape: Shape) -> Shape:
        self._check_rank(input_shape)
        return (input_shape[0], self.n, input_shape[1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}

    def extra_repr(self) -> str:
        return f"name={self.name!r}, n={self.n}"

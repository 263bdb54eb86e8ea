"""Keras's functional forms of the merge layers: ``add``, ``subtract``, ``multiply``,
``average``, ``maximum``, ``minimum``, ``concatenate`` and ``dot``.

Each builds the layer (``**kwargs`` are its constructor's, such as ``name``) and calls it on
``inputs``, a list of tensors, eager or symbolic (``lamina.Input``).
"""

from __future__ import annotations

from typing import Any

from lamina.layers.merging import (
    Add,
    Average,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from lamina.layers.merging_axes import Concatenate, Dot


def add(inputs: list[Any], **kwargs: Any) -> Any:
    """``Add(**kwargs)(inputs)``: the element-wise sum of the inputs.

    Example:
        >>> import torch
        >>> add([torch.tensor([[1.0, 2.0]]), torch.tensor([[10.0, 20.0]])]).tolist()
        [[11.0, 22.0]]
    """
    return Add(**kwargs)(inputs)


def subtract(inputs: list[Any], **kwargs: Any) -> Any:
    """``Subtract(**kwargs)(inputs)``: the first of two inputs minus the second.

    Example:
        >>> import torch
        >>> subtract([torch.tensor([[5.0]]), torch.tensor([[2.0]])]).tolist()
        [[3.0]]
    """
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list[Any], **kwargs: Any) -> Any:
    """``Multiply(**kwargs)(inputs)``: the element-wise product of the inputs.

    Example:
        >>> import torch
        >>> multiply([torch.tensor([[2.0, 3.0]]), torch.tensor([[4.0, 5.0]])]).tolist()
        [[8.0, 15.0]]
    """
    return Multiply(**kwargs)(inputs)


def average(inputs: list[Any], **kwargs: Any) -> Any:
    """``Average(**kwargs)(inputs)``: the element-wise mean of the inputs.

    Example:
        >>> import torch
        >>> average([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 6.0]])]).tolist()
        [[2.0, 4.0]]
    """
    return Average(**kwargs)(inputs)


def maximum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Maximum(**kwargs)(inputs)``: the element-wise maximum of the inputs.

    Example:
        >>> import torch
        >>> maximum([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[3.0, 5.0]]
    """
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list[Any], **kwargs: Any) -> Any:
    """``Minimum(**kwargs)(inputs)``: the element-wise minimum of the inputs.

    Example:
        >>> import torch
        >>> minimum([torch.tensor([[1.0, 5.0]]), torch.tensor([[3.0, 2.0]])]).tolist()
        [[1.0, 2.0]]
    """
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list[Any], axis: int = -1, **kwargs: Any) -> Any:
    """``Concatenate(axis=axis, **kwargs)(inputs)``: the inputs joined along ``axis``.

    Example:
        >>> import torch
        >>> tuple(concatenate([torch.zeros(2, 3), torch.ones(2, 4)]).shape)
        (2, 7)
    """
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list[Any], axes: Any = -1, normalize: bool = False, **kwargs: Any) -> Any:
    """``Dot(axes=axes, normalize=normalize, **kwargs)(inputs)``: the sample-wise dot
    product of two inputs along ``axes`` (Keras's default ``-1``).

    Example:
        >>> import torch
        >>> dot([torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])], axes=1).tolist()
        [[11.0]]
    """
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

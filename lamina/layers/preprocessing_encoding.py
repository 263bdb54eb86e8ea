"""Keras's categorical encodings of integer indices (``one_hot``, ``multi_hot``, ``count``),
shared by ``CategoryEncoding``, ``Discretization``, ``Hashing`` and the lookup layers.

The shapes are Keras 3's (``numerical_utils.encode_categorical_inputs``): a scalar becomes
one sample; ``one_hot`` drops a trailing axis of size 1 and adds one of size ``depth``;
``multi_hot`` and ``count`` reduce axis 1 (axis 0 of a 1-D input) into ``depth`` bins.
Negative indices and indices ``>= depth`` fall in no bin (Keras's lookup layers use that for
their mask token). ``multi_hot`` and ``count`` scatter into the bins instead of summing a
one-hot tensor, so a long sequence over a large vocabulary costs no more than its output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def output_mode(value: Any, allowed: tuple[str, ...], owner: str) -> str:
    """``value`` as one of ``allowed`` (Keras's old names ``binary`` and ``tf-idf`` too)."""
    value = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(value, value) if isinstance(
        value, str) else value
    if value not in allowed:
        raise ArgumentError(f"{owner}: output_mode must be one of {allowed}, received "
                            f"output_mode={value!r}.")
    return value


def refuse_sparse(sparse: Any, owner: str) -> bool:
    """Keras's ``sparse``: only ``False`` (torch has no sparse output here)."""
    if sparse:
        raise ArgumentError(f"{owner}: sparse=True is not supported on torch (as in Keras 3's "
                            "torch backend); received sparse=True. Use sparse=False.")
    return False


def as_index_tensor(inputs: Any) -> torch.Tensor:
    """Integer-valued inputs (a tensor, an array, a list or a number) as a tensor; float
    tensors are kept (the caller casts)."""
    if isinstance(inputs, torch.Tensor):
        return inputs
    array = np.asarray(inputs)
    if array.dtype.kind not in "biuf":
        raise ArgumentError(f"expected numbers, received an array of dtype {array.dtype}.")
    return torch.as_tensor(array)


def one_hot(indices: torch.Tensor, depth: int, dtype: torch.dtype) -> torch.Tensor:
    """One-hot along a new last axis; indices outside ``[0, depth)`` give zeros."""
    indices = indices.long()
    inside = (indices >= 0) & (indices < depth)
    hot = torch.nn.functional.one_hot(torch.where(inside, indices, 0), depth)
    return (hot * inside.unsqueeze(-1)).to(dtype)


def bin_counts(indices: torch.Tensor, depth: int, dtype: torch.dtype,
               weights: torch.Tensor | None = None) -> torch.Tensor:
    """The (weighted) count of each index in ``[0, depth)`` over axis 1 (axis 0 of a 1-D
    input), as Keras's ``count`` mode."""
    indices = indices.long()
    if weights is None:
        weights = torch.ones(indices.shape, dtype=dtype, device=indices.device)
    else:
        weights = weights.to(dtype).expand(indices.shape)
    if indices.dim() > 1:  # the reduced axis (1) goes last
        indices, weights = indices.movedim(1, -1), weights.movedim(1, -1)
    inside = (indices >= 0) & (indices < depth)
    out = torch.zeros((*indices.shape[:-1], depth), dtype=dtype, device=indices.device)
    return out.scatter_add_(-1, torch.where(inside, indices, 0),
                            torch.where(inside, weights, torch.zeros_like(weights)))


def encode(indices: torch.Tensor, mode: str, depth: int, dtype: torch.dtype,
           count_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Keras 3's ``encode_categorical_inputs`` for ``mode`` one of :data:`OUTPUT_MODES`.

    Example:
        >>> encode(torch.tensor([[0, 1], [3, 3]]), "count", 4, torch.float32).tolist()
        [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]
        >>> encode(torch.tensor([[1], [2]]), "one_hot", 3, torch.float32).tolist()
        [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if indices.dim() == 0:
        indices = indices.unsqueeze(-1)
    if mode == "one_hot":
        if indices.dim() > 1 and indices.shape[-1] == 1:
            indices = indices.squeeze(-1)
        return one_hot(indices, depth, dtype)
    if mode == "multi_hot":
        return (bin_counts(indices, depth, torch.float32) > 0).to(dtype)
    if count_weights is not None:
        dtype = count_weights.dtype
    return bin_counts(indices, depth, dtype, count_weights)


def encoded_shape(input_shape: tuple, mode: str, depth: int | None) -> tuple:
    """The output shape of :func:`encode` for inputs of ``input_shape``: the shape Keras 3
    computes eagerly (its symbolic shape for ``multi_hot``/``count`` of rank-3 inputs keeps
    axis 1 instead of the last; lamina's symbolic and eager shapes agree)."""
    input_shape = tuple(input_shape)
    if not input_shape:
        return (1, depth) if mode == "one_hot" else (depth,)
    if mode == "one_hot":
        if len(input_shape) > 1 and input_shape[-1] == 1:
            return (*input_shape[:-1], depth)
        return (*input_shape, depth)
    return (input_shape[0], *input_shape[2:], depth) if len(input_shape) > 1 else (depth,)

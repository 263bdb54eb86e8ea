"""The data ``adapt`` reads, batch by batch: numpy arrays, tensors, lists, torch
``DataLoader``s, generators and other iterables of batches.

A whole array (or tensor, or a list of numbers) is one batch. An iterable whose items are
arrays or tensors is a sequence of batches; an item that is an ``(x, y)`` or
``(x, y, sample_weight)`` tuple (or the list a ``DataLoader`` collates it into) gives its
``x``, as Keras's ``adapt`` takes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentTypeError, DataError


def _has_shape(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        hasattr(value, "shape") and hasattr(value, "__array__"))


def _features(batch: Any, owner: str) -> np.ndarray | torch.Tensor:
    """The inputs of one batch: ``x`` of an ``(x, y, ...)`` pair, as an array or tensor."""
    if isinstance(batch, (tuple, list)) and batch and _has_shape(batch[0]):
        batch = batch[0]
    if isinstance(batch, torch.Tensor):
        return batch.detach()
    if isinstance(batch, np.ndarray):
        return batch
    if _has_shape(batch):
        return np.asarray(batch)
    if isinstance(batch, (list, tuple, int, float)):
        array = np.asarray(batch)
        if array.dtype == object:
            raise DataError(f"{owner}.adapt: a batch of ragged lists cannot become an array; "
                            "give equal-length rows.")
        return array
    raise ArgumentTypeError(
        f"{owner}.adapt expects numpy arrays, tensors, lists of numbers, or an iterable "
        f"(DataLoader, generator, list) of such batches; received a batch of type "
        f"{type(batch).__name__}. Yield arrays or tensors (or (x, y) tuples of them)."
    )


def batches(data: Any, owner: str) -> Iterator[np.ndarray | torch.Tensor]:
    """The batches of ``data`` as arrays or tensors, in order (one for a whole array).

    Example:
        >>> [b.shape for b in batches(np.zeros((4, 3)), "Normalization")]
        [(4, 3)]
        >>> [tuple(b.shape) for b in batches(iter([torch.ones(2, 3)] * 2), "Normalization")]
        [(2, 3), (2, 3)]
    """
    if isinstance(data, (np.ndarray, torch.Tensor)) or _has_shape(data):
        yield _features(data, owner)
        return
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__"):
        raise ArgumentTypeError(
            f"{owner}.adapt expects a numpy array, a tensor, a list, a DataLoader or a "
            f"generator of batches; received {type(data).__name__}."
        )
    if isinstance(data, (list, tuple)) and not any(
            _has_shape(item) or isinstance(item, (tuple, list)) and item
            and _has_shape(item[0]) for item in data[:1]):
        yield _features(data, owner)  # a list of numbers (or of rows): one array
        return
    found = False
    for batch in data:
        found = True
        yield _features(batch, owner)
    if not found:
        raise DataError(f"{owner}.adapt received no batches: the data is empty. Pass at "
                        "least one batch, e.g. layer.adapt(x) or layer.adapt([x]).")

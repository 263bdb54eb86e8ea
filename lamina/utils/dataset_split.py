"""Keras's ``keras.utils.split_dataset``: cut a dataset into a left and a right part."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from lamina.errors import ArgumentError, ArgumentTypeError


def _split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's rules: ints count samples, floats are fractions, ``None`` the complement."""
    kinds = {}
    for side, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            kinds[side] = None
        elif isinstance(size, numbers.Integral) and not isinstance(size, bool):
            kinds[side] = int
        elif isinstance(size, numbers.Real) and not isinstance(size, bool):
            kinds[side] = float
        else:
            raise ArgumentTypeError(
                f"split_dataset: `{side}` must be an int, a float or None. "
                f"Received: {side}={size!r} (of type {type(size).__name__})."
            )
    if left_size is None and right_size is None:
        raise ArgumentError(
            "split_dataset: at least one of `left_size` or `right_size` must be given. "
            "Received: left_size=None and right_size=None."
        )
    for side, size in (("left_size", left_size), ("right_size", right_size)):
        if (kinds[side] is int and not 0 < size < total) or (
                kinds[side] is float and not 0 < size < 1):
            raise ArgumentError(
                f"split_dataset: `{side}` should be either a positive integer smaller than "
                f"{total} (the dataset's length), or a float in the range (0, 1). "
                f"Received: {side}={size}."
            )
    if kinds["left_size"] is kinds["right_size"] is float and left_size + right_size > 1:
        raise ArgumentError(
            "split_dataset: the sum of `left_size` and `right_size` is greater than 1. "
            f"Received: left_size={left_size}, right_size={right_size}."
        )
    left = round(left_size * total) if kinds["left_size"] is float else left_size
    right = round(right_size * total) if kinds["right_size"] is float else right_size
    left = total - right if left is None else int(left)
    right = total - left if right is None else int(right)
    if left + right > total:
        raise ArgumentError(
            f"split_dataset: `left_size` + `right_size` must be at most the dataset's length "
            f"{total}. Received: left_size={left_size}, right_size={right_size} "
            f"({left} + {right} samples)."
        )
    if left == 0 or right == 0:
        raise ArgumentError(
            f"split_dataset: with a dataset of {total} samples, left_size={left_size} and "
            f"right_size={right_size} leave the {'left' if left == 0 else 'right'} part "
            "empty. Adjust the sizes."
        )
    return left, right


def _length(dataset: Any) -> int:
    """The number of samples, checking that a list or tuple holds arrays of one length."""
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        if dataset.ndim == 0:
            raise ArgumentError("split_dataset: `dataset` must have a first (sample) axis. "
                                "Received: a 0-d array.")
        return len(dataset)
    if isinstance(dataset, (list, tuple)):
        if not dataset:
            raise ArgumentError(
                f"split_dataset: received an empty {type(dataset).__name__}. Give a "
                "non-empty list or tuple of arrays of the same length.")
        lengths = []
        for i, element in enumerate(dataset):
            if not isinstance(element, (np.ndarray, torch.Tensor)) or element.ndim == 0:
                raise ArgumentError(
                    f"split_dataset: expected a {type(dataset).__name__} of arrays, received "
                    f"{type(element).__name__} at index {i}.")
            lengths.append(len(element))
        if len(set(lengths)) > 1:
            raise ArgumentError(
                f"split_dataset: the arrays of the {type(dataset).__name__} have different "
                f"lengths {lengths}. Give arrays with the same number of samples.")
        return lengths[0]
    if isinstance(dataset, Dataset):
        try:
            return len(dataset)
        except TypeError as error:
            raise ArgumentTypeError(
                "split_dataset: a torch Dataset needs a length (an iterable-style dataset "
                f"cannot be split). Received: {type(dataset).__name__}.") from error
    raise ArgumentTypeError(
        "split_dataset: `dataset` must be a NumPy array, a torch tensor, a list or tuple of "
        f"arrays of the same length, or a torch.utils.data.Dataset. Received: "
        f"{type(dataset).__name__}."
    )


def _take(dataset: Any, indices: list[int]) -> Any:
    if isinstance(dataset, (list, tuple)):
        return type(dataset)(_take(array, indices) for array in dataset)
    if isinstance(dataset, np.ndarray):
        return dataset[np.asarray(indices, dtype=np.int64)]
    if isinstance(dataset, torch.Tensor):
        return dataset[torch.as_tensor(indices, dtype=torch.long, device=dataset.device)]
    return Subset(dataset, indices)


def split_dataset(dataset: Any, left_size: int | float | None = None,
                  right_size: int | float | None = None, shuffle: bool = False,
                  seed: int | None = None) -> tuple[Any, Any]:
    """Split a dataset into a left part and a right part (say, training and test data).

    Sizes follow Keras's rules: an int is a number of samples, a float in (0, 1) a fraction
    of the samples (rounded), ``None`` the rest. The left part is the first ``left_size``
    samples (after shuffling when ``shuffle=True``) and the right part the last
    ``right_size``, so samples between them are left out when the sizes sum to less than the
    dataset. With ``shuffle=True`` and a seed, the order is ``torch.randperm`` under a
    generator seeded with ``seed``, the permutation Keras (torch backend) uses.

    Args:
        dataset: A NumPy array or torch tensor (split along axis 0), a list or tuple of
            arrays with the same first dimension, or a ``torch.utils.data.Dataset`` with a
            length.
        left_size: Size of the left part. Default: ``None`` (what ``right_size`` leaves).
        right_size: Size of the right part. Default: ``None`` (what ``left_size`` leaves).
        shuffle: Whether to shuffle the samples before splitting. Default: ``False``.
        seed: The shuffling seed. Default: ``None`` (a different order each call).

    Returns:
        ``(left, right)`` of the input's kind: two arrays (or tensors) for an array, two
        tuples (or lists) of arrays for a tuple (or list) of arrays, two
        ``torch.utils.data.Subset`` for a torch ``Dataset``. Keras returns torch
        ``Subset`` objects for everything on the torch backend; arrays are what
        ``model.fit`` takes directly.

    Raises:
        ArgumentError: (a ``ValueError``) for sizes out of range or arrays of different
            lengths.
        ArgumentTypeError: (a ``TypeError``) for a dataset or size of the wrong type.

    Example:
        >>> import numpy as np
        >>> data = np.arange(10)
        >>> left, right = split_dataset(data, left_size=0.8)
        >>> left.tolist(), right.tolist()
        ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
        >>> (x_train, y_train), (x_test, y_test) = split_dataset(
        ...     (np.zeros((6, 2)), np.ones(6)), right_size=2, shuffle=True, seed=1)
        >>> x_train.shape, y_test.shape
        ((4, 2), (2,))
    """
    total = _length(dataset)
    left, right = _split_sizes(left_size, right_size, total)
    if shuffle:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        order = torch.randperm(total, generator=generator).tolist()
    else:
        order = list(range(total))
    return _take(dataset, order[:left]), _take(dataset, order[total - right:])

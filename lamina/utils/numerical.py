"""Keras's data helpers: ``pad_sequences``, ``to_categorical``, ``normalize``, ``set_random_seed``.

Each follows ``keras.utils`` (Keras 3) in signature, defaults, returned values, dtypes and
error types, so Keras programs can swap ``keras.utils`` for ``lamina.utils``. NumPy in gives
NumPy out; ``to_categorical`` and ``normalize`` take torch tensors too and return tensors.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError

# Keras's backend.epsilon(): the floor of the norm a tensor is divided by.
_EPSILON = 1e-7


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pad (or truncate) a list of sequences into one 2-D NumPy array, as Keras does.

    Args:
        sequences: A list of sequences (lists or arrays; items may themselves be arrays).
        maxlen: The length of every output row. Default: the longest sequence's length.
        dtype: The output dtype. Use ``object`` (or a string dtype) for string values.
        padding: ``"pre"`` or ``"post"``: where the ``value`` fill goes.
        truncating: ``"pre"`` or ``"post"``: which end of a longer sequence is cut.
        value: The fill value (a number, or a string with a string/object ``dtype``).

    Returns:
        An array of shape ``(len(sequences), maxlen) + item_shape``.

    Raises:
        ArgumentError: (a ``ValueError``) for a non-iterable input or item, a string
            ``value`` with a non-string ``dtype``, unknown ``padding``/``truncating`` or
            items of inconsistent shapes.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3, 4]], maxlen=2, padding="post", truncating="post")
        array([[1, 0],
               [2, 3]], dtype=int32)
    """
    if not hasattr(sequences, "__len__"):
        raise ArgumentError("`sequences` must be iterable.")
    lengths = []
    sample_shape: tuple[int, ...] = ()
    shape_found = False
    for item in sequences:
        try:
            lengths.append(len(item))
        except TypeError as error:
            raise ArgumentError(
                f"`sequences` must be a list of iterables. Found non-iterable: {item}"
            ) from error
        if not shape_found and len(item):
            sample_shape = np.asarray(item).shape[1:]
            shape_found = True
    if maxlen is None:
        maxlen = np.max(lengths)
    string_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not string_dtype:
        raise ArgumentError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    for index, item in enumerate(sequences):
        if not len(item):
            continue
        if truncating == "pre":
            kept = item[-maxlen:]
        elif truncating == "post":
            kept = item[:maxlen]
        else:
            raise ArgumentError(f'Truncating type "{truncating}" not understood')
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ArgumentError(
                f"Shape of sample {kept.shape[1:]} of sequence at position {index} is "
                f"different from expected shape {sample_shape}"
            )
        if padding == "post":
            out[index, : len(kept)] = kept
        elif padding == "pre":
            out[index, -len(kept) :] = kept
        else:
            raise ArgumentError(f'Padding type "{padding}" not understood')
    return out


def to_categorical(x: Any, num_classes: int | None = None) -> Any:
    """One-hot encode integer class labels; the class axis goes last.

    A trailing axis of size 1 (labels shaped ``(n, 1)``) is dropped first. Array-likes give
    a float64 NumPy array (``num_classes`` defaults to ``max(x) + 1``); a torch tensor gives
    an int64 tensor on the same device and needs ``num_classes`` (as on Keras's torch
    backend, where negative labels become all-zero rows).

    Args:
        x: Integer labels in ``[0, num_classes)``: a list, array or torch tensor.
        num_classes: The number of classes. Default (array-likes only): ``max(x) + 1``.

    Returns:
        The one-hot array (or tensor) of shape ``x.shape + (num_classes,)``.

    Raises:
        ArgumentTypeError: (a ``TypeError``) for a tensor without ``num_classes``.

    Example:
        >>> to_categorical([0, 2, 1])
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]])
        >>> to_categorical(torch.tensor([[1], [0]]), num_classes=2)
        tensor([[0, 1],
                [1, 0]])
    """
    if isinstance(x, torch.Tensor):
        if x.dim() > 1 and x.shape[-1] == 1:
            x = x.reshape(x.shape[:-1])
        if num_classes is None:
            raise ArgumentTypeError(
                "to_categorical needs an int `num_classes` for a tensor input (as Keras on "
                "torch); received num_classes=None."
            )
        labels = x.long()
        hot = torch.nn.functional.one_hot(labels.clamp(min=0), num_classes)
        return torch.where(labels.unsqueeze(-1) >= 0, hot, torch.zeros_like(hot))
    labels = np.array(x, dtype="int64")
    shape = labels.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    labels = labels.reshape(-1)
    if not num_classes:
        num_classes = np.max(labels) + 1
    count = labels.shape[0]
    categorical = np.zeros((count, num_classes))
    categorical[np.arange(count), labels] = 1
    return np.reshape(categorical, shape + (num_classes,))


def _float_tensor(x: torch.Tensor) -> torch.Tensor:
    if x.is_floating_point() or x.is_complex():
        return x
    return x.to(torch.float32)


def normalize(x: Any, axis: Any = -1, order: int = 2) -> Any:
    """Divide ``x`` by its ``order``-norm along ``axis``.

    A NumPy array gives a NumPy array (zero norms count as 1). Anything else is made a torch
    tensor and gives a tensor, divided by ``max(norm, 1e-7)`` (integers become float32),
    as ``keras.utils.normalize`` on the torch backend.

    Args:
        x: The array or tensor.
        axis: The axis (or axes) the norm runs over. Default: the last.
        order: The norm's order (an int >= 1 for tensors). Default: 2.

    Returns:
        The normalized copy.

    Raises:
        ArgumentError: (a ``ValueError``) for a tensor and an ``order`` that is not an
            int >= 1.

    Example:
        >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
        array([[0.6, 0.8],
               [0. , 0. ]])
        >>> normalize(torch.tensor([[1.0, 3.0]]), order=1)
        tensor([[0.2500, 0.7500]])
    """
    if isinstance(x, np.ndarray):
        norm = np.atleast_1d(np.linalg.norm(x, order, axis))
        norm[norm == 0] = 1
        return x / np.expand_dims(norm, -1 if axis is None else axis)
    if not isinstance(order, int) or not order >= 1:
        raise ArgumentError(f"Argument `order` must be an int >= 1. Received: order={order}")
    x = torch.as_tensor(x)
    if x.dim() == 0:
        x = x.unsqueeze(0)
    if order == 2:
        square_sum = torch.sum(torch.square(x), dim=axis, keepdim=True)
        square_sum = torch.clamp(_float_tensor(square_sum), min=_EPSILON * _EPSILON)
        return x * torch.rsqrt(square_sum)
    norm = torch.linalg.norm(_float_tensor(x), ord=order, dim=axis, keepdim=True)
    return x / torch.clamp(norm, min=_EPSILON)


def set_random_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch, as Keras on torch does.

    Args:
        seed: The integer seed.

    Raises:
        ArgumentError: (a ``ValueError``) when ``seed`` is not an ``int``.

    Example:
        >>> saved = random.getstate(), np.random.get_state(), torch.get_rng_state()
        >>> set_random_seed(7)
        >>> drawn = random.random(), float(np.random.rand()), float(torch.rand(1))
        >>> set_random_seed(7)
        >>> drawn == (random.random(), float(np.random.rand()), float(torch.rand(1)))
        True
        >>> random.setstate(saved[0]); np.random.set_state(saved[1]); torch.set_rng_state(saved[2])
    """
    if not isinstance(seed, int):
        raise ArgumentError(
            "Expected `seed` argument to be an integer. "
            f"Received: seed={seed} (of type {type(seed)})"
        )
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

"""The data ``adapt`` reads, batch by batch: numpy arrays, tensors, lists, torch
``DataLoader``s, generators and other iterables of batches, with a progress bar when it
takes long.

A whole array (or tensor, or a list of numbers or strings) is one batch, or is cut into
``batch_size`` rows at a time. An iterable whose items are arrays, tensors or lists is a
sequence of batches; an item that is an ``(x, y)`` or ``(x, y, sample_weight)`` pair (or
the list a ``DataLoader`` collates one into) gives its ``x``, as Keras's ``adapt`` takes
it. ``steps`` stops after that many batches.

The progress bar (``lamina.utils.progbar.Progbar``, one step per batch) is drawn with
``verbose=1``, never with ``verbose=0``, and with ``verbose="auto"`` (the default) only
once adapting has taken :data:`AUTO_AFTER_SECONDS`, so short adapts print nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch

from lamina.errors import ArgumentError, ArgumentTypeError, DataError
from lamina.utils.progbar import Progbar

#: With ``verbose="auto"``, the progress bar appears once adapting has taken this long.
AUTO_AFTER_SECONDS = 2.0

Item = TypeVar("Item")


def _has_shape(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) or (
        hasattr(value, "shape") and hasattr(value, "__array__"))


def features_of(batch: Any) -> Any:
    """``x`` of an ``(x, y)`` or ``(x, y, sample_weight)`` batch, else the batch.

    A pair is a tuple or list whose first item is an array or tensor, or one of 2 or 3
    items whose first is a list (of strings, say) and which is a tuple or holds an array
    or tensor after it (a ``DataLoader`` collates ``(text, label)`` into ``[texts,
    labels]``). A list of plain rows stays one batch.

    Example:
        >>> features_of((np.zeros(2), np.ones(2))).tolist()
        [0.0, 0.0]
        >>> features_of([["a b", "c"], torch.tensor([0, 1])])
        ['a b', 'c']
        >>> features_of([["a b"], ["c"]])
        [['a b'], ['c']]
    """
    if not isinstance(batch, (tuple, list)) or not batch:
        return batch
    if _has_shape(batch[0]):
        return batch[0]
    if isinstance(batch[0], (list, tuple)) and len(batch) in (2, 3) and (
            isinstance(batch, tuple) or any(_has_shape(item) for item in batch[1:])):
        return batch[0]
    return batch


def _features(batch: Any, owner: str) -> np.ndarray | torch.Tensor:
    """The inputs of one batch: ``x`` of an ``(x, y, ...)`` pair, as an array or tensor."""
    batch = features_of(batch)
    if isinstance(batch, torch.Tensor):
        return batch.detach()
    if isinstance(batch, np.ndarray):
        return batch
    if _has_shape(batch):
        return np.asarray(batch)
    if isinstance(batch, (list, tuple, int, float, str, bytes)):
        try:
            array = np.asarray(batch)
        except ValueError:  # ragged nested lists
            array = None
        if array is None or array.dtype == object and not all(
                isinstance(v, (str, bytes)) for v in array.reshape(-1).tolist()):
            raise DataError(f"{owner}.adapt: a batch of ragged lists cannot become an array; "
                            "give equal-length rows.")
        return array
    raise ArgumentTypeError(
        f"{owner}.adapt expects numpy arrays, tensors, lists of numbers, or an iterable "
        f"(DataLoader, generator, list) of such batches; received a batch of type "
        f"{type(batch).__name__}. Yield arrays or tensors (or (x, y) tuples of them)."
    )


def is_whole(data: Any) -> bool:
    """Whether ``data`` is one array of values (an array, a tensor, a list of numbers or
    strings) rather than an iterable of batches."""
    if isinstance(data, (np.ndarray, torch.Tensor)) or _has_shape(data):
        return True
    return isinstance(data, (list, tuple)) and not any(
        _has_shape(features_of(item)) or features_of(item) is not item for item in data[:1])


def chunks(array: Any, batch_size: int | None) -> list[Any]:
    """``array`` cut along its first axis into ``batch_size`` rows at a time (``None``, or
    a 0-d array: the whole of it).

    Example:
        >>> [c.tolist() for c in chunks(np.arange(5), 2)]
        [[0, 1], [2, 3], [4]]
    """
    if batch_size is None or array.ndim == 0:
        return [array]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ArgumentError(f"adapt: batch_size must be None or a positive int, received "
                            f"batch_size={batch_size!r}.")
    return [array[start:start + batch_size] for start in range(0, len(array), batch_size)]


def batches(data: Any, owner: str, batch_size: int | None = None, steps: int | None = None,
            verbose: int | str = "auto") -> Iterator[np.ndarray | torch.Tensor]:
    """The batches of ``data`` as arrays or tensors, in order (a whole array: one, or
    ``batch_size`` rows at a time), at most ``steps`` of them, with a progress bar as
    ``verbose`` says (see the module docstring).

    Example:
        >>> [b.shape for b in batches(np.zeros((4, 3)), "Normalization")]
        [(4, 3)]
        >>> [tuple(b.shape) for b in batches(iter([torch.ones(2, 3)] * 2), "Normalization")]
        [(2, 3), (2, 3)]
        >>> [b.tolist() for b in batches(np.arange(5), "Normalization", batch_size=2,
        ...                              steps=2)]
        [[0, 1], [2, 3]]
    """
    if isinstance(data, (str, bytes, dict)) or not hasattr(data, "__iter__") and not (
            _has_shape(data)):
        raise ArgumentTypeError(
            f"{owner}.adapt expects a numpy array, a tensor, a list, a DataLoader or a "
            f"generator of batches; received {type(data).__name__}."
        )
    if is_whole(data):
        source: Iterable[Any] = chunks(_features(data, owner), batch_size)
        total = total_batches(source, steps)
    else:
        source = (_features(batch, owner) for batch in data)
        total = total_batches(data, steps)
    found = False
    for batch in progress(source, owner, total, verbose, steps):
        found = True
        yield batch
    if not found and steps != 0:
        raise DataError(f"{owner}.adapt received no batches: the data is empty. Pass at "
                        "least one batch, e.g. layer.adapt(x) or layer.adapt([x]).")


def total_batches(source: Any, steps: int | None) -> int | None:
    """How many batches ``source`` gives (``None``: unknown), at most ``steps``."""
    try:
        total = len(source)
    except TypeError:
        total = None
    if steps is not None:
        return steps if total is None else min(total, steps)
    return total


def progress(items: Iterable[Item], owner: str, total: int | None,
             verbose: int | str = "auto", steps: int | None = None) -> Iterator[Item]:
    """``items``, at most ``steps`` of them, advancing a progress bar of ``total`` steps
    after each one the caller has used (``verbose``: 0, 1 or ``"auto"``, see the module
    docstring). The bar is finished however the iteration ends."""
    if verbose not in (0, 1, 2, "auto") or isinstance(verbose, bool):
        raise ArgumentError(f"{owner}.adapt: verbose must be 0, 1, 2 or 'auto', received "
                            f"verbose={verbose!r}.")
    interactive = getattr(sys.stdout, "isatty", lambda: False)()
    bar = None if verbose == 0 else Progbar(
        total, verbose=2 if verbose == 2 else 1, interval=0.05 if interactive else 1.0,
        unit_name="batch")
    started, done, shown = time.perf_counter(), 0, verbose != "auto"
    try:
        for item in items:
            if steps is not None and done >= steps:
                break
            done += 1  # counted when handed over: a caller that stops has used it
            yield item
            if bar is None:
                continue
            shown = shown or time.perf_counter() - started >= AUTO_AFTER_SECONDS
            if shown and (total is None or done < total):
                bar.update(done)
    finally:
        if bar is not None and shown:
            bar.update(done, finalize=True)

"""Keras's ``PyDataset`` (``Sequence``): batches by index, and the batch packing helpers.

Subclass it with ``__len__`` (the number of batches) and ``__getitem__(index)`` (one batch,
``x`` or ``(x, y)`` or ``(x, y, sample_weight)``); ``fit``, ``evaluate`` and ``predict``
take it as data, in order, calling ``on_epoch_end`` after each pass. The ``workers``,
``use_multiprocessing`` and ``max_queue_size`` arguments are accepted for Keras programs;
batches are read in the training process (use a torch ``DataLoader`` for workers).

Example:
    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, index):
    ...         x = np.arange(4, dtype="float32").reshape(2, 2) + index
    ...         return x, x ** 2
    >>> [batch[1].tolist() for batch in Squares()]
    [[[0.0, 1.0], [4.0, 9.0]], [[1.0, 4.0], [9.0, 16.0]]]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lamina.errors import ArgumentError


class PyDataset:
    """Batches by index (see the module docstring)."""

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10) -> None:
        self.workers, self.use_multiprocessing = workers, use_multiprocessing
        self.max_queue_size = max_queue_size

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number "
                                  "of batches).")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  "returning one batch.")

    @property
    def num_batches(self) -> int:
        """The number of batches (``len(self)``)."""
        return len(self)

    def on_epoch_end(self) -> None:
        """Called after each pass over the batches (shuffle here, for example)."""

    def __iter__(self) -> Iterator[Any]:
        try:
            for index in range(len(self)):
                yield self[index]
        finally:  # also when the reader stops after its last step
            self.on_epoch_end()


#: Keras 2's name.
Sequence = PyDataset


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """A batch as Keras packs it: ``x`` (a tuple ``x`` as ``(x,)``), ``(x, y)`` or
    ``(x, y, sample_weight)``."""
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``(x, y, sample_weight)`` of a batch (missing parts ``None``)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) in (1, 2, 3):
        return (*data, *([None] * (3 - len(data))))  # type: ignore[return-value]
    raise ArgumentError(f"unpack_x_y_sample_weight: a batch is x, (x,), (x, y) or (x, y, "
                        f"sample_weight); received a tuple of {len(data)}.")

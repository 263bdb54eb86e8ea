"""Input adapters: everything ``fit``, ``evaluate`` and ``predict`` accept, as batches.

Two kinds of source:

- :class:`ArrayData` holds numpy arrays or tensors (or lists and dicts of them, for several
  inputs or outputs). They become tensors once per call, are checked once (lengths,
  NaNs, labels) and batches are then slices of those tensors: no per-batch conversion.
- :class:`StreamData` wraps a torch ``Dataset`` (batched by a ``DataLoader``), a
  ``DataLoader`` or any iterable/generator of ``(x, y)`` / ``(x, y, sample_weight)``
  batches. Each batch is converted and checked as it arrives, on the CPU.

Both apply a ``prepare`` function (the trainer's target alignment and checks) to the
whole data set (arrays) or to each batch (streams). Under a process group both can be
``shard``-ed so that each rank sees its part (see ``distributed.py``).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import (
    DataLoader,
    Dataset,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
)

from lamina.errors import ArgumentError, DataError
from lamina.layers.layer import to_tensor
from lamina.utils import tree

Batch = tuple[Any, Any, Any]
Prepare = Callable[[Any, Any, Any], Batch]


def to_tensors(value: Any) -> Any:
    """Tensors for the numpy arrays in any nesting of lists, tuples and dicts.

    A list holding arrays, tensors or dicts is a structure (several inputs or outputs);
    a list of plain numbers (or of lists of numbers) is one array. Strings (a list of them,
    a numpy string array) stay a numpy array, for a model's string layer to convert.
    """
    if value is None or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        return {key: to_tensors(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and any(
            isinstance(item, (np.ndarray, torch.Tensor, dict)) for item in value):
        return type(value)(to_tensors(item) for item in value)
    array = np.asarray(value)
    return array if is_strings(array) else to_tensor(array)


def is_strings(array: np.ndarray) -> bool:
    """Whether ``array`` holds strings (unicode, bytes, or objects that are strings)."""
    return array.dtype.kind in "US" or array.dtype.kind == "O" and array.size > 0 and \
        isinstance(array.reshape(-1)[0], (str, bytes))


def unpack(batch: Any) -> Batch:
    """``(x, y, sample_weight)`` from a batch: a tuple or list of 1 to 3 items, else ``x``."""
    if isinstance(batch, (tuple, list)):
        if len(batch) in (1, 2, 3):
            return (*batch, *([None] * (3 - len(batch))))  # type: ignore[return-value]
        raise DataError(
            f"A data batch must be x, (x,), (x, y) or (x, y, sample_weight); received a "
            f"{type(batch).__name__} of {len(batch)} items. Yield tuples, with several "
            "inputs grouped as one list or dict: ((x1, x2), y)."
        )
    return batch, None, None


def _lengths(structure: Any) -> list[int]:
    return [len(t) for t in tree.flatten(structure) if isinstance(t, (torch.Tensor, np.ndarray))]


def check_finite(structure: Any, what: str, caller: str) -> None:
    """A DataError naming the first NaN or infinite value in a structure of tensors."""
    for leaf in tree.flatten(structure):
        if not isinstance(leaf, torch.Tensor) or not leaf.is_floating_point():
            continue
        # A finite sum proves every value finite, ~10x cheaper than an elementwise test;
        # only a NaN, an infinity or an overflowing sum leads to the exact check.
        if bool(torch.isfinite(leaf.sum())):
            continue
        bad = ~torch.isfinite(leaf)
        if bool(bad.any()):
            count = int(bad.sum())
            sample = int(bad.reshape(len(leaf), -1).any(dim=1).nonzero()[0, 0]) if leaf.dim() \
                else 0
            raise DataError(
                f"{caller}: {what} holds {count} NaN or infinite value(s), the first in "
                f"sample {sample}. Expected finite numbers. Remove or impute them (e.g. "
                "np.nan_to_num) before training; nothing was changed."
            )


class ArrayData:
    """Arrays or tensors, sliced into batches (shuffled each epoch when ``shuffle``)."""

    def __init__(self, x: Any, y: Any, sample_weight: Any, batch_size: int, shuffle: bool,
                 caller: str, steps: int | None = None) -> None:
        self.x, self.y, self.sample_weight = to_tensors(x), to_tensors(y), to_tensors(
            sample_weight)
        #: ``steps_per_epoch``: an epoch is at most this many batches, continuing where the
        #: last epoch stopped; a pass over the data that runs out ends its epoch early (with
        #: Keras's warning) and the next epoch starts a new pass, as Keras does.
        self.steps_per_epoch = steps
        self._pass: Iterator[Batch] | None = None
        self.batch_size, self.shuffle, self.caller = batch_size, shuffle, caller
        lengths = {"x": _lengths(self.x), "y": _lengths(self.y),
                   "sample_weight": _lengths(self.sample_weight)}
        every = [n for values in lengths.values() for n in values]
        if not every:
            raise DataError(f"{caller}: x holds no arrays or tensors, received {type(x)}.")
        if len(set(every)) > 1:
            described = ", ".join(f"{k} {sorted(set(v))[0] if len(set(v)) == 1 else v}"
                                  for k, v in lengths.items() if v)
            raise DataError(
                f"{caller}: every array must have the same number of samples (first axis); "
                f"received {described}. Pass x, y and sample_weight with one entry per "
                "sample."
            )
        self.size = every[0]
        if self.size == 0:
            raise DataError(f"{caller}: the data has no samples (first axis of length 0).")
        self._shard: tuple[int, int, int, bool] | None = None  # rank, ranks, seed, padded
        self._epoch = 0
        self.pinned = False

    @property
    def steps(self) -> int:
        every = -(-self._local_size() // self.batch_size)
        return every if self.steps_per_epoch is None else min(every, self.steps_per_epoch)

    def shard(self, rank: int, world_size: int, seed: int, padded: bool) -> None:
        """From now on, yield only the samples of process ``rank`` of ``world_size``.

        ``padded`` (training): a ``DistributedSampler``'s share, shuffled per epoch from
        ``seed`` when ``shuffle``, padded with repeated samples so every rank takes the same
        number of steps. Otherwise (evaluation): every ``world_size``-th sample from
        ``rank``, in order, each sample exactly once over all ranks.
        """
        self._shard = (rank, world_size, seed, padded)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shuffle a sharded data set uses next (``set_epoch`` of torch)."""
        self._epoch = epoch

    def _local_size(self) -> int:
        if self._shard is None:
            return self.size
        rank, world_size, _, padded = self._shard
        return -(-self.size // world_size) if padded else len(range(rank, self.size, world_size))

    def _shard_order(self) -> torch.Tensor:
        rank, world_size, seed, padded = self._shard  # type: ignore[misc]
        if not padded:
            return torch.arange(rank, self.size, world_size)
        sampler = DistributedSampler(range(self.size), num_replicas=world_size,  # type: ignore[arg-type]
                                     rank=rank, shuffle=self.shuffle, seed=seed)
        sampler.set_epoch(self._epoch)
        return torch.tensor(list(sampler), dtype=torch.int64)

    def split(self, fraction: float) -> tuple[ArrayData, ArrayData]:
        """The first ``1 - fraction`` for training and the rest for validation (as Keras)."""
        cut = int(round(self.size * (1.0 - fraction)))
        if cut <= 0 or cut >= self.size:
            raise DataError(
                f"{self.caller}: validation_split={fraction} of {self.size} samples leaves "
                f"{cut} for training and {self.size - cut} for validation; both need at "
                "least one. Use more data or another fraction."
            )
        train, validation = (
            ArrayData(*(_take(v, part) for v in (self.x, self.y, self.sample_weight)),
                      self.batch_size, self.shuffle, self.caller)
            for part in (slice(0, cut), slice(cut, self.size)))
        train.steps_per_epoch = self.steps_per_epoch
        return train, validation

    def prepare(self, prepare: Prepare) -> None:
        """Check and convert the whole data set once."""
        self.x, self.y, self.sample_weight = prepare(self.x, self.y, self.sample_weight)

    def pin_memory(self) -> None:
        """Keep the data in pinned (page-locked) memory, so batches copy to a GPU
        asynchronously (``non_blocking``); each epoch's shuffled copy is pinned too."""
        self.pinned = True
        self.x, self.y, self.sample_weight = (_pinned(v) for v in (
            self.x, self.y, self.sample_weight))

    def first_batch(self) -> Batch:
        part = slice(0, min(self.batch_size, self.size))
        return _take(self.x, part), _take(self.y, part), _take(self.sample_weight, part)

    def batches(self) -> Iterator[Batch]:
        if self.steps_per_epoch is None:
            yield from self._one_pass()
            return
        if self._pass is None:
            self._pass = self._one_pass()
        for step in range(self.steps_per_epoch):
            batch = next(self._pass, None)
            if batch is None and step == 0:  # the last epoch ended exactly with the pass
                self._pass = self._one_pass()
                batch = next(self._pass, None)
            if batch is None:
                self._pass = None
                if self.caller != "fit":  # evaluate/predict(steps=): at most that many
                    return
                warnings.warn(
                    f"{self.caller}: the data ran out before steps_per_epoch="
                    f"{self.steps_per_epoch} batches; this epoch ends early and the next "
                    "starts a new pass (as Keras does). Use steps_per_epoch <= "
                    f"{-(-self._local_size() // self.batch_size)} for equal epochs.",
                    UserWarning, stacklevel=2)
                return
            yield batch

    def _one_pass(self) -> Iterator[Batch]:
        x, y, weight = self.x, self.y, self.sample_weight
        order = self._shard_order() if self._shard is not None else (
            torch.randperm(self.size) if self.shuffle else None)
        if order is not None:
            # One gather per epoch, then every batch is a view: cheaper than a gather each.
            x, y, weight = (_take(v, order) for v in (x, y, weight))
            if self.pinned:
                x, y, weight = (_pinned(v) for v in (x, y, weight))
        for start in range(0, self._local_size(), self.batch_size):
            part = slice(start, start + self.batch_size)
            yield _take(x, part), _take(y, part), _take(weight, part)


def _pinned(value: Any) -> Any:
    """``value``'s CPU tensors in pinned memory (other leaves as they are)."""
    return tree.map_structure(lambda t: t.pin_memory() if isinstance(t, torch.Tensor) and
                              t.device.type == "cpu" and not t.is_pinned() else t, value)


def _take(value: Any, index: Any) -> Any:
    if type(value) is torch.Tensor:
        return value[index]
    if value is None:
        return None
    return tree.map_structure(lambda t: _rows(t, index), value)


def _rows(value: Any, index: Any) -> Any:
    """``value[index]`` of a tensor or a numpy (string) array; other values as they are."""
    if isinstance(value, torch.Tensor):
        return value[index]
    if isinstance(value, np.ndarray):
        return value[index.numpy() if isinstance(index, torch.Tensor) else index]
    return value


class StreamData:
    """A Dataset, DataLoader, or iterable/generator of batches, converted batch by batch."""

    def __init__(self, source: Any, batch_size: int, shuffle: bool, steps: int | None,
                 caller: str) -> None:
        #: Whether the DataLoader is lamina's own (made for a Dataset), not the user's.
        self.own_loader = isinstance(source, Dataset) and not isinstance(source, DataLoader)
        if self.own_loader:
            iterable = isinstance(source, IterableDataset)
            source = DataLoader(source, batch_size=batch_size, shuffle=shuffle and not iterable)
        self.caller = caller
        self.one_shot = hasattr(source, "__next__")  # a generator: batches are consumed once
        self.source = source
        self.steps = steps
        self._steps_given = steps
        if steps is None and hasattr(source, "__len__"):
            self.steps = len(source)
        self._prepare: Prepare = lambda x, y, w: (x, y, w)
        self._pending: list[Any] = []
        self._iterator: Iterator[Any] | None = None

    def shard(self, rank: int, world_size: int, seed: int, padded: bool) -> None:
        """Give a Dataset or DataLoader a sampler of process ``rank``'s share (see
        :meth:`ArrayData.shard`), keeping the loader's other settings.

        A generator, an ``IterableDataset``, a loader with its own batch sampler and one
        that already has a ``DistributedSampler`` are left as they are: they decide what
        each rank reads.
        """
        loader = self.source
        if not isinstance(loader, DataLoader) or isinstance(loader.dataset, IterableDataset) \
                or loader.batch_size is None or isinstance(loader.sampler, DistributedSampler):
            return
        dataset = loader.dataset
        sampler: Any = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, seed=seed,
            shuffle=isinstance(loader.sampler, RandomSampler)) if padded else range(
            rank, len(dataset), world_size)  # type: ignore[arg-type]
        workers = loader.num_workers
        self.source = DataLoader(
            dataset, batch_size=loader.batch_size, sampler=sampler, num_workers=workers,
            collate_fn=loader.collate_fn, pin_memory=loader.pin_memory,
            drop_last=loader.drop_last, timeout=loader.timeout,
            worker_init_fn=loader.worker_init_fn, persistent_workers=loader.persistent_workers,
            **({"prefetch_factor": loader.prefetch_factor} if workers else {}))
        self.steps = self._steps_given if self._steps_given is not None else len(self.source)
        self._pending, self._iterator = [], None

    def pin_memory(self) -> None:
        """Have lamina's own DataLoader (for a Dataset) collate batches into pinned memory,
        for asynchronous copies to a GPU; a DataLoader of the user's keeps its setting."""
        loader = self.source
        if self.own_loader and isinstance(loader, DataLoader) and not loader.pin_memory:
            iterable = isinstance(loader.dataset, IterableDataset)
            self.source = DataLoader(loader.dataset, batch_size=loader.batch_size,
                                     sampler=None if iterable else loader.sampler,
                                     pin_memory=True)
            self._pending, self._iterator = [], None

    def set_epoch(self, epoch: int) -> None:
        """Call ``set_epoch`` on a ``DistributedSampler`` (ours or the user's)."""
        sampler = getattr(self.source, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)

    def prepare(self, prepare: Prepare) -> None:
        """Check and convert each batch with ``prepare``; the first batch is checked now."""
        self._prepare = prepare
        if self._pending:
            self._convert(self._pending[0])

    def _raw(self) -> Iterator[Any]:
        if self.one_shot:
            return self.source
        if self._iterator is None:
            self._iterator = iter(self.source)
        return self._iterator

    def first_batch(self) -> Batch:
        """The first batch, kept to be yielded again by the next :meth:`batches`."""
        if not self._pending:
            try:
                self._pending.append(next(self._raw()))
            except StopIteration:
                raise DataError(f"{self.caller}: the data yielded no batch.") from None
        return self._convert(self._pending[0], check=False)

    def _convert(self, raw: Any, check: bool = True) -> Batch:
        x, y, weight = (to_tensors(v) for v in unpack(raw))
        return self._prepare(x, y, weight) if check else (x, y, weight)

    def batches(self) -> Iterator[Batch]:
        """This epoch's batches: at most ``steps``. A generator continues where it stopped;
        so does a re-iterable source (a DataLoader) given ``steps_per_epoch``, whose pass
        running out ends that epoch early, the next starting a new pass (as Keras does);
        without ``steps_per_epoch`` each epoch is one whole pass."""
        continuing = self._steps_given is not None and not self.one_shot
        fresh = self._iterator is None  # this epoch starts a new pass
        raw = itertools.chain(self._pending, self._raw())
        self._pending = []
        count = 0
        try:
            for count, item in enumerate(raw, start=1):  # noqa: B007 - read after the loop
                yield self._convert(item)
                if self.steps is not None and count >= self.steps:
                    return
            if continuing:  # the pass ran out
                self._iterator = None
                if count == 0 and not fresh:  # it ended with the last epoch: a new pass
                    yield from self.batches()
                elif self.caller == "fit":
                    warnings.warn(
                        f"{self.caller}: the data ran out before steps_per_epoch="
                        f"{self._steps_given} batches; this epoch ends early and the next "
                        "starts a new pass (as Keras does).", UserWarning, stacklevel=2)
        finally:
            if not continuing:
                self._iterator = None  # a re-iterable source starts over next epoch


def adapt(x: Any, y: Any, sample_weight: Any, batch_size: int, shuffle: bool,
          steps: int | None, caller: str) -> ArrayData | StreamData:
    """The adapter for what the user passed."""
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ArgumentError(f"{caller}: batch_size must be a positive int, received "
                            f"{batch_size!r}.")
    streaming = isinstance(x, (Dataset, DataLoader)) or hasattr(x, "__next__") or (
        hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, torch.Tensor, list, tuple,
                                                      dict, str)))
    if streaming:
        if y is not None or sample_weight is not None:
            raise ArgumentError(
                f"{caller}: y and sample_weight must be None when x is a {type(x).__name__}, "
                "which yields its own (x, y[, sample_weight]) batches."
            )
        return StreamData(x, batch_size, shuffle, steps, caller)
    if x is None:
        raise ArgumentError(f"{caller}: x is required, received None.")
    return ArrayData(x, y, sample_weight, batch_size, shuffle, caller, steps)

"""Data-parallel training: what ``fit`` does in a process launched by ``torchrun``.

``torchrun --nproc_per_node=N script.py`` (or :func:`lamina.distributed.launch`) starts N
copies of a script with ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK`` and a rendezvous address
in their environment. The first ``fit``, ``evaluate`` or ``train_on_batch`` that sees
``WORLD_SIZE > 1`` joins the default process group (``nccl`` for CUDA tensors, ``gloo``
for CPU ones), and from then on:

- train steps run through ``DistributedDataParallel``: the wrap broadcasts rank 0's
  weights, and every backward pass averages the gradients, so the ranks stay identical;
- each rank trains on its own shard of the data, picked by a ``DistributedSampler`` that
  is reshuffled every epoch (``set_epoch``) from a seed all ranks share. ``batch_size``
  is per process: N processes with batch ``b`` take the steps of one with batch ``N * b``;
- evaluation shards the data without padding, so its values are exact;
- the loss totals and every metric's state tensors are summed across ranks, so the logs
  (progress bar, ``History``, callbacks) are those of the whole data and the same on every
  rank: a callback that stops training stops it everywhere;
- only rank 0 prints, writes checkpoints and CSV logs.

Every collective happens at a point that depends only on the step count, never on a
clock, so no rank waits for a call another rank will not make.
"""

from __future__ import annotations

import atexit
import copy
import datetime
import gc
import os
import sys
import weakref
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from lamina.errors import ArgumentError

#: How often per epoch rank 0's progress bar (``verbose=1``) shows values summed over
#: every rank; each time is a collective, so none happen without a bar.
SYNCS_PER_EPOCH = 20


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ArgumentError(f"The environment variable {name} must be an integer, found "
                            f"{value!r}. Launch with torchrun, which sets it.") from None


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when not launched by ``torchrun``)."""
    return _env_int("WORLD_SIZE", 1)


def env_local_rank() -> int:
    """``LOCAL_RANK`` from the environment: this process's index on its machine."""
    return _env_int("LOCAL_RANK", _env_int("RANK", 0))


@dataclass(frozen=True)
class ProcessGroup:
    """This process's place in the default process group, and the collectives ``fit`` uses.

    Example:
        >>> group = ProcessGroup(rank=1, world_size=2, local_rank=1, backend="gloo")
        >>> group.is_main, group.device
        (False, device(type='cpu'))
    """

    rank: int
    world_size: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that prints and saves."""
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        """Where this rank's collectives put their tensors (its GPU under nccl)."""
        if "nccl" in self.backend and torch.cuda.is_available():
            return torch.device("cuda", self.local_rank)
        return torch.device("cpu")

    def wrap(self, model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``model`` in ``DistributedDataParallel`` (rank 0's weights are broadcast now).

        ``static_graph``: a Keras-style model uses the same weights at every step, which
        lets DDP accept weights that no step uses instead of failing at the second step.
        """
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [device.index if device.index is not None else self.local_rank] \
            if device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, static_graph=True)

    def from_main(self, values: list[int]) -> list[int]:
        """Rank 0's ``values`` on every rank (so that ranks decide alike)."""
        shared = torch.tensor(values, dtype=torch.int64).to(self.device)
        dist.broadcast(shared, src=0)
        return [int(v) for v in shared.tolist()]

    def sum(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """Each tensor summed over every rank (one collective for all of them)."""
        flat = torch.cat([t.detach().reshape(-1).to(self.device, torch.float64)
                          for t in tensors])
        dist.all_reduce(flat)
        out, start = [], 0
        for tensor in tensors:
            part = flat[start:start + tensor.numel()]
            out.append(part.reshape(tensor.shape).to(tensor.device, tensor.dtype))
            start += tensor.numel()
        return out

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on some rank."""
        return bool(self.sum([torch.tensor(float(flag))])[0].item())

    def summed_states(self, loss_total: torch.Tensor, seen: int, metrics: list[Any]
                      ) -> tuple[torch.Tensor, int, list[Any]]:
        """The loss total, sample count and metrics as if one process had seen every batch.

        A metric's state is its tensor attributes (totals, counts, confusion counts,
        histogram buckets for every lamina metric), which add up across ranks as Keras's
        metric variables do; the returned metrics are copies holding the sums.
        """
        states = [(index, name, value) for index, metric in enumerate(metrics)
                  for name, value in sorted(vars(metric).items())
                  if isinstance(value, torch.Tensor)]
        summed = self.sum([loss_total, torch.tensor(float(seen)),
                           *[value for _, _, value in states]])
        copies = [copy.copy(metric) for metric in metrics]
        for (index, name, _), value in zip(states, summed[2:]):
            setattr(copies[index], name, value)
        return summed[0], int(summed[1].item()), copies


def current() -> ProcessGroup | None:
    """The process group this process trains in, joined on first use; ``None`` alone.

    A group the script (or :func:`lamina.distributed.launch`) already initialised is used
    as it is. Otherwise ``WORLD_SIZE > 1`` in the environment joins the group that
    ``torchrun`` describes: ``nccl`` for CUDA tensors and ``gloo`` for CPU ones.

    Example:
        >>> current() is None  # a plain Python process
        True
    """
    if dist.is_available() and dist.is_initialized():
        if dist.get_world_size() == 1:
            return None
        rank = dist.get_rank()
        return ProcessGroup(rank, dist.get_world_size(), _env_int("LOCAL_RANK", rank),
                            str(dist.get_backend()))
    world_size = env_world_size()
    if world_size <= 1:
        return None
    initialize(timeout=None)
    return current()


def initialize(timeout: float | None) -> None:
    """Join the default process group that the environment describes (``env://``).

    Args:
        timeout: Seconds a collective may wait for the other ranks before failing.
            Default (``None``): torch's (30 minutes for gloo, 10 for nccl).
    """
    missing = [name for name in ("RANK", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if not dist.is_available():
        raise ArgumentError(f"WORLD_SIZE={env_world_size()} asks for several processes, but "
                            "this torch build has no torch.distributed.")
    if missing:
        raise ArgumentError(
            f"WORLD_SIZE={env_world_size()} asks for several processes, but {missing} are not "
            "set. Launch the script with torchrun --nproc_per_node=N (which sets them all), or "
            "with lamina.distributed.launch.")
    backend = "gloo"
    if torch.cuda.is_available():
        # Each process drives the GPU of its local rank; CPU tensors still go through gloo.
        torch.cuda.set_device(env_local_rank())
        backend = "cpu:gloo,cuda:nccl"
    options: dict[str, Any] = {}
    if timeout is not None:
        options["timeout"] = datetime.timedelta(seconds=timeout)
    dist.init_process_group(backend=backend, **options)
    # The group's threads must stop before the interpreter does, or a process that ends
    # while they run aborts ("terminate called without an active exception").
    atexit.register(leave_group)


def leave_group() -> None:
    """Destroy the default process group, if any (every rank should, before it exits)."""
    if dist.is_available() and dist.is_initialized():
        for holder in list(_WRAPPER_HOLDERS):
            holder.detach()
        # A DistributedDataParallel wrapper keeps the group's threads alive; one left for
        # the interpreter's teardown aborts the process, so free unreachable ones now.
        gc.collect()
        dist.destroy_process_group()


#: Objects holding a DistributedDataParallel wrapper, told to drop it when the group ends.
_WRAPPER_HOLDERS: weakref.WeakSet[Any] = weakref.WeakSet()


def hold_wrapper(holder: Any) -> None:
    """Register ``holder`` (with a ``detach()`` method) to drop its wrapper at
    :func:`leave_group`."""
    _WRAPPER_HOLDERS.add(holder)


def is_sharded(model: Any) -> bool:
    """Whether ``model`` is sharded by FSDP2 (``fit(..., distribute="fsdp")``): its weights
    are then ``DTensor`` shards, and running or saving it is a collective of every rank.

    Example:
        >>> is_sharded(torch.nn.Linear(2, 2))
        False
    """
    fsdp = sys.modules.get("torch.distributed.fsdp")  # not imported: nothing is sharded
    return fsdp is not None and isinstance(model, fsdp.FSDPModule)


def saves_here(model: Any) -> bool:
    """Whether this rank calls ``model.save`` in a callback: rank 0 alone, or every rank
    for a sharded model (the save gathers the shards; rank 0 writes the file)."""
    return is_main_process() or is_sharded(model)


def is_main_process() -> bool:
    """Whether this process is rank 0 (also ``True`` when there is a single process)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0

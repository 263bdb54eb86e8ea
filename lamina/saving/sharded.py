"""Saving a sharded model (``fit(..., distribute="fsdp")``): one whole file, from rank 0.

The weights and optimizer state of a model sharded by FSDP2 are ``DTensor`` shards. Saving
gathers each one whole (``DTensor.full_tensor()``, a collective, in the same order on
every rank, then copied to the CPU), so every rank must call ``save``; the file, the same
as a single process would write, is written by rank 0 only. FSDP2 also gives each sharded
module a class of its own (``FSDPDense``); the config is written with the layers' own
classes, so ``lamina.load_model`` rebuilds a plain model.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist


def holds_shards(tensors: dict[str, Any]) -> bool:
    """Whether any of ``tensors`` is a ``DTensor`` (a shard of a sharded model).

    Example:
        >>> holds_shards({"kernel": torch.zeros(2)})
        False
    """
    module = sys.modules.get("torch.distributed.tensor")  # not imported: nothing sharded
    return module is not None and any(isinstance(value, module.DTensor)
                                      for value in tensors.values())


def gathered(tensors: dict[str, Any]) -> dict[str, Any]:
    """``tensors`` with every ``DTensor`` replaced by its whole value on the CPU (a
    collective: every rank must call it with the same keys, in the same order)."""
    module = sys.modules.get("torch.distributed.tensor")
    if module is None:
        return dict(tensors)
    out = {}
    for key, value in tensors.items():
        if isinstance(value, module.DTensor):
            value = value.detach().full_tensor().cpu()
        out[key] = value
    return out


def writes_here() -> bool:
    """Whether this process writes a gathered file: rank 0, or the only process."""
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


@contextlib.contextmanager
def own_classes(model: torch.nn.Module) -> Iterator[None]:
    """Within the block, each module FSDP2 re-classed (``FSDPDense``) has its own class back
    (``Dense``), for the config to name it."""
    module = sys.modules.get("torch.distributed.fsdp")
    swapped: list[tuple[torch.nn.Module, type]] = []
    if module is not None:
        for sub in model.modules():
            cls = type(sub)
            if isinstance(sub, module.FSDPModule):
                own = next(c for c in cls.__mro__ if not issubclass(c, module.FSDPModule))
                swapped.append((sub, cls))
                sub.__class__ = own
    try:
        yield
    finally:
        for sub, cls in swapped:
            sub.__class__ = cls

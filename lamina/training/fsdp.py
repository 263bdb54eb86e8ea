"""Sharded training: what ``fit(..., distribute="fsdp")`` does under a process group.

With ``distribute="fsdp"`` in a process launched by ``torchrun`` (or
:func:`lamina.distributed.launch`), ``fit`` shards the model with PyTorch's FSDP2
(``torch.distributed.fsdp.fully_shard``) instead of wrapping it in
``DistributedDataParallel``: each top-level layer that holds weights becomes one FSDP unit,
then the model itself (for the weights of no such layer). From then on each rank stores
only its shard (dimension 0) of every weight, of every gradient and of the optimizer's
state; a layer's weights are all-gathered just before its forward (and backward) and freed
after it, and gradients are reduce-scattered (averaged over the ranks, as DDP does).

The model stays sharded after ``fit``, and its weights are ``DTensor`` parameters. So
everything that runs the model is a collective that *every* rank must call in the same
order: ``fit``, ``evaluate``, ``predict`` and ``model.save`` (which gathers the full
weights and optimizer state, and writes the ``.lamina`` file on rank 0 only).
``ModelCheckpoint`` and ``BackupAndRestore`` do this by themselves. ``evaluate`` and the
validation of ``fit`` run every batch on every rank (no data sharding: the ranks must
take the same number of steps), so their values are exact.

Outside a process group (a plain ``python script.py``), ``distribute="fsdp"`` trains as
usual: a script runs unchanged alone and under ``torchrun``, as with DDP.

Limits: weights stored transposed in memory (``Dense``'s ``column_major`` kernels) are made
contiguous first (FSDP2 shards contiguous tensors only; values are unchanged); weight
constraints and weight regularizers are refused (they would act on a shard); an optimizer
passed to ``compile`` as a ``torch.optim`` object is rebuilt over the shards with its
``defaults``, so it must have one parameter group.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import optimizers
from lamina.errors import ArgumentError
from lamina.training.distributed import is_sharded

#: The values ``fit(distribute=...)`` accepts (``None`` is ``"ddp"``).
STRATEGIES = ("ddp", "fsdp")


def check_strategy(distribute: Any) -> str:
    """``distribute`` as one of :data:`STRATEGIES` (``None`` is ``"ddp"``).

    Example:
        >>> check_strategy(None), check_strategy("fsdp")
        ('ddp', 'fsdp')
    """
    if distribute is None:
        return "ddp"
    if not isinstance(distribute, str) or distribute.lower() not in STRATEGIES:
        raise ArgumentError(f"fit: distribute must be one of {list(STRATEGIES)} or None "
                            f"(DDP), received {distribute!r}.")
    return distribute.lower()


def fully_shard_function() -> Any:
    """``torch.distributed.fsdp.fully_shard`` (``torch.distributed._composable.fsdp``'s in
    the torch releases that had it only there)."""
    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError:  # torch < 2.6
        from torch.distributed._composable.fsdp import fully_shard
    return fully_shard


def shard(model: torch.nn.Module, state: Any) -> None:
    """Shard ``model`` in place with FSDP2 (each top-level layer with weights, then the
    model) and rebuild ``state``'s optimizer over the sharded weights.

    Every rank must call it, with a built model holding the same weights on every rank
    (FSDP2 keeps each rank's own slice of its own copy: nothing is broadcast). Does nothing
    to a model that is sharded already.

    Args:
        model: The built model.
        state: Its ``CompileState`` (``state.optimizer`` is replaced or rebuilt).
    """
    if is_sharded(model):
        return
    # Deferred: torch.distributed.tensor is imported only by the scripts that shard.
    from torch.distributed.tensor import DTensor

    for name, weight in model.named_parameters():
        if getattr(weight, "constraint", None) is not None:
            raise ArgumentError(f"fit(distribute='fsdp'): the weight {name!r} has a "
                                "constraint, which would apply to one shard of it; remove "
                                "the constraint or train with distribute='ddp'.")
    with torch.no_grad():
        for weight in model.parameters():
            if not weight.is_contiguous():
                weight.data = weight.data.contiguous()  # FSDP2 shards contiguous tensors
    fully_shard = fully_shard_function()
    for child in model.children():
        if next(child.parameters(), None) is not None:
            fully_shard(child)
    fully_shard(model)
    for module in model.modules():
        penalties = getattr(module, "own_losses", None)
        if penalties is not None and any(isinstance(value, DTensor) for value in penalties()):
            raise ArgumentError(
                f"fit(distribute='fsdp'): the layer {getattr(module, 'name', module)!r} has "
                "weight regularizers, which would apply to one shard of its weights (the "
                "model is sharded now); train with distribute='ddp'.")
    _rebuild_optimizer(model, state)


def _rebuild_optimizer(model: torch.nn.Module, state: Any) -> None:
    """Build the optimizer anew over the model's (sharded) weights; its state starts over."""
    optimizer = state.optimizer
    weights = [p for p in model.parameters()]
    if isinstance(optimizer, optimizers.Optimizer):
        if optimizer.built:
            optimizer.build(weights)
        return
    if len(optimizer.param_groups) != 1:
        raise ArgumentError(
            "fit(distribute='fsdp'): the torch.optim optimizer given to compile has "
            f"{len(optimizer.param_groups)} parameter groups; it must be rebuilt over the "
            "sharded weights, which lamina can do for one group only. Pass a "
            "lamina.optimizers optimizer (or a name) to compile instead.")
    state.optimizer = type(optimizer)(weights, **optimizer.defaults)


def local_sizes(model: torch.nn.Module) -> dict[str, int]:
    """The number of values each weight of ``model`` stores on this rank (its shard for a
    sharded model, else the whole weight).

    Example:
        >>> local_sizes(torch.nn.Linear(3, 2))
        {'weight': 6, 'bias': 2}
    """
    return {name: int(weight.to_local().numel()) if hasattr(weight, "to_local")
            else weight.numel() for name, weight in model.named_parameters()}

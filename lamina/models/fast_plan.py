"""How a Functional model's fast plan runs each step once every layer is built and none
has hooks: :func:`fast_entry` turns a plan step into ``(callable, source, target,
keywords)``, and :func:`chain_of` finds a plan in which each step reads the one before (a
``Sequential``), run as ``value = call(value)``."""

from __future__ import annotations

from typing import Any

from lamina.symbolic import Slot
from lamina.utils import tree


def fast_entry(step: Any) -> tuple[Any, Any, int, Any]:
    """How the fast plan runs ``step``: ``(callable, input slot, output slot, None)`` for a
    one-tensor step; ``(callable, input slots, output slot, keyword arguments)`` for a step
    whose one argument is a list of tensors and whose keyword arguments are constants (not
    ``training`` or ``mask``, which the layer fills in); ``(step, None, -1, None)`` for any
    other, run as in the full plan."""
    if step.simple:
        return step.layer.plan_callable(), step.in_slots[0], step.out_slots[0], None
    args, kwargs = step.args, step.kwargs or {}
    if (len(args) == 1 and type(args[0]) is list and args[0]
            and all(type(a) is Slot for a in args[0]) and step.single_output
            and "training" not in kwargs and "mask" not in kwargs
            and not any(type(v) is Slot for v in tree.flatten(list(kwargs.values())))):
        sources = tuple(step.in_slots[a.index] for a in args[0])
        return step.layer.plan_callable(), sources, step.out_slots[0], dict(kwargs)
    return step, None, -1, None


def chain_of(fast: list[tuple[Any, Any, int, Any]], output_slots: list[int], inputs: int,
             masks: bool, single_output: bool) -> tuple[Any, ...] | None:
    """The callables of a fast plan in which every step takes the output of the step before
    (the first the one input) and the last gives the one output, else ``None``."""
    if inputs != 1 or masks or not single_output or not fast or output_slots != [fast[-1][2]]:
        return None
    previous = 0
    for _, source, target, _ in fast:
        if type(source) is not int or target < 0 or source != previous:
            return None
        previous = target
    return tuple(call for call, _, _, _ in fast)

"""Slots: where a node's symbolic inputs sit in a recorded call's arguments.

A call recorded on symbolic tensors keeps its arguments with each symbolic tensor replaced
by a :class:`Slot`; running the call fills the slots with real values (:func:`fill`) or
masks (:func:`fill_masks`). Plain data, so that recorded calls can be saved and loaded by
modules below the symbolic types (``functions/registry.py``, ``functions/op_call.py``).
"""

from __future__ import annotations

from typing import Any


class Slot:
    """Marks where the i-th symbolic input of a node sits in the call's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"Slot({self.index})"


def fill(template: Any, values: list[Any]) -> Any:
    """Put ``values`` where the slots are (the inverse of recording a call)."""
    if type(template) is Slot:
        return values[template.index]
    if type(template) is list:
        return [fill(v, values) for v in template]
    if type(template) is tuple:
        return tuple(fill(v, values) for v in template)
    if type(template) is dict:
        return {k: fill(v, values) for k, v in template.items()}
    return template


def fill_masks(template: Any, masks: list[Any]) -> Any:
    """Like :func:`fill` for masks: each slot's mask, None where the template holds no
    tensor."""
    if type(template) is Slot:
        return masks[template.index]
    if type(template) in (list, tuple):
        return type(template)(fill_masks(v, masks) for v in template)
    if type(template) is dict:
        return {k: fill_masks(v, masks) for k, v in template.items()}
    return None

"""Keras's control-flow ops: ``cond``, loops, ``scan``, ``map`` and friends.

torch runs eagerly, so each is the Python loop or branch it describes; they accept the
same nested structures (tuples, lists, dicts of tensors) as Keras. Called on symbolic
tensors they become graph nodes like any op, but they take Python functions, so a model
using them saves only when those functions can be saved.

Example:
    >>> import torch
    >>> fori_loop(0, 4, lambda i, total: total + i, torch.tensor(0)).item()
    6
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import torch

from lamina.ops.dispatch import symbolic_op
from lamina.ops.promotion import tensor
from lamina.utils import tree


@symbolic_op
def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` is true, else ``false_fn()``."""
    return true_fn() if bool(pred) else false_fn()


@symbolic_op
def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Apply ``body`` to ``loop_vars`` while ``cond(*loop_vars)`` holds (at most
    ``maximum_iterations`` times); a tuple or list of variables is passed unpacked."""
    is_sequence = isinstance(loop_vars, (tuple, list))
    values = tuple(loop_vars) if is_sequence else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(cond(*values)):
        values = body(*values)
        values = tuple(values) if isinstance(values, (tuple, list)) else (values,)
        steps += 1
    return values if is_sequence else values[0]


@symbolic_op
def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any],
              init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, from ``init_val``."""
    value = init_val
    for i in range(int(lower), int(upper)):
        value = body_fun(i, value)
    return value


def _stack(results: list[Any]) -> Any:
    """Stack a list of equally structured results leaf by leaf along a new first axis."""
    leaves = [tree.flatten(r) for r in results]
    stacked = [torch.stack([tensor(leaf[i]) for leaf in leaves]) for i in range(len(leaves[0]))]
    return tree.pack_as(results[0], stacked)


def _length(xs: Any) -> int:
    return tensor(tree.flatten(xs)[0]).shape[0]


def _slice(xs: Any, i: int) -> Any:
    return tree.map_structure(lambda leaf: leaf[i], xs)


@symbolic_op
def map(f: Callable[[Any], Any], xs: Any) -> Any:
    """``f`` applied to each slice of ``xs`` along its first axis, the results stacked."""
    return _stack([f(_slice(xs, i)) for i in range(_length(xs))])


@symbolic_op
def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` applied to each slice of ``elements`` along the first axis, stacked
    (with ``torch.vmap`` when the function allows, else one slice at a time)."""
    try:
        return torch.vmap(function)(elements)
    except (RuntimeError, ValueError, TypeError):
        # functions that branch on values or call non-batchable ops run slice by slice
        return map(function, elements)


@symbolic_op
def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    """Thread a carry through ``f(carry, x) -> (carry, y)`` over the slices of ``xs`` (or
    ``length`` steps with ``x = None``); returns the last carry and the stacked ``y``s."""
    steps = _length(xs) if xs is not None else length
    if steps is None:
        raise ValueError("scan needs xs or length; received neither.")
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    carry, outputs = init, []
    for i in order:
        carry, y = f(carry, None if xs is None else _slice(xs, i))
        outputs.append(y)
    if reverse:
        outputs.reverse()
    if not outputs or builtins.all(o is None for o in tree.flatten(outputs)):
        return carry, None
    return carry, _stack(outputs)


@symbolic_op
def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False,
                     axis: int = 0) -> Any:
    """Running ``f``-reductions (inclusive prefix scan) of ``elems`` along ``axis``:
    ``out[i] = f(out[i - 1], elems[i])``, like ``cumsum`` for ``f = add``."""
    moved = tree.map_structure(lambda leaf: torch.movedim(tensor(leaf), axis, 0), elems)
    steps = _length(moved)
    order = list(range(steps - 1, -1, -1) if reverse else range(steps))
    outputs: list[Any] = [None] * steps
    running = None
    for i in order:
        item = tree.map_structure(lambda leaf, i=i: leaf[i:i + 1], moved)
        running = item if running is None else f(running, item)
        outputs[i] = running
    joined = tree.pack_as(outputs[0], [torch.cat([tree.flatten(o)[j] for o in outputs])
                                       for j in range(len(tree.flatten(outputs[0])))])
    return tree.map_structure(lambda leaf: torch.movedim(leaf, 0, axis), joined)

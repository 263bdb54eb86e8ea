"""Bounds that hold while a function compiled from a file runs: the per-call budget.

The validator (``safe.py``) bounds what it can see in a function's text: ``range(10 ** 12)``
and ``'ab' * 10 ** 9`` are refused there. Values computed at run time escape any check of
the text (``range(abs(10 ** 9))``, ``9 ** int(10 ** 8)``, ``s * (n * 50000)``, three nested
loops over ``range(10000)``), so the compiler rewrites every function it compiles from a
file (``bound_rewrite.py``): each call makes its own :class:`Budget`, and every operation
that can grow without bound goes through it.

* ``range(...)`` makes at most :data:`MAX_SEQUENCE` items.
* Every ``for`` loop and comprehension, and every iterable consumed by ``list``, ``tuple``,
  ``dict``, ``sum``, ``min``, ``max``, ``sorted``, ``all`` or ``any``, charges one unit per
  item; a call may spend :data:`MAX_ITERATIONS` units (fewer while its file loads:
  ``load_budget.LOAD_ITERATIONS``). ``in`` is charged by the container, a sequence slice
  by the items it copies.
* ``*`` and ``+`` on lists, tuples and strings make at most :data:`MAX_SEQUENCE` items and
  charge the items they make; ``%`` on a string (formatting, whose width is unbounded) and
  ``sum`` of sequences are refused.
* ``**``, ``<<``, ``*`` and ``math.prod`` on Python integers refuse results wider than
  :data:`MAX_INT_BITS`.

A function that exceeds a bound raises :class:`~lamina.errors.LimitExceededError` (a
``LoadError``) naming its layer. Tensors pass through each check untouched (one ``type``
test), and functions the user wrote in their own process are never rewritten.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator
from typing import Any

import torch

from lamina.errors import LimitExceededError
from lamina.functions.load_budget import LOAD_ITERATIONS, current_load

#: Units (loop iterations, items consumed or made) one call of a loaded function may spend.
MAX_ITERATIONS = 100_000
#: Most items (or characters) in one list, tuple, string or range a loaded function makes.
MAX_SEQUENCE = 10_000
#: Widest Python integer a loaded function may compute.
MAX_INT_BITS = 4096

_SEQUENCES = frozenset({list, tuple, str})
_INTEGERS = frozenset({int, bool})
_NUMBERS = frozenset({int, bool, float, complex})


class Budget:
    """One call's allowance; the rewritten function makes one when it is called."""

    __slots__ = ("left", "load", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        # torch.compile and torch.export cannot trace a ContextVar; nothing loads while
        # they run.
        self.load = None if torch.compiler.is_compiling() else current_load()
        self.left = MAX_ITERATIONS if self.load is None else LOAD_ITERATIONS

    def exceeded(self, what: str) -> LimitExceededError:
        return LimitExceededError(
            f"{self.where}: the loaded function {what}. Functions loaded from a file are "
            f"bounded (lamina/functions/README.md): {MAX_ITERATIONS} iterations per call, "
            f"sequences of {MAX_SEQUENCE} items, integers of {MAX_INT_BITS} bits."
        )

    def charge(self, units: int) -> None:
        self.left -= units
        if self.load is not None:
            self.load.charge_iterations(units)
        if self.left < 0:
            limit = MAX_ITERATIONS if self.load is None else LOAD_ITERATIONS
            raise self.exceeded(f"ran more than {limit} iterations in one call"
                                + ("" if self.load is None else " while its file loads"))

    def items(self, iterable: Iterable[Any]) -> Iterable[Any]:
        """``iterable``, charging one unit per item (up front when its length is known:
        loops and comprehensions in a loaded function cannot stop early)."""
        try:
            size = len(iterable)  # type: ignore[arg-type]
        except (TypeError, OverflowError):
            return self._counted(iterable)
        self.charge(size)
        return iterable

    def _counted(self, iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            self.charge(1)
            yield item

    def range(self, *args: Any) -> range:
        made = range(*args)
        try:
            size = len(made)
        except OverflowError:
            size = MAX_SEQUENCE + 1
        if size > MAX_SEQUENCE:
            raise self.exceeded(f"made a range of more than {MAX_SEQUENCE} items")
        return made

    def sequence(self, size: int) -> None:
        if size > MAX_SEQUENCE:
            raise self.exceeded(f"made a sequence of more than {MAX_SEQUENCE} items")
        self.charge(size)

    def integer(self, bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise self.exceeded(f"computed an integer wider than {MAX_INT_BITS} bits")

    def mul(self, a: Any, b: Any) -> Any:
        kind_a, kind_b = type(a), type(b)
        if kind_a in _SEQUENCES and kind_b in _INTEGERS:
            self.sequence(len(a) * max(b, 0))
        elif kind_b in _SEQUENCES and kind_a in _INTEGERS:
            self.sequence(len(b) * max(a, 0))
        elif kind_a in _INTEGERS and kind_b in _INTEGERS:
            self.integer(a.bit_length() + b.bit_length())
        return a * b

    def add(self, a: Any, b: Any) -> Any:
        if type(a) in _SEQUENCES and type(b) is type(a):
            self.sequence(len(a) + len(b))
        return a + b

    def pow(self, a: Any, b: Any) -> Any:
        if type(a) in _INTEGERS and type(b) in _INTEGERS and b > 0 and abs(a) > 1:
            self.integer(a.bit_length() * b)
        return a ** b

    def lshift(self, a: Any, b: Any) -> Any:
        if type(a) in _INTEGERS and type(b) in _INTEGERS and a and b > 0:
            self.integer(a.bit_length() + b)
        return a << b

    def sum(self, iterable: Any, start: Any = 0) -> Any:
        if not (type(start) in _NUMBERS or isinstance(start, torch.Tensor)):
            raise self.exceeded("sums sequences with sum() (its joins are not bounded); "
                                "join them with + instead")
        return builtins.sum(self.items(iterable), start)

    def sliced(self, value: Any, key: Any) -> Any:
        """``value[key]`` for a key with slices, charged by the items a sequence's slice
        copies (a tensor's slice is a view and passes untouched)."""
        result = value[key]
        if type(result) in _SEQUENCES:
            self.charge(len(result))
        return result

    def contains(self, item: Any, container: Any) -> bool:
        """``item in container``, charged by the container's length."""
        if type(container) in _SEQUENCES:
            self.charge(len(container))
        return item in container

    def tensor_method(self, value: Any, name: str) -> Any:
        """``value.<name>`` for a name lists and sets also have: tensors only."""
        # (a captured module's view, ``torch.sort`` or ``ops.add``, names its functions)
        if not isinstance(value, torch.Tensor) and not hasattr(value, "__lamina_module__"):
            raise self.exceeded(f"calls .{name} on a {type(value).__name__} (only tensors "
                                "have it in a loaded function)")
        return getattr(value, name)

    def mod(self, a: Any, b: Any) -> Any:
        if type(a) is str:
            raise self.exceeded("formats a string with '%' (not allowed: its width is "
                                "unbounded)")
        return a % b


def bounded_prod(iterable: Any, *, start: Any = 1) -> Any:
    """``math.prod`` for loaded functions: at most :data:`MAX_SEQUENCE` factors, and an
    integer product no wider than :data:`MAX_INT_BITS` bits."""
    product = start
    for count, factor in enumerate(iterable):
        if count >= MAX_SEQUENCE:
            raise LimitExceededError(f"math.prod over more than {MAX_SEQUENCE} factors in a "
                                     "loaded function")
        if type(product) in _INTEGERS and type(factor) in _INTEGERS and (
                product.bit_length() + factor.bit_length() > MAX_INT_BITS):
            raise LimitExceededError(f"math.prod wider than {MAX_INT_BITS} bits in a loaded "
                                     "function")
        product = product * factor
    return product


def budget_factory(where: str) -> Any:
    """The global a rewritten function calls to get its per-call :class:`Budget`."""
    def new_budget() -> Budget:
        return Budget(where)

    return new_budget

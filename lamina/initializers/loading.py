"""Creating weights while loading: no initialisation, and a budget of bytes."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

import torch

from lamina.errors import ArgumentError

#: While loading: [skip initialisation?, bytes of weights that may still be created,
#: what exceeding them means].
_SKIP: list[Any] = [False, None, "more than the file's weights hold; the file is inconsistent"]


@contextlib.contextmanager
def skipped(budget_bytes: int | None = None) -> Iterator[None]:
    """Create weights without initialising them (their values are about to be loaded).

    With ``budget_bytes``, creating more bytes of weights than that raises (a loaded file
    may not make lamina allocate more than the weights it holds).
    """
    previous = list(_SKIP)
    _SKIP[:] = [True, budget_bytes, previous[2]]
    try:
        yield
    finally:
        _SKIP[:] = previous


@contextlib.contextmanager
def limited(budget_bytes: int, meaning: str) -> Iterator[None]:
    """Create and initialise weights, refusing more than ``budget_bytes`` of them in all
    (``meaning`` ends the error: what exceeding the budget says about the input)."""
    previous = list(_SKIP)
    _SKIP[:] = [False, budget_bytes, meaning]
    try:
        yield
    finally:
        _SKIP[:] = previous


def skipping() -> bool:
    """Whether weights are being created only to be overwritten (see :func:`skipped`)."""
    return _SKIP[0]


def charge(shape: tuple[int, ...], dtype: torch.dtype) -> None:
    """Count a weight about to be created against the loading budget, if there is one."""
    if _SKIP[1] is None:
        return
    count = math.prod(shape)
    if any(d < 0 for d in shape):
        raise ArgumentError(f"A weight shape must not be negative, received {shape}.")
    size = count * torch.empty((), dtype=dtype).element_size()
    if size > _SKIP[1]:
        raise ArgumentError(
            f"The config asks for a weight of shape {shape} ({size} bytes), {_SKIP[2]}."
        )
    _SKIP[1] -= size

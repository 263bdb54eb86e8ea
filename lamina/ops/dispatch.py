"""Route ``lamina.ops`` calls on symbolic tensors into graph nodes.

Each public op is wrapped by :func:`symbolic_op`. Called on real tensors it runs the
op at once; called with any :class:`~lamina.symbolic.SymbolicTensor` among its
arguments (directly, or inside a list/tuple/dict argument such as ``concatenate``'s) it
adds a Lambda node to the graph instead and returns the node's symbolic output.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import torch

F = TypeVar("F", bound=Callable[..., Any])
_TENSOR = torch.Tensor

#: The symbolic types and the function that turns an op call on them into a graph node.
#: Both are registered once, at import, by the modules above this one that define them
#: (``lamina.symbolic`` and ``lamina.layers.op_layer``): the eager path never pays for the
#: graph machinery, and ops import no layer or model.
_SYMBOLIC_TYPES: tuple[type, ...] = ()
_make_op_node: Callable[..., Any] | None = None


def register_symbolic_type(kind: type) -> None:
    """Treat arguments of type ``kind`` as symbolic: ops on them become graph nodes."""
    global _SYMBOLIC_TYPES
    if kind not in _SYMBOLIC_TYPES:
        _SYMBOLIC_TYPES = (*_SYMBOLIC_TYPES, kind)


def register_op_node_factory(make_node: Callable[..., Any]) -> None:
    """``make_node(op, args, kwargs)`` adds the node of an op called on symbolic arguments
    and returns its symbolic output."""
    global _make_op_node
    _make_op_node = make_node


def holds_symbolic(value: Any) -> bool:
    """Whether ``value`` is symbolic, or a list/tuple/dict holding a symbolic value."""
    if isinstance(value, _SYMBOLIC_TYPES):
        return True
    if type(value) in (list, tuple):
        return any(holds_symbolic(v) for v in value)
    if type(value) is dict:
        return any(holds_symbolic(v) for v in value.values())
    return False


#: Argument types that are never symbolic: skipped without further checks (the common case
#: inside a Lambda is a tensor and a few numbers).
_PLAIN = frozenset({int, float, bool, str, type(None)})


def any_symbolic(args: tuple, kwargs: dict) -> bool:
    """Whether any argument, or any element of a list/tuple/dict argument, is symbolic."""
    if not _SYMBOLIC_TYPES:
        return False
    for a in args:
        kind = type(a)
        if kind is _TENSOR or kind in _PLAIN:
            continue
        if holds_symbolic(a):
            return True
    for a in kwargs.values():
        kind = type(a)
        if kind is _TENSOR or kind in _PLAIN:
            continue
        if holds_symbolic(a):
            return True
    return False


def symbolic_op(fn: F) -> F:
    """Make ``fn`` usable on symbolic tensors: such a call becomes a Lambda node."""

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if (args and type(args[0]) is _TENSOR and len(args) == 1 and not kwargs) or not (
                any_symbolic(args, kwargs)):
            return fn(*args, **kwargs)
        return _make_op_node(op, args, kwargs)

    op.__lamina_op__ = fn.__name__
    return op  # type: ignore[return-value]

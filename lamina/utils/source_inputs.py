"""``keras.utils.get_source_inputs``: the ``Input`` tensors a symbolic tensor comes from.

Example:
    >>> import lamina
    >>> a, b = lamina.Input(shape=(2,), name="a"), lamina.Input(shape=(2,), name="b")
    >>> c = lamina.layers.Add()([a, lamina.layers.Dense(2)(b)])
    >>> [t.name for t in get_source_inputs(c)]
    ['a', 'b']
"""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentError


def get_source_inputs(tensor: Any) -> list[Any]:
    """The graph inputs (tensors made by ``keras.Input``) that ``tensor`` depends on, in the
    order the graph first reaches them; an input tensor gives itself."""
    if getattr(tensor, "node", None) is None:
        raise ArgumentError(
            f"get_source_inputs: expected a symbolic tensor (made from keras.Input), received "
            f"{type(tensor).__name__}. Eager tensors have no graph to walk."
        )
    sources: list[Any] = []
    seen: set[int] = set()
    pending = [tensor]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        parents = current.node.inputs
        if not parents:
            sources.append(current)
        pending.extend(reversed(parents))
    return sources

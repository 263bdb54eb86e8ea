"""The nodes a graph's outputs need, each after the nodes it reads from: the order a
Functional model runs its calls in, and the order a Keras archive lists them in.

It sits on the layers floor (not with the Functional model) so that ``saving/``, below
``models/``, walks a graph the same way.
"""

from __future__ import annotations

from lamina.errors import ArgumentError
from lamina.layers.input_layer import InputLayer
from lamina.symbolic import Node, SymbolicTensor


def topological_nodes(outputs: list[SymbolicTensor], inputs: list[SymbolicTensor]) -> list[Node]:
    """Nodes needed for ``outputs``, each after the nodes it reads from."""
    input_ids = {id(t) for t in inputs}
    order: list[Node] = []
    state: dict[int, int] = {}  # 1: visiting, 2: done
    stack: list[tuple[Node, bool]] = []
    for tensor in reversed(outputs):
        if id(tensor) not in input_ids:
            stack.append((tensor.node, False))
    while stack:
        node, expanded = stack.pop()
        if expanded:
            state[id(node)] = 2
            order.append(node)
            continue
        if state.get(id(node)) == 2:
            continue
        if isinstance(node.layer, InputLayer):
            raise ArgumentError(
                f"Graph disconnected: an output depends on input '{node.layer.name}', which is "
                f"not among the model's inputs {[t.name for t in inputs]}. Pass it in inputs."
            )
        state[id(node)] = 1
        stack.append((node, True))
        for tensor in reversed(node.inputs):
            if id(tensor) not in input_ids and state.get(id(tensor.node)) is None:
                stack.append((tensor.node, False))
    return order

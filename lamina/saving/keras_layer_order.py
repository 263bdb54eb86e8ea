"""The order of a Functional model's ``layers`` in Keras 3, which names their weights.

Keras keys each layer of ``model.layers`` in ``model.weights.h5`` by its class name and a
counter (``dense``, ``dense_1``...), so the order must be the one Keras computes when it
rebuilds the model from its config: ``keras.src.ops.function.map_graph``, reproduced here
on lamina's graph. A depth-first walk from the outputs numbers the layers as first met
and lists the nodes inputs-first; each node's depth is its distance from the outputs (a
layer takes the largest depth of its nodes); layers are listed deepest first, ties in the
order first met, and an input the walk never reached comes last among the deepest.
"""

from __future__ import annotations

from typing import Any

from lamina.errors import SerializationError
from lamina.layers.input_layer import InputLayer
from lamina.layers.layer import Layer
from lamina.symbolic import OpCall
from lamina.utils import tree


def keras_functional_layers(model: Any) -> list[Layer]:
    """``model.layers`` in the order Keras 3 gives a Functional model rebuilt from its
    config (input layers included, a shared layer once; an op applied to symbolic tensors,
    a Lambda in lamina, is an operation in Keras, ordered as one but not listed).

    Example:
        >>> import lamina
        >>> from lamina import layers
        >>> x = lamina.Input((3,), name="x")
        >>> y = layers.Dense(2, name="last")(layers.Dense(4, name="first")(x))
        >>> [layer.name for layer in keras_functional_layers(lamina.Model(x, y))]
        ['x', 'first', 'last']
    """
    inputs = list(model.inputs)
    input_ids = {id(tensor) for tensor in inputs}
    ordered: list[Any] = []
    first_met: dict[int, int] = {}
    finished: set[int] = set()
    in_progress: set[int] = set()
    layers: dict[int, Layer] = {}

    def visit(tensor: Any) -> None:
        node = tensor.node
        if node is None or id(node) in finished:
            return
        is_input = isinstance(node.layer, InputLayer)
        if not is_input and id(tensor) in input_ids:
            finished.add(id(node))
            return
        if id(node) in in_progress:
            raise SerializationError(f"Model '{model.name}': the graph has a cycle at "
                                     f"layer '{node.layer.name}'.")
        first_met.setdefault(id(node.layer), len(first_met))
        layers[id(node.layer)] = node.layer
        in_progress.add(id(node))
        if not is_input:
            for source in node.inputs:
                visit(source)
        finished.add(id(node))
        in_progress.discard(id(node))
        ordered.append(node)

    for output in tree.flatten(model.outputs):
        visit(output)

    in_graph = {id(node) for node in ordered}
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(ordered):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = depth
        node_depth[id(node)] = depth
        if isinstance(node.layer, InputLayer):
            continue
        for source in node.inputs:
            parent = source.node
            if parent is None or id(parent) not in in_graph:
                continue
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    for tensor in inputs:
        layer = tensor.node.layer
        if id(layer) not in layer_depth:
            layer_depth[id(layer)] = 0
            first_met[id(layer)] = -1
            layers[id(layer)] = layer
    by_depth: dict[int, list[int]] = {}
    for key, depth in layer_depth.items():
        by_depth.setdefault(depth, []).append(key)
    found: list[Layer] = []
    for depth in sorted(by_depth, reverse=True):
        found.extend(layers[key] for key in sorted(by_depth[depth], key=first_met.__getitem__))
    return [layer for layer in found if not isinstance(getattr(layer, "function", None), OpCall)]

"""A Functional graph's plan: each call (in ``layers/graph_nodes.py``'s order) as a
:class:`Step` reading and writing slots, and the layer each string ``Input`` feeds (which
turns the strings into the tensor the rest of the graph runs on)."""

from __future__ import annotations

from typing import Any

from lamina.errors import ArgumentTypeError
from lamina.layers.layer import Layer
from lamina.symbolic import STRING, Node, Slot, SymbolicTensor


class Step:
    """One node of the plan: the layer, where its inputs come from, where outputs go."""

    __slots__ = ("layer", "node", "in_slots", "args", "kwargs", "out_slots", "simple",
                 "single_output", "takes_mask", "takes_training", "is_model")

    def __init__(self, node: Node, in_slots: list[int], out_slots: list[int]) -> None:
        layer = node.layer
        self.layer = layer
        self.node = node
        self.in_slots = in_slots
        self.args = node.args
        self.kwargs = node.kwargs
        self.out_slots = out_slots
        self.single_output = isinstance(node.outputs, SymbolicTensor)
        self.simple = (
            len(node.args) == 1 and type(node.args[0]) is Slot and not node.kwargs
            and self.single_output
        )
        self.takes_mask = layer._call_takes_mask
        self.takes_training = layer._call_takes_training
        self.is_model = layer.outputs_carry_masks


def string_input_layers(inputs: list[SymbolicTensor], nodes: list[Node], model: str
                   ) -> dict[int, Layer]:
    """For each string Input (by position), the one layer it feeds, which converts its
    strings (``strings_to_tensor``) before the graph runs."""
    found: dict[int, Layer] = {}
    for index, tensor in enumerate(inputs):
        if tensor.dtype is not STRING:
            continue
        readers = [node for node in nodes if any(t is tensor for t in node.inputs)]
        if len(readers) != 1 or not hasattr(readers[0].layer, "strings_to_tensor") or \
                len(readers[0].inputs) != 1:
            raise ArgumentTypeError(
                f"Model '{model}': the string input '{tensor.name}' must feed exactly one "
                "layer, a TextVectorization or StringLookup, which turns the strings into "
                f"integers; it feeds {[n.layer.name for n in readers]}.")
        found[index] = readers[0].layer
    return found


def flat_strings(inputs: Any) -> list[Any]:
    """The leaves of a structure of inputs, a list of strings being one leaf."""
    if isinstance(inputs, dict):
        return [v for value in inputs.values() for v in flat_strings(value)]
    if isinstance(inputs, (list, tuple)) and inputs and not isinstance(inputs[0], (str, bytes)):
        return [v for value in inputs for v in flat_strings(value)]
    return [inputs]

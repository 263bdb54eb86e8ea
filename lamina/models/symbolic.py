"""Symbolic tensors and graph nodes.

``lamina.Input`` returns a :class:`SymbolicTensor`: a shape (``None`` for unknown axes),
a dtype and the :class:`Node` that produced it. Calling a layer on symbolic tensors adds
a node (``inference.symbolic_call``) and returns new symbolic tensors; Python operators
and ``lamina.ops`` functions on them add Lambda nodes. See ``README.md`` in this folder.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.fx

from lamina.functions.op_call import OpCall
from lamina.layers.layer import Layer, dtype_name, standardize_dtype
from lamina.ops import dispatch
from lamina.utils import tree
from lamina.utils.slots import Slot, fill, fill_masks

__all__ = ["Input", "Node", "OpCall", "Slot", "SymbolicTensor", "fill", "fill_masks",
           "make_input_tensor", "make_op_node"]


class SymbolicTensor:
    """A placeholder for a tensor in a graph under construction: shape, dtype, producer.

    Attributes:
        shape: A tuple of ints, with ``None`` for axes unknown until data arrives.
        dtype: A ``torch.dtype``.
        node: The :class:`Node` that outputs this tensor.
        index: Which of the node's flat outputs this is.
    """

    __slots__ = ("shape", "dtype", "node", "index", "name", "_keras_mask", "__weakref__")

    def __init__(
        self,
        shape: tuple[int | None, ...],
        dtype: torch.dtype,
        node: Node | None = None,
        index: int = 0,
        name: str | None = None,
    ) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index
        self.name = name
        self._keras_mask: SymbolicTensor | None = None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        producer = f", produced by '{self.node.layer.name}'" if self.node else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={dtype_name(self.dtype)}{producer}>"

    def __bool__(self) -> bool:
        raise TypeError(
            "A symbolic tensor has no value, so it cannot be used as a Python bool (in `if`, "
            "`and`, `or`). Inside a Lambda, use ops.where(...) for a per-element choice."
        )

    def __iter__(self) -> Any:
        raise TypeError(
            f"A symbolic tensor of shape {self.shape} cannot be iterated; index it "
            "(x[:, 0]) or use ops.split / ops.unstack inside a Lambda."
        )

    def __len__(self) -> int:
        raise TypeError("len() of a symbolic tensor is undefined; use x.shape[0].")

    def __array__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "A symbolic tensor has no value to convert to numpy. Build a model with "
            "lamina.Model(inputs, outputs) and call it on data."
        )

    # Python operators become ops calls, which add Lambda nodes (see ops.dispatch).
    def __add__(self, other: Any) -> Any:
        return _ops().add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _ops().add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _ops().subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _ops().subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return _ops().multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _ops().multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _ops().divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _ops().divide(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return _ops().floor_divide(self, other)

    def __mod__(self, other: Any) -> Any:
        return _ops().mod(self, other)

    def __pow__(self, other: Any) -> Any:
        return _ops().power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _ops().power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _ops().matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _ops().matmul(other, self)

    def __neg__(self) -> Any:
        return _ops().negative(self)

    def __abs__(self) -> Any:
        return _ops().abs(self)

    def __getitem__(self, key: Any) -> Any:
        return _ops().getitem(self, key)


def _ops() -> Any:
    from lamina import ops

    return ops


class Node:
    """One call of a layer in a graph: which tensors went in, how, and what came out.

    ``args`` and ``kwargs`` are the call's arguments with every symbolic tensor replaced
    by ``Slot(i)``, the position of that tensor in ``inputs``.
    """

    __slots__ = ("layer", "inputs", "args", "kwargs", "outputs", "flat_outputs")

    def __init__(
        self, layer: Layer, inputs: list[SymbolicTensor], args: tuple, kwargs: dict
    ) -> None:
        self.layer = layer
        self.inputs = inputs
        self.args = args
        self.kwargs = kwargs
        self.outputs: Any = None
        self.flat_outputs: list[SymbolicTensor] = []

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}: {len(self.inputs)} in, {len(self.flat_outputs)} out>"


def _template(value: Any, found: list[SymbolicTensor]) -> Any:
    """``value`` with symbolic tensors replaced by slots (collected into ``found``)."""
    if isinstance(value, SymbolicTensor):
        found.append(value)
        return Slot(len(found) - 1)
    if isinstance(value, list):
        return [_template(v, found) for v in value]
    if isinstance(value, tuple):
        return tuple(_template(v, found) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, found) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- ops on symbols
def make_op_node(op: Any, args: tuple, kwargs: dict) -> Any:
    """Add a Lambda node that runs ``op(*args, **kwargs)``; returns its symbolic output."""
    from lamina.layers.lambda_layer import Lambda

    proxy = next((a for a in tree.flatten([args, kwargs]) if isinstance(a, torch.fx.Proxy)), None)
    if proxy is not None:
        # torch.fx is tracing a function for the graph tier: record the op as one node.
        return proxy.tracer.create_proxy("call_function", op, args, kwargs)
    symbols: list[SymbolicTensor] = []
    template = _template((args, kwargs), symbols)
    layer = Lambda(OpCall(op, template, len(symbols)), name=_op_layer_name(op))
    return layer(symbols[0] if len(symbols) == 1 else symbols)


def _op_layer_name(op: Any) -> str:
    from lamina.layers.layer import unique_name

    return unique_name(op.__lamina_op__)


dispatch._SYMBOLIC_TYPES = (SymbolicTensor, torch.fx.Proxy)
dispatch._make_op_node = make_op_node


# ---------------------------------------------------------------------- Input
def Input(  # noqa: N802 - Keras's public name
    shape: tuple[int | None, ...] | None = None,
    batch_size: int | None = None,
    dtype: Any = "float32",
    name: str | None = None,
    batch_shape: tuple[int | None, ...] | None = None,
) -> SymbolicTensor:
    """A symbolic input of a Functional model.

    Args:
        shape: The shape of one sample, without the batch axis (``None`` for unknown axes).
        batch_size: A fixed batch size, or ``None`` (any). Default: ``None``.
        dtype: The dtype of the input. Default: ``"float32"``.
        name: The input's name (the key for dict inputs). Default: unique ``input_layer``.
        batch_shape: The full shape, batch axis included (instead of shape and batch_size).

    Example:
        >>> x = Input(shape=(3,))
        >>> x.shape
        (None, 3)
    """
    from lamina.layers.input_layer import InputLayer

    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                       batch_shape=batch_shape)
    return layer.output


def make_input_tensor(layer: InputLayer, shape: tuple, dtype: Any) -> SymbolicTensor:  # noqa: F821
    """The symbolic tensor an InputLayer outputs (a node with no inputs)."""
    node = Node(layer, [], (), {})
    tensor = SymbolicTensor(shape, standardize_dtype(dtype), node, 0, name=layer.name)
    node.outputs = tensor
    node.flat_outputs = [tensor]
    return tensor

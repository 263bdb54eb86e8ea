"""The symbolic types: what a graph under construction is made of.

``lamina.Input`` returns a :class:`SymbolicTensor`: a shape (``None`` for unknown axes), a
dtype and the :class:`Node` that produced it. A node records one layer call with its
symbolic arguments replaced by :class:`Slot` records (:func:`template`); running the call
fills the slots with real values (:func:`fill`) or masks (:func:`fill_masks`). An ops call
on symbolic tensors becomes a Lambda whose function is an :class:`OpCall`.

This module sits below ``functions/``, ``layers/`` and ``models/``, which all import it, and
above ``ops/`` (whose dispatch learns of :class:`SymbolicTensor` from here). Python
operators on symbolic tensors are ``lamina.ops`` calls.
"""

from __future__ import annotations

import operator
from typing import Any

import torch

from lamina import ops
from lamina.ops import dispatch
from lamina.utils.shapes import dtype_name

__all__ = ["STRING", "Node", "OpCall", "Slot", "StringDType", "SymbolicTensor", "fill",
           "fill_masks", "template"]


class StringDType:
    """The dtype of a symbolic string input, ``Input(dtype="string")``: torch has no string
    tensors, so such an input holds numpy string arrays and feeds one string layer
    (``TextVectorization``, ``StringLookup``), which turns each batch into integers."""

    is_floating_point = False
    is_complex = False

    def __repr__(self) -> str:
        return "string"

    def __reduce__(self) -> str:
        return "STRING"  # one instance, also after pickling or deepcopy


#: The one :class:`StringDType`; compare with ``is``.
STRING = StringDType()


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
        return ops.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return ops.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return ops.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return ops.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return ops.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return ops.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return ops.divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return ops.divide(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return ops.floor_divide(self, other)

    def __mod__(self, other: Any) -> Any:
        return ops.mod(self, other)

    def __pow__(self, other: Any) -> Any:
        return ops.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return ops.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return ops.matmul(other, self)

    def __neg__(self) -> Any:
        return ops.negative(self)

    def __abs__(self) -> Any:
        return ops.abs(self)

    def __getitem__(self, key: Any) -> Any:
        return ops.getitem(self, key)


class Node:
    """One call of a layer in a graph: which tensors went in, how, and what came out.

    ``args`` and ``kwargs`` are the call's arguments with every symbolic tensor replaced
    by ``Slot(i)``, the position of that tensor in ``inputs``.
    """

    __slots__ = ("layer", "inputs", "args", "kwargs", "outputs", "flat_outputs")

    def __init__(
        self, layer: Any, inputs: list[SymbolicTensor], args: tuple, kwargs: dict
    ) -> None:
        self.layer = layer
        self.inputs = inputs
        self.args = args
        self.kwargs = kwargs
        self.outputs: Any = None
        self.flat_outputs: list[SymbolicTensor] = []

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}: {len(self.inputs)} in, {len(self.flat_outputs)} out>"


def template(value: Any, found: list[SymbolicTensor]) -> Any:
    """``value`` with symbolic tensors replaced by slots (collected into ``found``)."""
    if isinstance(value, SymbolicTensor):
        found.append(value)
        return Slot(len(found) - 1)
    if isinstance(value, list):
        return [template(v, found) for v in value]
    if isinstance(value, tuple):
        return tuple(template(v, found) for v in value)
    if isinstance(value, dict):
        return {k: template(v, found) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------- slots
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


# ---------------------------------------------------------------------- ops calls
class OpCall:
    """The function of a Lambda made from an ops call on symbolic tensors.

    Holds the op and its arguments with the symbolic ones replaced by slots; called with
    the node's inputs (one tensor, or a list for several), it fills them in and runs the op.
    """

    def __init__(self, op: Any, template: tuple, count: int) -> None:
        self.op = op
        self.template = template
        self.count = count
        self.__name__ = op.__name__

    def __call__(self, inputs: Any) -> Any:
        values = [inputs] if self.count == 1 else inputs
        args, kwargs = fill(self.template, values)
        return self.op(*args, **kwargs)

    def plan_callable(self) -> Any:
        """What a model's fast plan may call with the node's inputs (tensors): for an op
        whose arguments are the node's tensors in order and nothing else (``x + y``), the
        op's own function, without filling the template or checking for symbolic
        arguments; else this call."""
        args, kwargs = self.template
        if (not kwargs and hasattr(self.op, "__wrapped__") and len(args) == self.count
                and all(type(a) is Slot and a.index == i for i, a in enumerate(args))):
            return OpOnTensors(self.op)
        return self

    @property
    def source(self) -> str:
        """The call as text, ``ops.add(x[0], x[1])`` (shown in the Lambda's ``repr``)."""
        names = ["x"] if self.count == 1 else [f"x[{i}]" for i in range(self.count)]
        args, kwargs = fill(self.template, names)
        parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
        return f"ops.{self.op.__lamina_op__}({', '.join(parts)})"


#: The ops that, on two tensors, are exactly a Python operator (``ops.add(x, y)`` is
#: ``x + y`` once both are tensors): a fast plan's residual ``x + y`` calls the operator.
_TENSOR_OPERATORS = {"add": operator.add, "subtract": operator.sub,
                     "multiply": operator.mul}


class OpOnTensors:
    """Calls an op's own function (``op.__wrapped__``) with the tensors of a list, or with
    one tensor (a picklable callable for a model's fast plan); two tensors of an op that is
    a Python operator go straight to the operator."""

    __slots__ = ("op", "operator")

    def __init__(self, op: Any) -> None:
        self.op = op
        self.operator = _TENSOR_OPERATORS.get(getattr(op, "__lamina_op__", None))

    def __call__(self, inputs: Any) -> Any:
        if type(inputs) is list:
            if (self.operator is not None and len(inputs) == 2
                    and type(inputs[0]) is torch.Tensor and type(inputs[1]) is torch.Tensor):
                return self.operator(inputs[0], inputs[1])
            return self.op.__wrapped__(*inputs)
        return self.op.__wrapped__(inputs)


def _show(value: Any) -> str:
    if isinstance(value, str) and (value == "x" or value.startswith("x[")):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, slice):
        parts = [("" if p is None else _show(p)) for p in (value.start, value.stop, value.step)]
        return ":".join(parts).rstrip(":") if value.step is None else ":".join(parts)
    if isinstance(value, tuple):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)


dispatch.register_symbolic_type(SymbolicTensor)

"""Symbolic tensors, graph nodes, and output-shape inference without real data.

``lamina.Input`` returns a :class:`SymbolicTensor`: a shape (``None`` for unknown axes),
a dtype and the :class:`Node` that produced it. Calling a layer on symbolic tensors adds
a node and returns new symbolic tensors; Python operators and ``lamina.ops`` functions on
them add Lambda nodes. See ``README.md`` in this folder for how the graph is executed.

Shapes are inferred by running the layer on *fake* tensors (meta storage, no data, no
arithmetic): once with every unknown axis set to one sentinel size, once with another.
An axis that comes out different in the two runs depends on an unknown axis and is
``None``. Where fake execution is unsupported (a function that calls numpy, say), small
real tensors of the sentinel sizes are used instead.
"""

from __future__ import annotations

from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from lamina.errors import InferenceError, ShapeError
from lamina.layers.layer import Layer, dtype_name, flatten_shapes, is_shape, standardize_dtype
from lamina.ops import dispatch
from lamina.utils import tree

#: Sizes given to unknown axes in the two inference runs (primes, so that no reshape or
#: broadcast can confuse one with a known size or with each other).
SENTINELS = (5, 7)


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
    by ``_Slot(i)``, the position of that tensor in ``inputs``.
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


class _Slot:
    """Marks where the i-th symbolic input of a node sits in the call's arguments."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"_Slot({self.index})"


def _template(value: Any, found: list[SymbolicTensor]) -> Any:
    """``value`` with symbolic tensors replaced by slots (collected into ``found``)."""
    if isinstance(value, SymbolicTensor):
        found.append(value)
        return _Slot(len(found) - 1)
    if isinstance(value, list):
        return [_template(v, found) for v in value]
    if isinstance(value, tuple):
        return tuple(_template(v, found) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, found) for k, v in value.items()}
    return value


def fill(template: Any, values: list[Any]) -> Any:
    """The inverse of ``_template``: put ``values`` where the slots are."""
    if type(template) is _Slot:
        return values[template.index]
    if type(template) is list:
        return [fill(v, values) for v in template]
    if type(template) is tuple:
        return tuple(fill(v, values) for v in template)
    if type(template) is dict:
        return {k: fill(v, values) for k, v in template.items()}
    return template


# ---------------------------------------------------------------------- inference
def _concrete(shape: tuple[int | None, ...], size: int) -> tuple[int, ...]:
    return tuple(size if d is None else d for d in shape)


def _run_on(layer: Layer, template: tuple, symbols: list[SymbolicTensor], size: int,
            fake: bool) -> tuple[Any, Any]:
    """Run ``layer`` on stand-ins of ``symbols``; returns (outputs, output masks)."""
    def make(symbol: SymbolicTensor) -> torch.Tensor:
        return torch.zeros(_concrete(symbol.shape, size), dtype=symbol.dtype)

    def make_mask(symbol: SymbolicTensor) -> Any:
        mask = symbol._keras_mask
        return None if mask is None else torch.ones(_concrete(mask.shape, size), dtype=torch.bool)

    was_training = layer.training
    layer.train(False)
    try:
        if fake:
            with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
                return _call_with_masks(layer, template, symbols, make, make_mask)
        with torch.no_grad():
            return _call_with_masks(layer, template, symbols, make, make_mask)
    finally:
        layer.train(was_training)


def _call_with_masks(layer: Layer, template: tuple, symbols: list[SymbolicTensor],
                     make: Any, make_mask: Any) -> tuple[Any, Any]:
    values = [make(s) for s in symbols]
    masks = [make_mask(s) for s in symbols]
    args, kwargs = fill(template, values)
    inputs = args[0]
    has_mask = any(m is not None for m in masks)
    input_mask = fill(template[0][0], masks) if has_mask else None
    if has_mask and layer._call_takes_mask and kwargs.get("mask") is None:
        kwargs = {**kwargs, "mask": input_mask}
    outputs = layer(*args, **kwargs)
    if getattr(layer, "_outputs_carry_masks", False):
        out_masks = tree.map_structure(lambda t: getattr(t, "_keras_mask", None), outputs)
    else:
        out_masks = layer.compute_mask(inputs, input_mask)
    return outputs, out_masks


def _spec_of(first: Any, second: Any) -> Any:
    """(shape, dtype) per output leaf; axes that differ between the two runs are ``None``."""
    def one(a: Any, b: Any) -> Any:
        if a is None:
            return None
        if not isinstance(a, torch.Tensor):
            raise TypeError(f"the function returned a {type(a).__name__}, not a tensor")
        shape = tuple(x if x == y else None for x, y in zip(a.shape, b.shape))
        return shape, a.dtype

    return tree.pack_as(first, [one(a, b) for a, b in zip(tree.flatten(first),
                                                           tree.flatten(second))])


def infer_spec(layer: Layer, template: tuple, symbols: list[SymbolicTensor]) -> tuple[Any, Any]:
    """Output (shape, dtype) structure and output mask shape structure of one layer call."""
    errors = []
    for fake in (True, False):
        try:
            first = _run_on(layer, template, symbols, SENTINELS[0], fake)
            second = _run_on(layer, template, symbols, SENTINELS[1], fake)
            return _spec_of(first[0], second[0]), _spec_of(first[1], second[1])
        except ShapeError:
            raise
        except Exception as error:  # noqa: BLE001 - reported below with every attempt
            errors.append(error)
    shapes = [s.shape for s in symbols]
    raise InferenceError(
        f"Could not infer the output shape of layer '{layer.name}' ({describe(layer)}) for "
        f"input shape(s) {shapes[0] if len(shapes) == 1 else shapes}: {errors[-1]}. "
        "Check that the function works on tensors of that shape, or pass output_shape=."
    ) from errors[-1]


def describe(layer: Layer) -> str:
    """What a layer is, for messages: a Lambda's source, else the class name."""
    source = getattr(layer, "source", None)
    return source if isinstance(source, str) else type(layer).__name__


def infer_output_shape(layer: Layer, input_shape: Any) -> Any:
    """Output shape(s) of ``layer`` for ``input_shape``, by inference on fake tensors."""
    symbols: list[SymbolicTensor] = []
    structure = _shape_template(input_shape, symbols)
    layer.ensure_built(input_shape)
    spec, _ = infer_spec(layer, ((structure,), {}), symbols)
    return _shapes_only(spec)


def _shape_template(shape: Any, symbols: list[SymbolicTensor]) -> Any:
    if is_shape(shape):
        symbols.append(SymbolicTensor(tuple(shape), torch.float32))
        return _Slot(len(symbols) - 1)
    if isinstance(shape, dict):
        return {k: _shape_template(v, symbols) for k, v in shape.items()}
    return type(shape)(_shape_template(s, symbols) for s in shape)


def _with_shapes(spec: Any, shapes: Any) -> Any:
    """``spec`` (shape, dtype) leaves with their shapes replaced by ``shapes``."""
    leaves = [(tuple(shape), dtype) for shape, (_, dtype) in
              zip(flatten_shapes(shapes), tree.flatten(_as_leaves(spec)))]
    return leaves[0] if is_shape(shapes) else tree.pack_as(_shape_structure(shapes), leaves)


def _shapes_only(spec: Any) -> Any:
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], torch.dtype):
        return spec[0]
    if isinstance(spec, dict):
        return {k: _shapes_only(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(_shapes_only(s) for s in spec)
    return spec


# ---------------------------------------------------------------------- calling
def _overrides(layer: Layer, method: str) -> bool:
    return getattr(type(layer), method) is not getattr(Layer, method)


def symbolic_call(layer: Layer, inputs: Any, args: tuple, kwargs: dict) -> Any:
    """Call ``layer`` on symbolic tensors: build it, infer outputs, add a node."""
    symbols: list[SymbolicTensor] = []
    template = _template(((inputs, *args), kwargs), symbols)
    kwargs = template[1]
    if kwargs.get("training") is not None and not isinstance(kwargs["training"], bool):
        raise ShapeError(f"Layer '{layer.name}': training must be a bool or None in a graph.")
    input_shapes = tree.map_structure(lambda s: s.shape, inputs)
    layer.ensure_built(input_shapes)
    reconcile = getattr(layer, "reconcile_shapes", None)
    if (reconcile is None and _overrides(layer, "compute_output_shape")
            and len(symbols) == len(tree.flatten(inputs))):
        spec = _declared_spec(layer, input_shapes, symbols)
        masks = _declared_masks(layer, template, symbols)
    else:
        spec, masks = infer_spec(layer, template, symbols)
        if reconcile is not None and getattr(layer, "_output_shape", None) is not None:
            spec = _with_shapes(spec, reconcile(input_shapes, _shapes_only(spec)))
    node = Node(layer, symbols, template[0], kwargs)
    out_specs = tree.flatten(_as_leaves(spec))
    flat_masks = tree.flatten(_as_leaves(masks)) if masks is not None else []
    outputs = []
    for index, (shape, dtype) in enumerate(out_specs):
        tensor = SymbolicTensor(shape, dtype, node, index)
        mask = flat_masks[index] if index < len(flat_masks) else None
        if mask is not None:
            tensor._keras_mask = SymbolicTensor(tuple(mask.value[0]), torch.bool)
        outputs.append(tensor)
    node.flat_outputs = outputs
    node.outputs = tree.pack_as(_as_leaves(spec), outputs)
    return node.outputs


class _Leaf:
    """Wraps a (shape, dtype) pair so tree helpers treat it as one leaf."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __iter__(self) -> Any:
        return iter(self.value)


def _as_leaves(spec: Any) -> Any:
    if spec is None:
        return None
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], torch.dtype):
        return _Leaf(spec)
    if isinstance(spec, dict):
        return {k: _as_leaves(v) for k, v in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(_as_leaves(s) for s in spec)
    return spec


def _declared_spec(layer: Layer, input_shapes: Any, symbols: list[SymbolicTensor]) -> Any:
    shapes = layer.compute_output_shape(input_shapes)
    dtype = output_dtype(layer, symbols[0].dtype)
    leaves = [(tuple(s), dtype) for s in flatten_shapes(shapes)]
    if is_shape(shapes):
        return leaves[0]
    return tree.pack_as(_shape_structure(shapes), leaves)


def _shape_structure(shapes: Any) -> Any:
    if is_shape(shapes):
        return 0
    if isinstance(shapes, dict):
        return {k: _shape_structure(v) for k, v in shapes.items()}
    return type(shapes)(_shape_structure(s) for s in shapes)


def output_dtype(layer: Layer, input_dtype: torch.dtype) -> torch.dtype:
    """A float layer computes in its own dtype; anything else passes the input dtype on."""
    if input_dtype.is_floating_point or input_dtype == torch.bool or not input_dtype.is_signed:
        return layer.dtype if layer.dtype.is_floating_point else input_dtype
    return layer.dtype if _overrides(layer, "build") else input_dtype


def _declared_masks(layer: Layer, template: tuple, symbols: list[SymbolicTensor]) -> Any:
    """Output masks of a layer with a declared output shape, without running its call."""
    input_masks = [s._keras_mask for s in symbols]
    if _overrides(layer, "compute_mask"):
        def make(symbol: SymbolicTensor) -> torch.Tensor:
            return torch.zeros(_concrete(symbol.shape, SENTINELS[0]), dtype=symbol.dtype)

        def make_mask(symbol: SymbolicTensor) -> Any:
            mask = symbol._keras_mask
            if mask is None:
                return None
            return torch.ones(_concrete(mask.shape, SENTINELS[0]), dtype=torch.bool)

        with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
            values = [make(s) for s in symbols]
            masks = [make_mask(s) for s in symbols]
            inputs = fill(template[0][0], values)
            has_mask = any(m is not None for m in masks)
            out = layer.compute_mask(inputs, fill(template[0][0], masks) if has_mask else None)
        return tree.map_structure(
            lambda m: None if m is None else (_unsentinel(tuple(m.shape), symbols), torch.bool),
            out,
        )
    if layer.supports_masking and input_masks and input_masks[0] is not None:
        return (input_masks[0].shape, torch.bool)
    return None


def _unsentinel(shape: tuple[int, ...], symbols: list[SymbolicTensor]) -> tuple[int | None, ...]:
    batch_unknown = any(s.shape and s.shape[0] is None for s in symbols)
    return tuple(None if (i == 0 and batch_unknown) or d == SENTINELS[0] else d
                 for i, d in enumerate(shape))


# ---------------------------------------------------------------------- ops on symbols
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

    @property
    def source(self) -> str:
        names = ["x"] if self.count == 1 else [f"x[{i}]" for i in range(self.count)]
        args, kwargs = fill(self.template, names)
        parts = [_show(a) for a in args] + [f"{k}={_show(v)}" for k, v in kwargs.items()]
        return f"ops.{self.op.__lamina_op__}({', '.join(parts)})"


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


def make_op_node(op: Any, args: tuple, kwargs: dict) -> Any:
    """Add a Lambda node that runs ``op(*args, **kwargs)``; returns its symbolic output."""
    from lamina.layers.lambda_layer import Lambda

    symbols: list[SymbolicTensor] = []
    template = _template((args, kwargs), symbols)
    layer = Lambda(OpCall(op, template, len(symbols)), name=_op_layer_name(op))
    return layer(symbols[0] if len(symbols) == 1 else symbols)


def _op_layer_name(op: Any) -> str:
    from lamina.layers.layer import unique_name

    return unique_name(op.__lamina_op__)


dispatch._SYMBOLIC_TYPES = (SymbolicTensor,)
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
